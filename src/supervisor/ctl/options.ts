// supervisorctl's command line (the getopt shared with supervisord: options stop at the first action word) and the
// `[supervisorctl]` section of the config file. Only that section is expanded, like the real client,
// so a client works with any file supervisord accepts. The file is read by config/'s ini reader and
// `%(…)s` expansion (neither imports zod), not by config/'s loader: that one brings the zod schemas
// of the whole config into supervisorctl's bundle, and its start-up time is what bench:ctl measures.
// Without -c, the file is found by config/search.ts, supervisord's own search list.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { environmentExpansions, expand, withExpansions } from '../config/expand.js';
import { IniDocument } from '../config/ini.js';
import { pyRepr } from '../config/python.js';
import { defaultConfigSearchPaths } from '../config/search.js';
import { parseOptions, realizeValue, UsageError, type OptionDefinition } from '../getopt.js';

export { UsageError } from '../getopt.js';

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

type OptionName = keyof CliValues;

/** supervisorctl 4.2.5's options (ClientOptions.__init__). */
const OPTIONS: readonly OptionDefinition<OptionName>[] = [
  { name: 'help', short: 'h', long: 'help', takesValue: false, action: true },
  { name: 'help', short: '?', takesValue: false, action: true },
  { name: 'configFile', short: 'c', long: 'configuration', takesValue: true },
  { name: 'interactive', short: 'i', long: 'interactive', takesValue: false },
  { name: 'serverurl', short: 's', long: 'serverurl', takesValue: true },
  { name: 'username', short: 'u', long: 'username', takesValue: true },
  { name: 'password', short: 'p', long: 'password', takesValue: true },
  { name: 'historyFile', short: 'r', long: 'history_file', takesValue: true },
];

/** datatypes.url: a scheme and a host or path. */
function checkUrl(value: string): string {
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):(.*)$/.exec(value);
  const rest = match?.[2] ?? '';
  if (!match || rest.replace(/^\/\//, '') === '') throw new Error(`value ${pyRepr(value)} is not a URL`);
  return value;
}

/**
 * supervisorctl's getopt (getopt.ts: clusters, `-cFILE`, unique long prefixes, options end at the
 * first action word), then each option in command-line order: `-h` ends the reading there.
 */
export function parseCommandLine(argv: readonly string[]): { values: CliValues; args: string[] } {
  const parsed = parseOptions(argv, OPTIONS);
  const values: CliValues = {};
  const seen = new Set<string>();
  for (const option of parsed.options) {
    if (option.name === 'help') {
      values.help = true;
      break;
    }
    if (option.name === 'interactive') values.interactive = realizeValue(seen, option, (): true => true);
    else if (option.name === 'serverurl') values.serverurl = realizeValue(seen, option, checkUrl);
    else values[option.name] = realizeValue(seen, option, (value) => value);
  }
  return { values, args: parsed.args };
}

// ---- [supervisorctl] from an ini file ----

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

/**
 * `%(…)s`-expands a [supervisorctl] value with `here` and the ENV_ names. Only the ENV_ names the value refers to
 * are looked up: making every name of the environment costs ~0.2 ms of a `status` run (npm run bench:ctl). A
 * value that does not expand with those is expanded again with every name, for the real client's own result or
 * message (which lists them all).
 */
function expandCtlValue(value: string, here: { here: string }, name: string): string {
  if (!value.includes('%')) return value;
  const referenced = new Map<string, string>();
  for (const [, variable] of value.matchAll(/%\(ENV_([^()]*)\)/g)) {
    const found = variable === undefined ? undefined : process.env[variable];
    if (found !== undefined) referenced.set(`ENV_${variable}`, found);
  }
  try {
    return expand(value, withExpansions(referenced, here), name);
  } catch {
    return expand(value, withExpansions(environmentExpansions(process.env), here), name);
  }
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
  const here = { here: path.dirname(absolute) };
  const raw = new Map<string, string>();
  try {
    const doc = new IniDocument();
    doc.read(text, absolute, file);
    if (!doc.has('supervisorctl')) throw new UsageError('.ini file does not include supervisorctl section');
    for (const key of doc.keys('supervisorctl')) {
      const entry = doc.get('supervisorctl', key);
      if (entry !== undefined) raw.set(key, expandCtlValue(entry.value, here, `supervisorctl.${key}`));
    }
  } catch (error) {
    // IniSyntaxError and the expansion errors carry configparser's/supervisorctl's own wording.
    if (error instanceof UsageError) throw error;
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  // The ini reader gives strings only: supervisorctl's defaults fill what the section leaves out.
  let serverurl = raw.get('serverurl') ?? 'http://localhost:9001';
  const historyFile = raw.get('history_file');
  if (serverurl.startsWith('unix://')) serverurl = `unix://${normalizePath(serverurl.slice(7))}`;
  return {
    serverurl,
    username: raw.get('username') ?? null,
    password: raw.get('password') ?? null,
    prompt: raw.get('prompt') ?? 'supervisor',
    historyFile: historyFile ? normalizePath(historyFile) : null,
  };
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
  // supervisorctl keeps the candidate as found (relative to the working directory), as Python does.
  const configFile = values.configFile ?? defaultConfigSearchPaths({ argv0 }).find((p) => existsSync(p)) ?? null;
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
