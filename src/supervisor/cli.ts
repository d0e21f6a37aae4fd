// supervisord's command line (supervisor/options.py ServerOptions): every option supervisord 4.2.5
// takes, parsed by the getopt both programs share, with supervisord's own wording for mistakes.
import { parseByteSize, parseExistingDirectory, parseExistingDirpath, parseInteger, parseLogLevel, parseOctal } from './config/datatypes.js';
import { parseOptions, pyListRepr, realizeValue, UsageError, type OptionDefinition } from './getopt.js';
import { SUPERVISOR_VERSION, type SupervisordSection } from './types.js';

export { UsageError } from './getopt.js';

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
-u/--user USER -- run supervisord as this user (or numeric uid)
-m/--umask UMASK -- use this umask for daemon subprocess (default is 022)
-d/--directory DIRECTORY -- directory to chdir to when daemonized
-l/--logfile FILENAME -- use FILENAME as logfile path
-y/--logfile_maxbytes BYTES -- use BYTES to limit the max size of logfile
-z/--logfile_backups NUM -- number of backups to keep when max bytes reached
-e/--loglevel LEVEL -- use LEVEL as log level (debug,info,warn,error,critical)
-j/--pidfile FILENAME -- write a pid file for the daemon process to FILENAME
-i/--identifier STR -- identifier used for this instance of supervisord
-q/--childlogdir DIRECTORY -- the log directory for child process logs
-k/--nocleanup --  prevent the process from performing cleanup (removal of
                   old automatic child log files) at startup.
-a/--minfds NUM -- the minimum number of file descriptors for start success
-t/--strip_ansi -- strip ansi escape codes from process output
--minprocs NUM  -- the minimum number of processes available for start success
(--profile_options is recognized but not supported: this supervisord has no profiler)
`;

/** Command-line values that take precedence over `[supervisord]` (Options._set priority 2 over 0). */
export type SupervisordOverrides = Partial<
  Pick<
    SupervisordSection,
    | 'loglevel'
    | 'pidfile'
    | 'logfile'
    | 'identifier'
    | 'user'
    | 'umask'
    | 'directory'
    | 'logfileMaxBytes'
    | 'logfileBackups'
    | 'childlogdir'
    | 'minfds'
    | 'minprocs'
    | 'nocleanup'
    | 'stripAnsi'
  >
>;

export type CliCommand =
  | { kind: 'help' }
  | { kind: 'version' }
  | {
      kind: 'run';
      configFile: string | null;
      nodaemon: boolean;
      silent: boolean;
      overrides: SupervisordOverrides;
    };

type OptionName = 'help' | 'version' | 'configFile' | 'nodaemon' | 'silent' | 'profileOptions' | keyof SupervisordOverrides;

/** supervisord 4.2.5's options (ServerOptions.__init__), all of them: a prefix is unique only against the full list. */
const OPTIONS: readonly OptionDefinition<OptionName>[] = [
  { name: 'help', short: 'h', long: 'help', takesValue: false, action: true },
  { name: 'help', short: '?', takesValue: false, action: true },
  { name: 'configFile', short: 'c', long: 'configuration', takesValue: true },
  { name: 'version', short: 'v', long: 'version', takesValue: false, action: true },
  { name: 'nodaemon', short: 'n', long: 'nodaemon', takesValue: false },
  { name: 'user', short: 'u', long: 'user', takesValue: true },
  { name: 'umask', short: 'm', long: 'umask', takesValue: true },
  { name: 'directory', short: 'd', long: 'directory', takesValue: true },
  { name: 'logfile', short: 'l', long: 'logfile', takesValue: true },
  { name: 'logfileMaxBytes', short: 'y', long: 'logfile_maxbytes', takesValue: true },
  { name: 'logfileBackups', short: 'z', long: 'logfile_backups', takesValue: true },
  { name: 'loglevel', short: 'e', long: 'loglevel', takesValue: true },
  { name: 'pidfile', short: 'j', long: 'pidfile', takesValue: true },
  { name: 'identifier', short: 'i', long: 'identifier', takesValue: true },
  { name: 'childlogdir', short: 'q', long: 'childlogdir', takesValue: true },
  { name: 'minfds', short: 'a', long: 'minfds', takesValue: true },
  { name: 'minprocs', long: 'minprocs', takesValue: true },
  { name: 'nocleanup', short: 'k', long: 'nocleanup', takesValue: false },
  { name: 'stripAnsi', short: 't', long: 'strip_ansi', takesValue: false },
  { name: 'profileOptions', long: 'profile_options', takesValue: true },
  { name: 'silent', short: 's', long: 'silent', takesValue: false },
];

/**
 * Parse `supervisord` arguments as supervisord 4.2.5 does (getopt, then each option's converter in
 * command-line order; see getopt.ts). Throws UsageError with supervisord's message.
 */
export function parseCommandLine(args: readonly string[], env: NodeJS.ProcessEnv = process.env): CliCommand {
  const parsed = parseOptions(args, OPTIONS);
  // Options.realize checks this before it looks at any option.
  if (parsed.args.length > 0) throw new UsageError(`positional arguments are not supported: ${pyListRepr(parsed.args)}`);
  const seen = new Set<string>();
  let configFile: string | null = null;
  let nodaemon = false;
  let silent = false;
  let profileOptions = false;
  const overrides: SupervisordOverrides = {};
  const flag = (): true => true;
  for (const option of parsed.options) {
    switch (option.name) {
      case 'help':
        return { kind: 'help' };
      case 'version':
        return { kind: 'version' };
      case 'configFile':
        configFile = realizeValue(seen, option, (value) => value);
        break;
      case 'nodaemon':
        nodaemon = realizeValue(seen, option, flag);
        break;
      case 'silent':
        silent = realizeValue(seen, option, flag);
        break;
      case 'profileOptions':
        profileOptions = realizeValue(seen, option, flag);
        break;
      case 'user':
        // Resolved after the config file is read, as ServerOptions.realize does.
        overrides.user = realizeValue(seen, option, (value) => value);
        break;
      case 'umask':
        overrides.umask = realizeValue(seen, option, parseOctal);
        break;
      case 'directory':
        overrides.directory = realizeValue(seen, option, (value) => parseExistingDirectory(value, env));
        break;
      case 'childlogdir':
        overrides.childlogdir = realizeValue(seen, option, (value) => parseExistingDirectory(value, env));
        break;
      case 'logfile':
        overrides.logfile = realizeValue(seen, option, (value) => parseExistingDirpath(value, env));
        break;
      case 'pidfile':
        overrides.pidfile = realizeValue(seen, option, (value) => parseExistingDirpath(value, env));
        break;
      case 'logfileMaxBytes':
        overrides.logfileMaxBytes = realizeValue(seen, option, parseByteSize);
        break;
      case 'logfileBackups':
      case 'minfds':
      case 'minprocs':
        overrides[option.name] = realizeValue(seen, option, parseInteger);
        break;
      case 'loglevel':
        overrides.loglevel = realizeValue(seen, option, parseLogLevel);
        break;
      case 'identifier':
        overrides.identifier = realizeValue(seen, option, (value) => value);
        break;
      case 'nocleanup':
        overrides.nocleanup = realizeValue(seen, option, flag);
        break;
      case 'stripAnsi':
        overrides.stripAnsi = realizeValue(seen, option, flag);
        break;
    }
  }
  // supervisord runs itself under cProfile with it; there is no profiler to run this one under.
  if (profileOptions) throw new UsageError('option --profile_options is not supported by this supervisord');
  return { kind: 'run', configFile, nodaemon, silent, overrides };
}
