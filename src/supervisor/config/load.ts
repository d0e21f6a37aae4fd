// supervisord.conf → SupervisordConfig, following supervisor/options.py
// (ServerOptions.read_config, process_groups_from_parser, _processes_from_section,
// server_configs_from_parser) step by step, so that the first error is the one supervisord reports.

import { randomInt } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type {
  EventListenerPoolConfig,
  GroupConfig,
  HttpAuth,
  InetHttpServerSection,
  LogTarget,
  ProcessConfig,
  SupervisorctlSection,
  SupervisordConfig,
  SupervisordSection,
  UnixHttpServerSection,
} from '../types.js';
import { parseProcessOrGroupName, resolveUser } from './datatypes.js';
import { decodeUtf8Strict, describeInvalidUtf8, findInvalidUtf8, findUnsafeText } from '../../shared/text.js';
import { ConfigError } from './errors.js';
import { environmentExpansions, expand, withExpansions, type Expansions } from './expand.js';
import { globSync } from './glob.js';
import { IniDocument, IniSyntaxError, type IniValue } from './ini.js';
import { PyValueError, pyRepr, type FormatValue } from './python.js';
import { isEventTypeName } from '../events/index.js';
import {
  environmentSchema,
  eventListenerSchema,
  groupSchema,
  inetHttpServerSchema,
  parseSection,
  processSchema,
  programSettingsSchema,
  SectionValueError,
  supervisordSchema,
  supervisorctlSchema,
  unixHttpServerSchema,
  type LogfileName,
  type RawSection,
  type SectionEnv,
} from './sections.js';
import { splitCommand } from './shlex.js';

export interface LoadOptions {
  /** The environment `%(ENV_X)s` expands from (supervisord's own environment). Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** `%(host_node_name)s`. Default os.hostname(). */
  hostname?: string;
  /** Relative paths in the file (and `file` itself) resolve against this. Default process.cwd(). */
  cwd?: string;
  /**
   * `[supervisord]` values given on supervisord's command line: they win over the file's, and the
   * AUTO child log names are made from them (`-q`, `-i`), as in supervisord's Options._set priorities.
   */
  overrides?: Partial<SupervisordSection>;
}

const RPC_FACTORY_KEY = 'supervisor.rpcinterface_factory';
const MAIN_RPC_FACTORY = 'supervisor.rpcinterface:make_main_rpcinterface';

/** Everything the steps below share while reading one config. */
interface LoadState {
  doc: IniDocument;
  /** The main file as given (supervisord names it so in its messages). */
  givenFile: string;
  mainFile: string;
  here: string;
  hostname: string;
  ctx: SectionEnv;
  /** supervisord's environ_expansions: ENV_ of its environment, then of `[supervisord] environment`. */
  environ: Map<string, FormatValue>;
  /** The file a section first appeared in, for sections that came from `[include]`. */
  sectionFile: Map<string, string>;
  warnings: string[];
  infos: string[];
  /** From `[supervisord]`, once read: what program sections build on. */
  childlogdir: string;
  identifier: string;
  supervisordEnvironment: Record<string, string>;
}

/**
 * An expansions function that builds its map once per file (the only thing that varies
 * between the values of one section is `here`): environments have dozens of ENV_ names.
 */
function perFile(build: (here: string) => Expansions, state: LoadState): (raw: IniValue | undefined) => Expansions {
  const cache = new Map<string, Expansions>();
  return (raw) => {
    const here = hereOf(state, raw);
    let names = cache.get(here);
    if (names === undefined) {
      names = build(here);
      cache.set(here, names);
    }
    return names;
  };
}

function hereOf(state: LoadState, raw: IniValue | undefined): string {
  return raw === undefined ? state.here : path.dirname(raw.file);
}

function rawSection(doc: IniDocument, section: string): RawSection {
  const out: RawSection = {};
  for (const key of doc.keys(section)) out[key] = doc.get(section, key);
  return out;
}

/** A bad value in a section without supervisord's " in section" suffix (supervisord, server sections). */
function plainError(error: unknown, section: string): never {
  if (error instanceof SectionValueError) {
    throw new ConfigError(error.message, {
      section,
      key: error.key,
      file: error.raw?.file,
      line: error.raw?.line,
    });
  }
  if (error instanceof PyValueError) throw new ConfigError(error.message, { section });
  throw error;
}

async function readMainFile(doc: IniDocument, file: string, givenFile: string): Promise<void> {
  if (!existsSync(file)) throw new ConfigError(`could not find config file ${givenFile}`);
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch {
    throw new ConfigError(`could not read config file ${givenFile}`);
  }
  parseInto(doc, configText(bytes, file), file, givenFile);
}

/**
 * A config file's text. Bytes that are not UTF-8 are refused with the message supervisord prints for
 * them (Python's UnicodeDecodeError; it reads in 8 KiB chunks, so in a bigger file its position counts
 * from the chunk, ours from the start of the file), rather than read as U+FFFD.
 */
function configText(bytes: Uint8Array, file: string): string {
  const text = decodeUtf8Strict(bytes);
  if (text !== undefined) return text;
  const invalid = findInvalidUtf8(bytes);
  throw new ConfigError(invalid ? describeInvalidUtf8(bytes, invalid) : `'utf-8' codec can't decode ${file}`, { file });
}

function parseInto(doc: IniDocument, text: string, file: string, displayName: string): void {
  try {
    doc.read(text, file, displayName);
  } catch (error) {
    if (error instanceof IniSyntaxError) throw new ConfigError(error.message, { file: error.file, line: error.line });
    throw error;
  }
  refuseNulCharacters(doc, file);
}

/**
 * U+0000 in a section name, key or value (src/shared/text.ts). supervisord would pass it on to
 * execve or open() and fail later ("embedded null byte"); we refuse the file, naming the key, in the
 * style of its value errors.
 */
function refuseNulCharacters(doc: IniDocument, file: string): void {
  for (const section of doc.sectionNames()) {
    const where = ` in section ${pyRepr(section)} (file: ${pyRepr(file)})`;
    if (findUnsafeText(section) !== null) throw new ConfigError(`embedded null byte in section name${where}`, { file, section });
    for (const key of doc.keys(section)) {
      const value = doc.get(section, key);
      if (value === undefined || value.file !== file) continue;
      if (findUnsafeText(key) !== null || findUnsafeText(value.value) !== null) {
        const what = findUnsafeText(key) !== null ? `key ${pyRepr(key)}` : `value of ${pyRepr(key)}`;
        throw new ConfigError(`embedded null byte in ${what}${where}`, { file, section, key, line: value.line });
      }
    }
  }
}

/** os.path.join(base, pattern) without normalising. */
function joinPattern(base: string, pattern: string): string {
  if (pattern.startsWith('/')) return pattern;
  return base.endsWith('/') ? base + pattern : `${base}/${pattern}`;
}

/**
 * `[include] files=`: globs relative to the main file's directory, each match read in sorted
 * order. Like supervisord, only the main file's `[include]` is followed.
 */
async function readIncludes(state: LoadState): Promise<string[]> {
  const { doc } = state;
  if (!doc.has('include')) return [];
  const files = doc.get('include', 'files');
  if (files === undefined) throw new ConfigError('.ini file has [include] section, but no files setting');
  let patterns: string[];
  try {
    const names = withExpansions(state.environ, { here: hereOf(state, files), host_node_name: state.hostname });
    patterns = expand(files.value, names, 'include.files').split(/\s+/u).filter((p) => p !== '');
  } catch (error) {
    return plainError(error, 'include');
  }
  const included: string[] = [];
  for (const pattern of patterns) {
    const joined = joinPattern(state.here, pattern);
    const matches = globSync(joined).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (matches.length === 0) {
      state.warnings.push(`No file matches via include "${joined}"`);
      continue;
    }
    for (const match of matches) {
      state.infos.push(`Included extra file "${match}" during parsing`);
      let bytes: Buffer;
      try {
        if (statSync(match).isDirectory()) continue;
        bytes = await readFile(match);
      } catch {
        // RawConfigParser.read skips files it cannot open.
        continue;
      }
      const before = new Set(doc.sectionNames());
      // A file that opens but does not decode is not skipped: supervisord stops on it.
      parseInto(doc, configText(bytes, path.resolve(match)), path.resolve(match), match);
      for (const name of doc.sectionNames()) if (!before.has(name)) state.sectionFile.set(name, match);
      included.push(path.resolve(match));
    }
  }
  return included;
}

/** Python tempfile's random part: 8 of [a-z0-9_]. */
function randomName(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789_';
  let out = '';
  for (let i = 0; i < 8; i += 1) out += alphabet[randomInt(alphabet.length)];
  return out;
}

function readSupervisord(state: LoadState): SupervisordSection {
  const names = (raw: IniValue | undefined): Expansions => withExpansions(state.environ, { here: hereOf(state, raw) });
  const envNames = (raw: IniValue | undefined): Expansions =>
    withExpansions(state.environ, { here: hereOf(state, raw), host_node_name: state.hostname });
  const tempdir = pythonTempdir(state.ctx.env);
  let parsed;
  try {
    parsed = parseSection(supervisordSchema(names, envNames, state.ctx, tempdir), rawSection(state.doc, 'supervisord'));
  } catch (error) {
    return plainError(error, 'supervisord');
  }
  if (state.doc.get('supervisord', 'logfile')?.value.toLowerCase() === 'syslog') {
    state.warnings.push('[supervisord] logfile=syslog: syslog is not supported by this supervisord; the main log is not written to a file');
  }
  for (const [key, value] of Object.entries(parsed.environment)) state.environ.set(`ENV_${key}`, value);
  return {
    logfile: parsed.logfile,
    logfileMaxBytes: parsed.logfile_maxbytes,
    logfileBackups: parsed.logfile_backups,
    loglevel: parsed.loglevel,
    pidfile: parsed.pidfile,
    nodaemon: parsed.nodaemon,
    silent: parsed.silent,
    childlogdir: parsed.childlogdir,
    minfds: parsed.minfds,
    minprocs: parsed.minprocs,
    nocleanup: parsed.nocleanup,
    umask: parsed.umask,
    user: parsed.user,
    directory: parsed.directory,
    environment: parsed.environment,
    identifier: parsed.identifier,
    stripAnsi: parsed.strip_ansi,
  } satisfies SupervisordSection;
}

/** tempfile.gettempdir(): TMPDIR, TEMP, TMP if they name a directory, else /tmp. */
function pythonTempdir(env: NodeJS.ProcessEnv): string {
  for (const name of ['TMPDIR', 'TEMP', 'TMP']) {
    const dir = env[name];
    if (dir !== undefined && dir !== '') {
      try {
        if (statSync(dir).isDirectory()) return dir;
      } catch {
        // not usable: try the next one
      }
    }
  }
  return '/tmp';
}

/** `[rpcinterface:x]`: only supervisord's own main interface exists here. */
function readRpcInterfaces(state: LoadState): boolean {
  let enabled = false;
  for (const section of state.doc.sectionNames()) {
    if (!section.startsWith('rpcinterface:')) continue;
    const name = section.slice('rpcinterface:'.length);
    const factory = state.doc.get(section, RPC_FACTORY_KEY);
    if (factory === undefined) throw new ConfigError(`section [${section}] does not specify a ${RPC_FACTORY_KEY}`, { section });
    let spec: string;
    try {
      spec = expand(factory.value, state.environ, `${section}.${RPC_FACTORY_KEY}`);
    } catch (error) {
      return plainError(error, section);
    }
    if (spec.trim() !== MAIN_RPC_FACTORY) {
      throw new ConfigError(`${spec} cannot be resolved within [${section}]`, {
        section,
        key: RPC_FACTORY_KEY,
        file: factory.file,
        line: factory.line,
      });
    }
    if (name === 'supervisor') enabled = true;
    else state.warnings.push(`[${section}] serves the supervisor interface under the name '${name}', which supervisorctl does not use; ignored`);
  }
  return enabled;
}

interface GroupDraft {
  name: string;
  priority: number;
  processes: ProcessConfig[];
  eventListener?: EventListenerPoolConfig;
}

/** The only result handler there is here (supervisord imports any Python callable). */
const DEFAULT_RESULT_HANDLER = 'supervisor.dispatchers:default_handler';

/** `[eventlistener:x]`: the pool's keys with supervisord's plain errors, then its processes. */
function readEventListener(
  state: LoadState,
  section: string,
  plainNames: (raw: IniValue | undefined) => Expansions,
  serverurl: () => string,
): GroupDraft {
  // supervisord does not check the pool name here (only the program part does, below).
  const poolName = section.slice('eventlistener:'.length);
  let settings;
  try {
    settings = parseSection(eventListenerSchema(section, plainNames), rawSection(state.doc, section));
  } catch (error) {
    return plainError(error, section);
  }
  const where = (key: string): { section: string; key: string; file?: string; line?: number } => {
    const raw = state.doc.get(section, key);
    return { section, key, ...(raw === undefined ? {} : { file: raw.file, line: raw.line }) };
  };
  if (settings.buffer_size < 1) {
    throw new ConfigError(`[${section}] section sets invalid buffer_size (${settings.buffer_size})`, where('buffer_size'));
  }
  if (settings.result_handler.trim() !== DEFAULT_RESULT_HANDLER) {
    throw new ConfigError(`${settings.result_handler} cannot be resolved within [${section}]`, where('result_handler'));
  }
  const events = [...new Set(settings.events)];
  if (events.length === 0) throw new ConfigError(`[${section}] section requires an "events" line`, { section });
  for (const name of events) {
    if (!isEventTypeName(name)) throw new ConfigError(`Unknown event type ${name} in [${section}] events`, where('events'));
  }
  if (settings.redirect_stderr) {
    throw new ConfigError(
      `[${section}] section sets redirect_stderr=true but this is not allowed because it will interfere with the eventlistener protocol`,
      where('redirect_stderr'),
    );
  }
  const processes = processesFromSection(state, section, poolName, serverurl).map(
    (process): ProcessConfig => ({ ...process, eventListener: true }),
  );
  return {
    name: poolName,
    priority: settings.priority,
    processes,
    eventListener: { bufferSize: settings.buffer_size, events: events.sort() },
  };
}

function byPriorityThenName<T extends { priority: number; name: string }>(a: T, b: T): number {
  if (a.priority !== b.priority) return a.priority - b.priority;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function readGroups(state: LoadState, serverurl: () => string): GroupConfig[] {
  const { doc } = state;
  const sections = doc.sectionNames();
  const drafts: GroupDraft[] = [];
  const grouped = new Set<string>();
  const plainNames = (raw: IniValue | undefined): Expansions => withExpansions(state.environ, { here: hereOf(state, raw) });

  for (const section of sections) {
    if (!section.startsWith('group:')) continue;
    let groupName: string;
    let settings;
    try {
      groupName = parseProcessOrGroupName(section.slice('group:'.length));
      settings = parseSection(groupSchema(section, plainNames), rawSection(doc, section));
    } catch (error) {
      return plainError(error, section);
    }
    const processes: ProcessConfig[] = [];
    for (const program of settings.programs ?? []) {
      const programSection = `program:${program}`;
      const fcgiSection = `fcgi-program:${program}`;
      const isProgram = doc.has(programSection);
      const isFcgi = doc.has(fcgiSection);
      const where = { section, key: 'programs', file: doc.get(section, 'programs')?.file, line: doc.get(section, 'programs')?.line };
      // supervisord names the previous member's section here (a bug); we name the group.
      if (!isProgram && !isFcgi) throw new ConfigError(`[${section}] names unknown program or fcgi-program ${program}`, where);
      if (isProgram && isFcgi) {
        throw new ConfigError(`[${section}] name ${program} is ambiguous (exists as program and fcgi-program)`, where);
      }
      if (!isProgram) {
        throw new ConfigError(`[${section}] names fcgi-program ${program}, and [fcgi-program:x] sections are not supported`, where);
      }
      grouped.add(programSection);
      processes.push(...processesFromSection(state, programSection, groupName, serverurl));
    }
    drafts.push({ name: groupName, priority: settings.priority, processes });
  }

  for (const section of sections) {
    if (!section.startsWith('program:') || grouped.has(section)) continue;
    let programName: string;
    let priority: number;
    try {
      programName = parseProcessOrGroupName(section.slice('program:'.length));
      // supervisord reads priority here once without the program names, then again below.
      priority = parseSection(groupSchema(section, plainNames).pick({ priority: true }), rawSection(doc, section)).priority;
    } catch (error) {
      return plainError(error, section);
    }
    drafts.push({ name: programName, priority, processes: processesFromSection(state, section, programName, serverurl) });
  }

  for (const section of sections) {
    if (section.startsWith('eventlistener:')) drafts.push(readEventListener(state, section, plainNames, serverurl));
  }

  for (const section of sections) {
    if (section.startsWith('fcgi-program:')) {
      state.warnings.push(`[${section}] ignored: FastCGI programs are not supported by this supervisord`);
    }
  }

  drafts.sort(byPriorityThenName);
  const groups: GroupConfig[] = [];
  for (const draft of drafts) {
    if (groups.some((g) => g.name === draft.name)) {
      // supervisord adds the first group of a name and silently skips the others.
      state.warnings.push(`group '${draft.name}' is defined more than once; only the first (in start order) is used`);
      continue;
    }
    const byName = new Map<string, ProcessConfig>();
    for (const process of draft.processes) {
      if (byName.has(process.name)) {
        state.warnings.push(`process '${process.name}' appears twice in group '${draft.name}'; the later definition is used`);
      }
      byName.set(process.name, process);
    }
    groups.push({
      name: draft.name,
      priority: draft.priority,
      processes: [...byName.values()].sort(byPriorityThenName),
      ...(draft.eventListener === undefined ? {} : { eventListener: draft.eventListener }),
    });
  }
  return groups;
}

/** `[program:x]` → its processes; errors get supervisord's ` in section '…' (file: '…')` suffix. */
function processesFromSection(state: LoadState, section: string, groupName: string, serverurl: () => string): ProcessConfig[] {
  const file = state.sectionFile.get(section) ?? state.givenFile;
  try {
    return processesFromSectionUnwrapped(state, section, groupName, serverurl);
  } catch (error) {
    const suffix = ` in section ${pyRepr(section)} (file: ${pyRepr(file)})`;
    if (error instanceof SectionValueError) {
      throw new ConfigError(error.message + suffix, { section, key: error.key, file: error.raw?.file, line: error.raw?.line });
    }
    if (error instanceof PyValueError) {
      const sectionLine = state.doc.sections.get(section)?.line;
      throw new ConfigError(error.message + suffix, {
        section,
        file: state.doc.sections.get(section)?.file,
        ...(sectionLine === undefined ? {} : { line: sectionLine }),
      });
    }
    throw error;
  }
}

function processesFromSectionUnwrapped(
  state: LoadState,
  section: string,
  groupName: string,
  serverurl: () => string,
): ProcessConfig[] {
  const programName = parseProcessOrGroupName(section.slice(section.indexOf(':') + 1));
  const raw = rawSection(state.doc, section);
  const common = (here: string): Record<string, FormatValue> => ({
    here,
    program_name: programName,
    host_node_name: state.hostname,
    group_name: groupName,
  });
  const settings = parseSection(
    programSettingsSchema(section, perFile((here) => withExpansions(state.environ, common(here)), state)),
    raw,
  );
  const killasgroup = settings.killasgroup ?? settings.stopasgroup;
  const processNameTemplate = parseProcessOrGroupName(settings.process_name);
  if (settings.numprocs > 1 && !processNameTemplate.includes('%(process_num)')) {
    throw new PyValueError('%(process_num) must be present within process_name when numprocs > 1');
  }
  if (settings.stopasgroup && !killasgroup) throw new PyValueError('Cannot set stopasgroup=true and killasgroup=false');

  const processes: ProcessConfig[] = [];
  for (let processNum = settings.numprocs_start; processNum < settings.numprocs_start + settings.numprocs; processNum += 1) {
    const perProcess = { process_num: processNum, numprocs: settings.numprocs };
    const loopBuild = (here: string): Map<string, FormatValue> =>
      withExpansions(withExpansions(state.environ, common(here)), perProcess);
    const { environment } = parseSection(environmentSchema(perFile(loopBuild, state)), raw);
    // Keys after environment= may use the program's own variables as ENV_.
    const programEnv = new Map(Object.entries(environment).map(([k, v]): [string, FormatValue] => [`ENV_${k}`, v]));
    const names = perFile((here) => withExpansions(loopBuild(here), programEnv), state);
    const values = parseSection(processSchema(section, names, state.ctx), raw);

    const name = expand(processNameTemplate, names(raw.process_name), 'process_name');
    const channel = (which: 'stdout' | 'stderr', logfile: LogfileName, maxBytes: number, backups: number): LogTarget => {
      if (logfile.kind === 'syslog') {
        state.warnings.push(
          `For [${section}], ${which}_logfile=syslog but this is deprecated and will be removed.  Use ${which}_syslog=true to enable syslog instead.`,
        );
      }
      if (logfile.kind === 'auto' && maxBytes === 0) {
        state.warnings.push(
          `For [${section}], AUTO logging used for ${which}_logfile without rollover, set maxbytes > 0 to avoid filling up filesystem unintentionally`,
        );
      }
      switch (logfile.kind) {
        case 'none':
        case 'syslog':
          return { kind: 'none' };
        case 'inherit':
          return { kind: 'inherit', fd: logfile.fd };
        case 'auto':
          return {
            kind: 'file',
            path: path.join(state.childlogdir, `${name}-${which}---${state.identifier}-${randomName()}.log`),
            maxBytes,
            backups,
            auto: true,
          };
        case 'path':
          return { kind: 'file', path: logfile.path, maxBytes, backups, auto: false };
      }
    };
    const stdout = channel('stdout', values.stdout_logfile, values.stdout_logfile_maxbytes, values.stdout_logfile_backups);
    let stderr = channel('stderr', values.stderr_logfile, values.stderr_logfile_maxbytes, values.stderr_logfile_backups);
    if (values.stdout_syslog || values.stderr_syslog || values.stdout_logfile.kind === 'syslog' || values.stderr_logfile.kind === 'syslog') {
      state.warnings.push(`For [${section}], syslog output is not supported by this supervisord; it is not sent anywhere`);
    }
    if (settings.redirect_stderr) {
      if (values.stderr_logfile.kind !== 'auto' && values.stderr_logfile.kind !== 'none' && values.stderr_logfile.kind !== 'syslog') {
        state.warnings.push(
          `For [${section}], redirect_stderr=true but stderr_logfile has also been set to a filename, the filename has been ignored`,
        );
      }
      stderr = { kind: 'none' };
    }
    if (values.command === null) throw new PyValueError(`program section ${section} does not specify a command`);

    let argv: string[] = [];
    let commandError: string | undefined;
    try {
      argv = splitCommand(values.command);
      if (argv.length === 0) commandError = 'command is empty';
    } catch (error) {
      if (!(error instanceof PyValueError)) throw error;
      commandError = `can't parse command ${pyRepr(values.command)}: ${error.message}`;
    }
    processes.push({
      name,
      group: groupName,
      programName,
      command: values.command,
      argv,
      ...(commandError === undefined ? {} : { commandError }),
      priority: settings.priority,
      autostart: settings.autostart,
      autorestart: settings.autorestart,
      startsecs: settings.startsecs,
      startretries: settings.startretries,
      exitcodes: settings.exitcodes,
      stopsignal: settings.stopsignal,
      stopwaitsecs: settings.stopwaitsecs,
      stopasgroup: settings.stopasgroup,
      killasgroup,
      user: settings.user?.name ?? null,
      ...(settings.user === null ? {} : { uid: settings.user.uid, gid: settings.user.gid }),
      redirectStderr: settings.redirect_stderr,
      stdout,
      stderr,
      environment: { ...state.supervisordEnvironment, ...environment },
      directory: values.directory,
      umask: settings.umask,
      serverurl: settings.serverurl ?? serverurl(),
      ...(settings.stdout_events_enabled ? { stdoutEventsEnabled: true } : {}),
      ...(settings.stderr_events_enabled ? { stderrEventsEnabled: true } : {}),
      ...(settings.stdout_capture_maxbytes > 0 ? { stdoutCaptureMaxBytes: settings.stdout_capture_maxbytes } : {}),
      ...(settings.stderr_capture_maxbytes > 0 ? { stderrCaptureMaxBytes: settings.stderr_capture_maxbytes } : {}),
    } satisfies ProcessConfig);
  }
  return processes.sort(byPriorityThenName);
}

interface Servers {
  unix: UnixHttpServerSection | null;
  inet: InetHttpServerSection | null;
}

function auth(section: string, username: string | null, password: string | null): HttpAuth | null {
  if (username === null && password === null) return null;
  if (username === null || password === null) {
    throw new ConfigError(
      `Section [${section}] contains incomplete authentication: If a username or a password is specified, both the username and password must be specified`,
      { section },
    );
  }
  return { username, password };
}

/** `[inet_http_server]` then `[unix_http_server]`, in supervisord's order (`…:name` variants included). */
function readServers(state: LoadState): Servers {
  const { doc } = state;
  const envOnly = (): Expansions => state.environ;
  const withHere = (raw: IniValue | undefined): Expansions => withExpansions(state.environ, { here: hereOf(state, raw) });
  const servers: Servers = { unix: null, inet: null };
  for (const section of doc.sectionNames()) {
    if (!section.startsWith('inet_http_server')) continue;
    let parsed;
    try {
      parsed = parseSection(inetHttpServerSchema(section, envOnly), rawSection(doc, section));
    } catch (error) {
      return plainError(error, section);
    }
    const credentials = auth(section, parsed.username, parsed.password);
    if (parsed.port === null) throw new ConfigError(`section [${section}] has no port value`, { section });
    if (servers.inet === null) servers.inet = { host: parsed.port.host, port: parsed.port.port, auth: credentials };
    else state.warnings.push(`[${section}] ignored: only one inet HTTP server is supported`);
  }
  for (const section of doc.sectionNames()) {
    if (!section.startsWith('unix_http_server')) continue;
    const raw = rawSection(doc, section);
    let parsed;
    try {
      const file = parseSection(unixHttpServerSchema(section, withHere, state.ctx).pick({ file: true }), raw).file;
      if (file === null) throw new ConfigError(`section [${section}] has no file value`, { section });
      const rest = parseSection(unixHttpServerSchema(section, envOnly, state.ctx).omit({ file: true }), raw);
      parsed = { ...rest, file };
    } catch (error) {
      return plainError(error, section);
    }
    const credentials = auth(section, parsed.username, parsed.password);
    if (servers.unix === null) {
      servers.unix = { file: parsed.file, chmod: parsed.chmod ?? 0o700, chown: parsed.chown, auth: credentials };
    } else state.warnings.push(`[${section}] ignored: only one unix HTTP server is supported`);
  }
  return servers;
}

/** What SUPERVISOR_SERVER_URL is for `serverurl=AUTO`: the unix socket first, else the inet server, else ''. */
function autoServerUrl(servers: Servers): string {
  if (servers.unix !== null) return `unix://${servers.unix.file}`;
  if (servers.inet !== null) return `http://${servers.inet.host === '' ? 'localhost' : servers.inet.host}:${servers.inet.port}`;
  return '';
}

function readSupervisorctlSection(doc: IniDocument, here: string, environ: Expansions, ctx: SectionEnv): SupervisorctlSection {
  const withHere = (raw: IniValue | undefined): Expansions =>
    withExpansions(environ, { here: raw === undefined ? here : path.dirname(raw.file) });
  try {
    const parsed = parseSection(supervisorctlSchema(() => environ, withHere, ctx), rawSection(doc, 'supervisorctl'));
    return {
      serverurl: parsed.serverurl,
      username: parsed.username,
      password: parsed.password,
      prompt: parsed.prompt,
      historyFile: parsed.history_file,
    } satisfies SupervisorctlSection;
  } catch (error) {
    return plainError(error, 'supervisorctl');
  }
}

/**
 * Read a supervisord config file (and its `[include]`s) into the typed config supervisord
 * would run, or throw ConfigError with supervisord's message for the first problem it would report.
 */
export async function loadConfig(file: string, options: LoadOptions = {}): Promise<SupervisordConfig> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const mainFile = path.resolve(cwd, file);
  const state: LoadState = {
    doc: new IniDocument(),
    givenFile: file,
    mainFile,
    here: path.dirname(mainFile),
    hostname: options.hostname ?? os.hostname(),
    ctx: { env, cwd },
    environ: environmentExpansions(env),
    sectionFile: new Map(),
    warnings: [],
    infos: [],
    childlogdir: '/tmp',
    identifier: 'supervisor',
    supervisordEnvironment: {},
  };
  await readMainFile(state.doc, mainFile, file);
  const includedFiles = await readIncludes(state);
  if (!state.doc.has('supervisord')) throw new ConfigError('.ini file does not include supervisord section');

  const supervisord = { ...readSupervisord(state), ...options.overrides };
  state.childlogdir = supervisord.childlogdir;
  state.identifier = supervisord.identifier;
  state.supervisordEnvironment = supervisord.environment;
  const rpcInterfaceEnabled = readRpcInterfaces(state);

  // Program sections come before the servers in supervisord's order of errors, but AUTO
  // serverurls need the servers: peek at them (their errors are raised in turn below).
  let peeked: string | undefined;
  const serverurl = (): string => {
    if (peeked === undefined) {
      try {
        peeked = autoServerUrl(readServers({ ...state, warnings: [] }));
      } catch {
        peeked = '';
      }
    }
    return peeked;
  };
  const groups = readGroups(state, serverurl);
  const servers = readServers(state);

  if (supervisord.user !== null) {
    try {
      resolveUser(supervisord.user);
    } catch (error) {
      const raw = state.doc.get('supervisord', 'user');
      if (error instanceof PyValueError) {
        throw new ConfigError(error.message, { section: 'supervisord', key: 'user', file: raw?.file, line: raw?.line });
      }
      throw error;
    }
  }

  // supervisord itself ignores [supervisorctl]; a bad one must not stop it, only supervisorctl.
  let supervisorctl: SupervisorctlSection | null = null;
  if (state.doc.has('supervisorctl')) {
    try {
      supervisorctl = readSupervisorctlSection(state.doc, state.here, environmentExpansions(env), state.ctx);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      state.warnings.push(`[supervisorctl] section not usable: ${error.supervisordMessage}`);
    }
  }

  return {
    file: mainFile,
    includedFiles,
    supervisord,
    unixHttpServer: servers.unix,
    inetHttpServer: servers.inet,
    supervisorctl,
    rpcInterfaceEnabled,
    groups,
    warnings: state.warnings,
    infos: state.infos,
  } satisfies SupervisordConfig;
}
