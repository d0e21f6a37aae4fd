// supervisorctl's command line (getopt rules: options stop at the first action word) and the
// `[supervisorctl]` section of the config file. Only that section is expanded, like the real client,
// so a client works with any file supervisord accepts. The file is read by config/'s ini reader and
// `%(…)s` expansion (neither imports zod), not by config/'s loader: that one brings the zod schemas
// of the whole config into supervisorctl's bundle, and its start-up time is what bench:ctl measures.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { _default, object, optional, parse, string } from 'zod/mini';
import { environmentExpansions, expand, withExpansions } from '../config/expand.js';
import { IniDocument } from '../config/ini.js';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface CtlOptions {
  configFile: string | null;
  serverurl: string;
  username: string | null;
  password: string | null;
  prompt: string;
  historyFile: string | null;
  interactive: boolean;
  help: boolean;
  /** The action and its arguments. */
  args: string[];
}

interface CliValues {
  configFile?: string;
  serverurl?: string;
  username?: string;
  password?: string;
  historyFile?: string;
  interactive?: boolean;
  help?: boolean;
}

type ValueKey = 'configFile' | 'serverurl' | 'username' | 'password' | 'historyFile';

const SHORT_WITH_VALUE: Record<string, ValueKey> = { c: 'configFile', s: 'serverurl', u: 'username', p: 'password', r: 'historyFile' };
const LONG_OPTIONS: Array<{ name: string; key: ValueKey | 'interactive' | 'help' }> = [
  { name: 'configuration', key: 'configFile' },
  { name: 'serverurl', key: 'serverurl' },
  { name: 'username', key: 'username' },
  { name: 'password', key: 'password' },
  { name: 'history_file', key: 'historyFile' },
  { name: 'interactive', key: 'interactive' },
  { name: 'help', key: 'help' },
];

function setValue(values: CliValues, key: ValueKey, value: string, option: string): void {
  if (values[key] !== undefined) throw new UsageError(`conflicting command line option '${option}'`);
  if (key === 'serverurl') checkUrl(value, option);
  values[key] = value;
}

/** datatypes.url: a scheme and a host or path. */
function checkUrl(value: string, option: string): void {
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):(.*)$/.exec(value);
  const rest = match?.[2] ?? '';
  if (!match || rest.replace(/^\/\//, '') === '') {
    throw new UsageError(`invalid value for ${option} '${value}': value '${value}' is not a URL`);
  }
}

/** Python getopt semantics, including unique prefixes of long options. */
export function parseCommandLine(argv: readonly string[]): { values: CliValues; args: string[] } {
  const values: CliValues = {};
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      i += 1;
      break;
    }
    if (arg.startsWith('--')) {
      const [rawName = '', inline] = arg.slice(2).split(/=(.*)/s, 2);
      const exact = LONG_OPTIONS.find((o) => o.name === rawName);
      const candidates = exact ? [exact] : LONG_OPTIONS.filter((o) => o.name.startsWith(rawName));
      const option = candidates[0];
      if (option === undefined) throw new UsageError(`option --${rawName} not recognized`);
      if (candidates.length > 1) throw new UsageError(`option --${rawName} not a unique prefix`);
      if (option.key === 'interactive' || option.key === 'help') {
        if (inline !== undefined) throw new UsageError(`option --${option.name} must not have an argument`);
        values[option.key] = true;
      } else {
        let value = inline;
        if (value === undefined) {
          i += 1;
          value = argv[i];
          if (value === undefined) throw new UsageError(`option --${option.name} requires argument`);
        }
        setValue(values, option.key, value, `--${option.name}`);
      }
      i += 1;
      continue;
    }
    if (arg.startsWith('-') && arg !== '-') {
      let j = 1;
      while (j < arg.length) {
        const letter = arg[j] ?? '';
        const key = SHORT_WITH_VALUE[letter];
        if (key !== undefined) {
          let value = arg.slice(j + 1);
          if (value === '') {
            i += 1;
            const next = argv[i];
            if (next === undefined) throw new UsageError(`option -${letter} requires argument`);
            value = next;
          }
          setValue(values, key, value, `-${letter}`);
          break;
        }
        if (letter === 'h' || letter === '?') values.help = true;
        else if (letter === 'i') values.interactive = true;
        else throw new UsageError(`option -${letter} not recognized`);
        j += 1;
      }
      i += 1;
      continue;
    }
    break;
  }
  return { values, args: argv.slice(i) };
}

// ---- [supervisorctl] from an ini file ----

const ctlSection = object({
  serverurl: _default(string(), 'http://localhost:9001'),
  username: optional(string()),
  password: optional(string()),
  prompt: _default(string(), 'supervisor'),
  history_file: optional(string()),
});

function normalizePath(p: string): string {
  const home = p === '~' || p.startsWith('~/') ? homedir() + p.slice(1) : p;
  return path.resolve(home);
}

interface CtlFileSettings {
  serverurl: string;
  username: string | null;
  password: string | null;
  prompt: string;
  historyFile: string | null;
}

export function readCtlConfig(file: string): CtlFileSettings {
  if (!existsSync(file)) throw new UsageError(`could not find config file ${file}`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new UsageError(`could not read config file ${file}`);
  }
  const absolute = normalizePath(file);
  const names = withExpansions(environmentExpansions(process.env), { here: path.dirname(absolute) });
  const raw: Record<string, string> = {};
  try {
    const doc = new IniDocument();
    doc.read(text, absolute, file);
    if (!doc.has('supervisorctl')) throw new UsageError('.ini file does not include supervisorctl section');
    for (const key of doc.keys('supervisorctl')) {
      const entry = doc.get('supervisorctl', key);
      if (entry !== undefined) raw[key] = expand(entry.value, names, `supervisorctl.${key}`);
    }
  } catch (error) {
    // IniSyntaxError and the expansion errors carry configparser's/supervisorctl's own wording.
    if (error instanceof UsageError) throw error;
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const parsed = parse(ctlSection, raw);
  let serverurl = parsed.serverurl;
  if (serverurl.startsWith('unix://')) serverurl = `unix://${normalizePath(serverurl.slice(7))}`;
  return {
    serverurl,
    username: parsed.username ?? null,
    password: parsed.password ?? null,
    prompt: parsed.prompt,
    historyFile: parsed.history_file ? normalizePath(parsed.history_file) : null,
  };
}

/** supervisord's search order when no -c is given. */
export function defaultConfigSearchPaths(argv0: string): string[] {
  const here = path.dirname(path.dirname(argv0));
  return [
    path.join(here, 'etc', 'supervisord.conf'),
    path.join(here, 'supervisord.conf'),
    'supervisord.conf',
    'etc/supervisord.conf',
    '/etc/supervisord.conf',
    '/etc/supervisor/supervisord.conf',
  ];
}

export function resolveOptions(argv: readonly string[], argv0: string): CtlOptions {
  const { values, args } = parseCommandLine(argv);
  if (values.help) {
    return {
      configFile: null,
      serverurl: values.serverurl ?? 'http://localhost:9001',
      username: null,
      password: null,
      prompt: 'supervisor',
      historyFile: null,
      interactive: false,
      help: true,
      args,
    };
  }
  const configFile = values.configFile ?? defaultConfigSearchPaths(argv0).find((p) => existsSync(p)) ?? null;
  const fromFile = configFile !== null ? readCtlConfig(configFile) : null;
  return {
    configFile,
    serverurl: values.serverurl ?? fromFile?.serverurl ?? 'http://localhost:9001',
    username: values.username ?? fromFile?.username ?? null,
    password: values.password ?? fromFile?.password ?? null,
    prompt: fromFile?.prompt ?? 'supervisor',
    historyFile: values.historyFile ?? fromFile?.historyFile ?? null,
    interactive: values.interactive === true || args.length === 0,
    help: false,
    args,
  };
}
