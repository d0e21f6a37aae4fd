// Reading the deployment files the way their consumers do, for the offline validation tests.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { ROOT } from '../../support/programs.js';

export const repoFile = (relative: string): string => `${ROOT}${relative}`;
export const readRepoFile = (relative: string): string => readFileSync(repoFile(relative), 'utf8');

/** Every YAML document of a file as plain objects (empty documents dropped). */
export function yamlDocuments(relative: string): unknown[] {
  return parseAllDocuments(readRepoFile(relative))
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${relative}: ${doc.errors.map((e) => e.message).join('; ')}`);
      return doc.toJS() as unknown;
    })
    .filter((value) => value !== null && value !== undefined);
}

/**
 * supervisord's INI dialect, enough to read our own files: `;`/`#` comments (inline only after
 * whitespace), `key=value`, sections merged, keys lower-cased. Expansions are left as written.
 */
export function readIni(text: string): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\s[;#].*$/, '').trimEnd();
    if (/^\s*([;#].*)?$/.test(line)) continue;
    const header = /^\[([^\]]+)\]$/.exec(line.trim());
    if (header) {
      const name = header[1]!;
      current = sections.get(name) ?? new Map<string, string>();
      sections.set(name, current);
      continue;
    }
    const pair = /^([^=:\s][^=:]*?)\s*[=:]\s*(.*)$/.exec(line);
    if (!pair || !current) throw new Error(`not an INI line: ${JSON.stringify(raw)}`);
    current.set(pair[1]!.toLowerCase(), pair[2]!);
  }
  return sections;
}

export function section(ini: Map<string, Map<string, string>>, name: string): Map<string, string> {
  const found = ini.get(name);
  if (!found) throw new Error(`no [${name}] section`);
  return found;
}

/** Absolute path of a command on PATH, or undefined. */
export function which(command: string): string | undefined {
  const result = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  const found = result.stdout.trim();
  return result.status === 0 && found ? found : undefined;
}

/** A command the tests need: its path, or an error saying how CI gets it. */
export function requireCommand(command: string, aptPackage: string): string {
  const found = which(command);
  if (!found) throw new Error(`${command} is not installed: apt-get install ${aptPackage} (npm test does, as root: scripts/test-machine.mjs)`);
  return found;
}

export function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', cwd: options.cwd ?? ROOT, env: options.env ?? process.env });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, output: `${result.stdout}${result.stderr}` };
}

