// zod schemas that turn the raw keys of one section into typed values.
// Each field reads its key (or supervisord's default), expands it with the names supervisord
// allows for that key, and converts it. Fields are declared in the order supervisord reads
// them, and zod reports issues in shape order, so the first issue is the error supervisord
// would have stopped at.
// zod/mini (functions, not methods): supervisord loads this at start and keeps it, and the bundle then
// carries only the few schema kinds used here, not all of zod (npm run bench:supervisor, resident memory).

import path from 'node:path';
import { custom, NEVER, object, optional, pipe, safeParse, transform, type core, type output, type ZodMiniType } from 'zod/mini';

type ParsePayload = core.ParsePayload;
import {
  parseAutorestart,
  parseBoolean,
  parseByteSize,
  parseEnvironmentValue,
  parseExistingDirectory,
  parseExistingDirpath,
  parseExitCodes,
  parseInetAddress,
  parseInteger,
  parseLogLevel,
  parseOctal,
  parseSignalName,
  parseStringList,
  expandUser,
  resolveGroup,
  resolveUser,
} from './datatypes.js';
import { DEFAULT_POOL_BYTE_BOUNDS } from '../events/index.js';
import { expand, type Expansions } from './expand.js';
import type { IniValue } from './ini.js';
import { PyValueError } from './python.js';

/** The keys of one section as read (with `[DEFAULT]` keys merged in). */
export type RawSection = Record<string, IniValue | undefined>;

// Optional: an absent key is supervisord's default, which each field supplies itself.
const rawValue = optional(custom<IniValue>((v) => typeof v === 'object' && v !== null && 'value' in v && 'line' in v));

/** `rawValue` turned into a value by `convert` (zod's `.transform`, which is this pipe). */
const fromRaw = <T>(convert: (raw: IniValue | undefined, ctx: ParsePayload) => T) =>
  pipe(rawValue, transform((raw: IniValue | undefined, ctx: ParsePayload): T => convert(raw, ctx)));

/** A custom issue on the value being read (classic zod's ctx.addIssue, which mini's payload lacks). */
function addIssue(ctx: ParsePayload, message: string): void {
  ctx.issues.push({ code: 'custom', message, input: ctx.value });
}

interface FieldOptions {
  /** Expand `%(name)s` (supervisord's do_expand); false for keys it expands later itself. */
  expand?: boolean;
  /** A second expansion under this name (supervisord expands logfile names twice). */
  expandAgainAs?: string;
  /** The names for the second expansion, when they differ from the first. */
  againWith?: (raw: IniValue | undefined) => Expansions;
}

/** The field builders for one section: `names(raw)` gives the expansions for a value. */
function fieldsFor(section: string, names: (raw: IniValue | undefined) => Expansions) {
  const read = <T>(key: string, raw: IniValue | undefined, text: string, convert: (t: string) => T, options: FieldOptions): T => {
    let value = text;
    if (options.expand !== false) value = expand(value, names(raw), `${section}.${key}`);
    if (options.expandAgainAs !== undefined) {
      value = expand(value, (options.againWith ?? names)(raw), options.expandAgainAs);
    }
    return convert(value);
  };
  const fail = (ctx: ParsePayload, error: unknown): never => {
    if (!(error instanceof PyValueError)) throw error;
    addIssue(ctx, error.message);
    return NEVER;
  };
  return {
    /** A key with supervisord's default (the default is expanded and converted like a value). */
    value<T>(key: string, fallback: string, convert: (text: string) => T, options: FieldOptions = {}) {
      return fromRaw((raw, ctx): T => {
        try {
          return read(key, raw, raw?.value ?? fallback, convert, options);
        } catch (error) {
          return fail(ctx, error);
        }
      });
    },
    /** A key without a default: null when absent. */
    optional<T>(key: string, convert: (text: string) => T, options: FieldOptions = {}) {
      return fromRaw((raw, ctx): T | null => {
        if (raw === undefined) return null;
        try {
          return read(key, raw, raw.value, convert, options);
        } catch (error) {
          return fail(ctx, error);
        }
      });
    },
  };
}

/** Run a section schema; on failure throw the first issue with the key it came from. */
export function parseSection<S extends ZodMiniType>(schema: S, raw: RawSection): output<S> {
  const result = safeParse(schema, raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const key = typeof issue?.path[0] === 'string' ? issue.path[0] : undefined;
  throw new SectionValueError(issue?.message ?? 'invalid value', key, key === undefined ? undefined : raw[key]);
}

/** A bad value in a section, before the loader adds supervisord's section suffix. */
export class SectionValueError extends Error {
  constructor(
    message: string,
    readonly key: string | undefined,
    readonly raw: IniValue | undefined,
  ) {
    super(message);
    this.name = 'SectionValueError';
  }
}

const identity = (text: string): string => text;

export interface SectionEnv {
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** `[supervisord]` (options.py read_config), in its reading order. */
export function supervisordSchema(
  names: (raw: IniValue | undefined) => Expansions,
  environmentNames: (raw: IniValue | undefined) => Expansions,
  ctx: SectionEnv,
  tempdir: string,
) {
  const f = fieldsFor('supervisord', names);
  return object({
    minfds: f.value('minfds', '1024', parseInteger),
    minprocs: f.value('minprocs', '200', parseInteger),
    directory: f.optional('directory', (t) => parseExistingDirectory(t, ctx.env)),
    user: f.optional('user', identity),
    umask: f.value('umask', '022', parseOctal),
    logfile: f.value('logfile', 'supervisord.log', (t) => mainLogfile(t, ctx)),
    logfile_maxbytes: f.value('logfile_maxbytes', '50MB', parseByteSize),
    logfile_backups: f.value('logfile_backups', '10', parseInteger),
    loglevel: f.value('loglevel', 'info', parseLogLevel),
    pidfile: f.value('pidfile', 'supervisord.pid', (t) => path.resolve(ctx.cwd, parseExistingDirpath(t, ctx.env))),
    identifier: f.value('identifier', 'supervisor', identity),
    nodaemon: f.value('nodaemon', 'false', parseBoolean),
    silent: f.value('silent', 'false', parseBoolean),
    childlogdir: f.value('childlogdir', tempdir, (t) => path.resolve(ctx.cwd, parseExistingDirectory(t, ctx.env))),
    nocleanup: f.value('nocleanup', 'false', parseBoolean),
    strip_ansi: f.value('strip_ansi', 'false', parseBoolean),
    // Expanded twice, as supervisord does: on read, then again with host_node_name too.
    environment: f.value('environment', '', parseEnvironmentValue, {
      expandAgainAs: 'environment',
      againWith: environmentNames,
    }),
  });
}

/** The main log: `syslog` and (our extension) NONE/OFF mean no file. */
function mainLogfile(text: string, ctx: SectionEnv): string | null {
  const lower = text.toLowerCase();
  if (lower === 'syslog' || lower === 'none' || lower === 'off') return null;
  return path.resolve(ctx.cwd, parseExistingDirpath(text, ctx.env));
}

/**
 * The keys of `[program:x]` that supervisord reads once per program, before it expands
 * numprocs (so `%(process_num)d` is not available in them).
 */
export function programSettingsSchema(section: string, names: (raw: IniValue | undefined) => Expansions) {
  const f = fieldsFor(section, names);
  return object({
    priority: f.value('priority', '999', parseInteger),
    autostart: f.value('autostart', 'true', parseBoolean),
    autorestart: f.value('autorestart', 'unexpected', parseAutorestart),
    startsecs: f.value('startsecs', '1', parseInteger),
    startretries: f.value('startretries', '3', parseInteger),
    stopsignal: f.value('stopsignal', 'TERM', parseSignalName),
    stopwaitsecs: f.value('stopwaitsecs', '10', parseInteger),
    stopasgroup: f.value('stopasgroup', 'false', parseBoolean),
    // Defaults to stopasgroup: resolved by the caller.
    killasgroup: f.optional('killasgroup', parseBoolean),
    exitcodes: f.value('exitcodes', '0', parseExitCodes),
    redirect_stderr: f.value('redirect_stderr', 'false', parseBoolean),
    numprocs: f.value('numprocs', '1', parseInteger),
    numprocs_start: f.value('numprocs_start', '0', parseInteger),
    environment: f.value('environment', '', identity, { expand: false }),
    stdout_capture_maxbytes: f.value('stdout_capture_maxbytes', '0', parseByteSize),
    stdout_events_enabled: f.value('stdout_events_enabled', 'false', parseBoolean),
    stderr_capture_maxbytes: f.value('stderr_capture_maxbytes', '0', parseByteSize),
    stderr_events_enabled: f.value('stderr_events_enabled', 'false', parseBoolean),
    serverurl: f.optional('serverurl', (t) => (t.trim().toUpperCase() === 'AUTO' ? null : t)),
    user: f.optional('user', (t) => resolveUser(t)),
    umask: f.optional('umask', parseOctal),
    process_name: f.value('process_name', '%(program_name)s', identity, { expand: false }),
  });
}

/** What a `*_logfile` value names, before the AUTO path is made up. */
export type LogfileName =
  | { kind: 'none' }
  | { kind: 'auto' }
  | { kind: 'syslog' }
  | { kind: 'inherit'; fd: 1 | 2 }
  | { kind: 'path'; path: string };

const INHERITED: Record<string, 1 | 2> = {
  '/dev/stdout': 1,
  '/dev/fd/1': 1,
  '/proc/self/fd/1': 1,
  '/dev/stderr': 2,
  '/dev/fd/2': 2,
  '/proc/self/fd/2': 2,
};

function logfileName(text: string, ctx: SectionEnv): LogfileName {
  const lower = text.toLowerCase();
  if (lower === 'none' || lower === 'off') return { kind: 'none' };
  if (lower === 'auto') return { kind: 'auto' };
  if (lower === 'syslog') return { kind: 'syslog' };
  const fd = INHERITED[text];
  if (fd !== undefined) return { kind: 'inherit', fd };
  return { kind: 'path', path: path.resolve(ctx.cwd, parseExistingDirpath(text, ctx.env)) };
}

/** The keys supervisord reads once per process (numprocs expanded), in its order. */
export function processSchema(section: string, names: (raw: IniValue | undefined) => Expansions, ctx: SectionEnv) {
  const f = fieldsFor(section, names);
  return object({
    directory: f.optional('directory', identity),
    stdout_logfile: f.value('stdout_logfile', 'AUTO', (t) => logfileName(t, ctx), { expandAgainAs: 'stdout_logfile' }),
    stdout_logfile_backups: f.value('stdout_logfile_backups', '10', parseInteger),
    stdout_logfile_maxbytes: f.value('stdout_logfile_maxbytes', '50MB', parseByteSize),
    stdout_syslog: f.value('stdout_syslog', 'false', parseBoolean),
    stderr_logfile: f.value('stderr_logfile', 'AUTO', (t) => logfileName(t, ctx), { expandAgainAs: 'stderr_logfile' }),
    stderr_logfile_backups: f.value('stderr_logfile_backups', '10', parseInteger),
    stderr_logfile_maxbytes: f.value('stderr_logfile_maxbytes', '50MB', parseByteSize),
    stderr_syslog: f.value('stderr_syslog', 'false', parseBoolean),
    command: f.optional('command', identity),
  });
}

/** `[program:x] environment=` alone: it is expanded per process and feeds later expansions. */
export function environmentSchema(names: (raw: IniValue | undefined) => Expansions) {
  return object({
    // supervisord names this expansion plain 'environment'.
    environment: fromRaw((raw, ctx): Record<string, string> => {
      try {
        return parseEnvironmentValue(expand(raw?.value ?? '', names(raw), 'environment'));
      } catch (error) {
        if (!(error instanceof PyValueError)) throw error;
        addIssue(ctx, error.message);
        return NEVER;
      }
    }),
  });
}

/** `[unix_http_server]`: socket file (required), chmod (0700), chown, auth. */
export function unixHttpServerSchema(section: string, names: (raw: IniValue | undefined) => Expansions, ctx: SectionEnv) {
  const f = fieldsFor(section, names);
  return object({
    file: f.optional('file', (t) => path.resolve(ctx.cwd, expandUserPath(t.trim(), ctx))),
    username: f.optional('username', identity),
    password: f.optional('password', identity),
    chown: f.optional('chown', (t) => parseChown(t)),
    chmod: f.optional('chmod', (t) => {
      try {
        return parseOctal(t);
      } catch {
        throw new PyValueError(`Invalid chmod value ${t}`);
      }
    }),
  });
}

/** `[inet_http_server]`: auth, then `port` (`host:port`). */
export function inetHttpServerSchema(section: string, names: (raw: IniValue | undefined) => Expansions) {
  const f = fieldsFor(section, names);
  return object({
    username: f.optional('username', identity),
    password: f.optional('password', identity),
    port: f.optional('port', parseInetAddress),
  });
}

/** `[group:x]`: members and priority. */
export function groupSchema(section: string, names: (raw: IniValue | undefined) => Expansions) {
  const f = fieldsFor(section, names);
  return object({
    programs: f.optional('programs', (t) => parseStringList(t)),
    priority: f.value('priority', '999', parseInteger),
  });
}

/**
 * The pool keys of `[eventlistener:x]`, in supervisord's reading order (before the program keys,
 * which it reads as for a program). `events` is upper-cased here and checked by the loader.
 */
export function eventListenerSchema(section: string, names: (raw: IniValue | undefined) => Expansions) {
  const f = fieldsFor(section, names);
  return object({
    // A "high" default priority: listeners start first and stop last.
    priority: f.value('priority', '-1', parseInteger),
    buffer_size: f.value('buffer_size', '10', parseInteger),
    result_handler: f.value('result_handler', 'supervisor.dispatchers:default_handler', identity),
    events: f.value('events', '', (t) => parseStringList(t).map((name) => name.toUpperCase())),
    redirect_stderr: f.value('redirect_stderr', 'false', parseBoolean),
    // Ours, not supervisord's (4.2.5 ignores keys it does not know, so the file stays readable by it);
    // the relations between them are checked by the loader.
    backpressure_holdbytes: f.value('backpressure_holdbytes', String(DEFAULT_POOL_BYTE_BOUNDS.holdBytes), parseByteSize),
    backpressure_releasebytes: f.value('backpressure_releasebytes', String(DEFAULT_POOL_BYTE_BOUNDS.resumeBytes), parseByteSize),
    buffer_maxbytes: f.value('buffer_maxbytes', String(DEFAULT_POOL_BYTE_BOUNDS.maxBytes), parseByteSize),
    backpressure_stallsecs: f.value('backpressure_stallsecs', String(DEFAULT_POOL_BYTE_BOUNDS.stallMs / 1000), parseInteger),
  });
}

/** `[supervisorctl]` as supervisorctl reads it (options.py ClientOptions.read_config). */
export function supervisorctlSchema(
  names: (raw: IniValue | undefined) => Expansions,
  namesWithHere: (raw: IniValue | undefined) => Expansions,
  ctx: SectionEnv,
) {
  const f = fieldsFor('supervisorctl', names);
  const h = fieldsFor('supervisorctl', namesWithHere);
  return object({
    serverurl: h.value('serverurl', 'http://localhost:9001', (t) =>
      t.startsWith('unix://') ? `unix://${path.resolve(ctx.cwd, expandUserPath(t.slice(7), ctx))}` : t,
    ),
    prompt: f.value('prompt', 'supervisor', identity),
    username: f.optional('username', identity),
    password: f.optional('password', identity),
    history_file: h.optional('history_file', (t) => (t === '' ? null : path.resolve(ctx.cwd, expandUserPath(t, ctx)))),
  });
}

function expandUserPath(text: string, ctx: SectionEnv): string {
  return expandUser(text, ctx.env);
}

/** `user[:group]` for the socket owner; both must exist: `Invalid sockchown value x`. */
function parseChown(text: string): { user: string; group: string | null } {
  try {
    const [user = '', group] = splitOnce(text, ':');
    resolveUser(user);
    if (group !== undefined) resolveGroup(group);
    return { user, group: group ?? null };
  } catch {
    throw new PyValueError(`Invalid sockchown value ${text}`);
  }
}

function splitOnce(text: string, separator: string): [string, string?] {
  const at = text.indexOf(separator);
  return at === -1 ? [text] : [text.slice(0, at), text.slice(at + separator.length)];
}
