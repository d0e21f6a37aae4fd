// supervisord's command line (supervisor/options.py ServerOptions): the options this
// implementation acts on, and supervisord's own wording for mistakes.
import { SUPERVISOR_VERSION } from './types.js';
/** `supervisord -v`: the supervisord release we reproduce, then who we are. */
export const VERSION_TEXT = `${SUPERVISOR_VERSION}-compatible (storyboard-api supervisord, TypeScript)`;

export const USAGE = `supervisord -- run a set of applications as daemons.

Usage: supervisord [options]

Options:
-c/--configuration FILENAME -- configuration file path (searches if not given)
-n/--nodaemon -- run in the foreground (same as 'nodaemon=true' in config file)
-s/--silent -- no logs to stdout (maps to 'silent=true' in config file)
-h/--help -- print this usage message and exit
-v/--version -- print supervisord version number and exit
-e/--loglevel=LEVEL -- use LEVEL as log level (debug,info,warn,error,critical)
-j/--pidfile=FILENAME -- write a pid file for the daemon process to FILENAME
-l/--logfile=FILENAME -- use FILENAME as logfile path
-i/--identifier=STR -- identifier used for this instance of supervisord
`;

export type CliCommand =
  | { kind: 'help' }
  | { kind: 'version' }
  | {
      kind: 'run';
      configFile: string | null;
      nodaemon: boolean;
      silent: boolean;
      overrides: { loglevel?: string; pidfile?: string; logfile?: string; identifier?: string };
    };

export class UsageError extends Error {
  override name = 'UsageError';
}

const optionsWithValue: Record<string, 'c' | 'e' | 'j' | 'l' | 'i'> = {
  '-c': 'c',
  '--configuration': 'c',
  '-e': 'e',
  '--loglevel': 'e',
  '-j': 'j',
  '--pidfile': 'j',
  '-l': 'l',
  '--logfile': 'l',
  '-i': 'i',
  '--identifier': 'i',
};

/** Parse `supervisord` arguments (getopt style: `-cFILE`, `-c FILE`, `--configuration=FILE`). */
export function parseCommandLine(args: readonly string[]): CliCommand {
  let configFile: string | null = null;
  let nodaemon = false;
  let silent = false;
  const overrides: { loglevel?: string; pidfile?: string; logfile?: string; identifier?: string } = {};
  const positional: string[] = [];
  for (let index = 0; index < args.length; index++) {
    const arg = args[index] ?? '';
    if (!arg.startsWith('-') || arg === '-') {
      positional.push(arg);
      continue;
    }
    let option = arg;
    let inlineValue: string | undefined;
    if (arg.startsWith('--')) {
      const equals = arg.indexOf('=');
      if (equals !== -1) {
        option = arg.slice(0, equals);
        inlineValue = arg.slice(equals + 1);
      }
    } else if (arg.length > 2 && optionsWithValue[arg.slice(0, 2)] !== undefined) {
      option = arg.slice(0, 2);
      inlineValue = arg.slice(2);
    }
    if (option === '-h' || option === '--help' || option === '-?') return { kind: 'help' };
    if (option === '-v' || option === '--version') return { kind: 'version' };
    if (option === '-n' || option === '--nodaemon') {
      nodaemon = true;
      continue;
    }
    if (option === '-s' || option === '--silent') {
      silent = true;
      continue;
    }
    const target = optionsWithValue[option];
    if (target === undefined) throw new UsageError(`option ${option} not recognized`);
    const value = inlineValue ?? args[++index];
    if (value === undefined) throw new UsageError(`option ${option} requires argument`);
    if (target === 'c') configFile = value;
    else if (target === 'e') overrides.loglevel = value;
    else if (target === 'j') overrides.pidfile = value;
    else if (target === 'l') overrides.logfile = value;
    else overrides.identifier = value;
  }
  if (positional.length > 0) {
    throw new UsageError(`positional arguments are not supported: [${positional.map((p) => `'${p}'`).join(', ')}]`);
  }
  return { kind: 'run', configFile, nodaemon, silent, overrides };
}
