// Everything between a ProcessConfig and `child_process.spawn`: command lookup with supervisord's
// spawn-error texts, the child's environment, user, directory and umask.
import { accessSync, constants as fsConstants, readFileSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import type { ProcessConfig } from './types.js';

/** Python's repr() of a str, which supervisord uses in its messages: 'x', or "it's". */
export function pyRepr(text: string): string {
  if (text.includes("'") && !text.includes('"')) return `"${text}"`;
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** Why a command cannot be run; `kind` picks the RPC fault (NO_FILE or NOT_EXECUTABLE). */
export class SpawnProblem extends Error {
  constructor(
    readonly kind: 'not-found' | 'not-executable',
    message: string,
  ) {
    super(message);
    this.name = 'SpawnProblem';
  }
}

const DEFAULT_PATH = ['/bin', '/usr/bin', '/usr/local/bin'];

function statOrNull(file: string): Stats | null {
  try {
    return statSync(file);
  } catch {
    return null;
  }
}

/** The PATH a program is looked up in: its `environment=` PATH, else ours, else supervisord's default. */
function searchPath(environment: Record<string, string>, ownEnv: NodeJS.ProcessEnv = process.env): string[] {
  const fromProgram = environment.PATH;
  if (fromProgram !== undefined) return fromProgram.split(path.delimiter);
  const own = ownEnv.PATH;
  if (own) return own.split(path.delimiter);
  return DEFAULT_PATH;
}

/** supervisord's get_execv_args + check_execv_args: the file to execute, or a SpawnProblem. */
export function resolveCommand(argv: readonly string[], environment: Record<string, string>): string {
  const program = argv[0];
  if (program === undefined || program === '') throw new SpawnProblem('not-executable', 'command is empty');
  let filename = program;
  let found: Stats | null = null;
  if (program.includes('/')) {
    found = statOrNull(program);
  } else {
    for (const dir of searchPath(environment)) {
      const candidate = path.join(dir, program);
      found = statOrNull(candidate);
      if (found) {
        filename = candidate;
        break;
      }
    }
  }
  if (!found) throw new SpawnProblem('not-found', `can't find command ${pyRepr(filename)}`);
  if (found.isDirectory()) throw new SpawnProblem('not-executable', `command at ${pyRepr(filename)} is a directory`);
  if ((found.mode & 0o111) === 0) throw new SpawnProblem('not-executable', `command at ${pyRepr(filename)} is not executable`);
  try {
    accessSync(filename, fsConstants.X_OK);
  } catch {
    throw new SpawnProblem('not-executable', `no permission to run command ${pyRepr(filename)}`);
  }
  return filename;
}

/** uid/gid of `user=` (a name or a number) from /etc/passwd; Node has no getpwnam. */
function lookupUser(user: string): { uid: number; gid: number } | null {
  let passwd: string;
  try {
    passwd = readFileSync('/etc/passwd', 'utf8');
  } catch {
    passwd = '';
  }
  const numeric = /^\d+$/.test(user) ? Number(user) : null;
  for (const line of passwd.split('\n')) {
    const fields = line.split(':');
    if (fields.length < 4) continue;
    const uid = Number(fields[2]);
    const gid = Number(fields[3]);
    if (fields[0] === user || (numeric !== null && uid === numeric)) return { uid, gid };
  }
  return numeric === null ? null : { uid: numeric, gid: numeric };
}

/** supervisord's child environment: its own + SUPERVISOR_* + the program's `environment=`. */
export function childEnvironment(config: ProcessConfig, ownEnv: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(ownEnv)) if (value !== undefined) env[key] = value;
  env.SUPERVISOR_ENABLED = '1';
  if (config.serverurl) env.SUPERVISOR_SERVER_URL = config.serverurl;
  env.SUPERVISOR_PROCESS_NAME = config.name;
  env.SUPERVISOR_GROUP_NAME = config.group;
  Object.assign(env, config.environment);
  return env;
}

/** The exact spawn call for one start. */
export interface SpawnPlan {
  file: string;
  args: string[];
  argv0: string;
  cwd: string | undefined;
  uid: number | undefined;
  gid: number | undefined;
  /** stderr goes into the stdout pipe (done by the shell wrapper's `exec 2>&1`). */
  mergeStderr: boolean;
}

const shellQuote = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;

/**
 * Node cannot set a child's umask or dup stderr onto its stdout pipe, so for `umask=` and
 * `redirect_stderr` into a log file (`mergeStderr`), and for a missing `directory` (to reproduce
 * supervisord's message and exit 127)
 * the child starts as `/bin/sh -c '…; exec "$0" "$@"'`: the same pid (exec), one extra exec.
 * Without those settings the program is spawned directly.
 */
export function planSpawn(config: ProcessConfig, filename: string, mergeStderr: boolean): SpawnPlan {
  const args = config.argv.slice(1);
  let uid: number | undefined;
  let gid: number | undefined;
  if (config.user !== null) {
    const found = config.uid !== undefined ? { uid: config.uid, gid: config.gid ?? config.uid } : lookupUser(config.user);
    if (!found) throw new SpawnProblem('not-executable', `Invalid user name ${config.user}`);
    if (found.uid !== process.getuid?.()) {
      uid = found.uid;
      gid = found.gid;
    }
  }
  const prelude: string[] = [];
  let cwd: string | undefined;
  if (config.directory !== null) {
    const dir = statOrNull(config.directory);
    if (dir?.isDirectory()) {
      cwd = config.directory;
    } else {
      const reason = dir ? 'ENOTDIR' : 'ENOENT';
      const message = `supervisor: couldn't chdir to ${config.directory}: ${reason}\nsupervisor: child process was not spawned\n`;
      return {
        file: '/bin/sh',
        args: ['-c', `${mergeStderr ? 'exec 2>&1; ' : ''}printf '%s' ${shellQuote(message)} >&2; exit 127`],
        argv0: '/bin/sh',
        cwd: undefined,
        uid,
        gid,
        mergeStderr,
      };
    }
  }
  if (config.umask !== null) prelude.push(`umask ${config.umask.toString(8).padStart(3, '0')}`);
  if (mergeStderr) prelude.push('exec 2>&1');
  if (prelude.length === 0) {
    return { file: filename, args, argv0: config.argv[0] ?? filename, cwd, uid, gid, mergeStderr: false };
  }
  return {
    file: '/bin/sh',
    args: ['-c', `${prelude.join('; ')}; exec "$0" "$@"`, filename, ...args],
    argv0: '/bin/sh',
    cwd,
    uid,
    gid,
    mergeStderr,
  };
}
