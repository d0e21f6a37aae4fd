// The contract between the parts of the supervisor component:
//   config/   turns supervisord.conf into a SupervisordConfig (typed, validated once)
//   core      (process manager) runs it and implements SupervisorControl
//   rpc/      serves SupervisorControl over supervisord's XML-RPC interface
//   ctl/      the supervisorctl client (knows only the wire, never imports core)

/** Process states, with supervisord's numeric codes (they go over the wire). */
export enum ProcessState {
  STOPPED = 0,
  STARTING = 10,
  RUNNING = 20,
  BACKOFF = 30,
  STOPPING = 40,
  EXITED = 100,
  FATAL = 200,
  UNKNOWN = 1000,
}

/** States in which supervisord counts a process as started (start refuses, stop acts). */
export const RUNNING_STATES: ReadonlySet<ProcessState> = new Set([ProcessState.STARTING, ProcessState.RUNNING, ProcessState.BACKOFF]);
/** States in which a process has a pid to signal. */
export const SIGNALLABLE_STATES: ReadonlySet<ProcessState> = new Set([ProcessState.RUNNING, ProcessState.STARTING, ProcessState.STOPPING]);
/** States with no child process (a group can be removed, shutdown can finish). */
export const STOPPED_STATES: ReadonlySet<ProcessState> = new Set([ProcessState.STOPPED, ProcessState.EXITED, ProcessState.FATAL, ProcessState.UNKNOWN]);

/** The supervisor release whose behaviour and wire format we reproduce (`supervisord -v`, getSupervisorVersion). */
export const SUPERVISOR_VERSION = '4.2.5';

/** supervisord's own state (`supervisor.getState`). */
export enum SupervisordState {
  FATAL = 2,
  RUNNING = 1,
  RESTARTING = 0,
  SHUTDOWN = -1,
}

/** XML-RPC fault codes (supervisor/xmlrpc.py `Faults`). */
export enum FaultCode {
  UNKNOWN_METHOD = 1,
  INCORRECT_PARAMETERS = 2,
  BAD_ARGUMENTS = 3,
  SIGNATURE_UNSUPPORTED = 4,
  SHUTDOWN_STATE = 6,
  BAD_NAME = 10,
  BAD_SIGNAL = 11,
  NO_FILE = 20,
  NOT_EXECUTABLE = 21,
  FAILED = 30,
  ABNORMAL_TERMINATION = 40,
  SPAWN_ERROR = 50,
  ALREADY_STARTED = 60,
  NOT_RUNNING = 70,
  SUCCESS = 80,
  ALREADY_ADDED = 90,
  STILL_RUNNING = 91,
  CANT_REREAD = 92,
}

/** An error that becomes an XML-RPC fault: `new SupervisorFault(FaultCode.BAD_NAME, 'nosuch')` → `BAD_NAME: nosuch`. */
export class SupervisorFault extends Error {
  constructor(
    readonly code: FaultCode,
    readonly detail?: string,
  ) {
    super(detail === undefined ? FaultCode[code] : `${FaultCode[code]}: ${detail}`);
    this.name = 'SupervisorFault';
  }
}

export type AutorestartMode = 'true' | 'false' | 'unexpected';

/** Where a child's stream goes. `inherit` is supervisord's /dev/stdout (or /dev/stderr) pass-through. */
export type LogTarget =
  | { kind: 'none' }
  | { kind: 'file'; path: string; maxBytes: number; backups: number; auto: boolean }
  | { kind: 'inherit'; fd: 1 | 2 };

/** One process of a program, after numprocs/process_name expansion. */
export interface ProcessConfig {
  /** Process name (`api`, or `worker_01` with numprocs). */
  name: string;
  /** Group name: the program name, or the `[group:x]` it is listed in. */
  group: string;
  /** The `[program:x]` name it came from. */
  programName: string;
  command: string;
  /** The command split shell-like (supervisord uses shlex), argv[0] resolved at spawn time. */
  argv: string[];
  /**
   * Set when the command cannot be spawned as written (argv is then []): supervisord's spawn
   * error, `can't parse command '…': No closing quotation` or `command is empty`. [config]
   */
  commandError?: string;
  priority: number;
  autostart: boolean;
  autorestart: AutorestartMode;
  startsecs: number;
  startretries: number;
  exitcodes: number[];
  /** Signal name without SIG, e.g. `TERM`. */
  stopsignal: string;
  stopwaitsecs: number;
  stopasgroup: boolean;
  killasgroup: boolean;
  user: string | null;
  /** `user` resolved through /etc/passwd at load (supervisord: `Invalid user name x`); set iff user is. [config] */
  uid?: number;
  /** The primary group of `user` (supervisord setgid()s to it). [config] */
  gid?: number;
  redirectStderr: boolean;
  stdout: LogTarget;
  stderr: LogTarget;
  /** Program `environment=`, merged over `[supervisord] environment` (program wins). */
  environment: Record<string, string>;
  directory: string | null;
  /** Octal umask, e.g. 0o022; null inherits supervisord's. */
  umask: number | null;
  serverurl: string;
  /** `stdout_events_enabled` / `stderr_events_enabled`: PROCESS_LOG_* events (absent = false). */
  stdoutEventsEnabled?: boolean;
  stderrEventsEnabled?: boolean;
  /** `stdout_capture_maxbytes` / `stderr_capture_maxbytes`: capture mode, PROCESS_COMMUNICATION_* (absent = 0, off). */
  stdoutCaptureMaxBytes?: number;
  stderrCaptureMaxBytes?: number;
  /** A process of an `[eventlistener:x]` pool: its stdout speaks the event listener protocol. */
  eventListener?: boolean;
}

/** What makes a group an `[eventlistener:x]` pool. */
export interface EventListenerPoolConfig {
  /** `buffer_size` (10): events kept for the pool; the oldest is discarded beyond it. */
  bufferSize: number;
  /** `events=`: the event type names subscribed to (upper case, deduplicated, sorted). */
  events: string[];
  /**
   * Our keys (supervisord 4.2.5 ignores keys it does not know): the pool's byte bounds and
   * backpressure (events/listener-pool.ts PoolByteBounds). Absent: the defaults.
   */
  backpressure?: {
    /** `backpressure_holdbytes` (1MB): hold the programs' output from this many buffered bytes. */
    holdBytes: number;
    /** `backpressure_releasebytes` (256KB): read it again at or below this. */
    resumeBytes: number;
    /** `buffer_maxbytes` (4MB): beyond it the oldest event is discarded (overflow rule). */
    maxBytes: number;
    /** `backpressure_stallsecs` (10), in ms: no OK for this long while holding releases the programs. */
    stallMs: number;
  };
}

/** A group in start order; supervisord compares configs group by group for reread/update. */
export interface GroupConfig {
  name: string;
  priority: number;
  processes: ProcessConfig[];
  /** Set for an `[eventlistener:x]` pool. */
  eventListener?: EventListenerPoolConfig;
}

export interface SupervisordSection {
  logfile: string | null; // null = NONE
  logfileMaxBytes: number;
  logfileBackups: number;
  loglevel: 'critical' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'blather';
  pidfile: string | null;
  nodaemon: boolean;
  silent: boolean;
  childlogdir: string;
  minfds: number;
  minprocs: number;
  nocleanup: boolean;
  umask: number;
  user: string | null;
  directory: string | null;
  environment: Record<string, string>;
  identifier: string;
  stripAnsi: boolean;
}

export interface HttpAuth {
  username: string;
  /** Plain text, or `{SHA}` + hex sha1 of the password. */
  password: string;
}

export interface UnixHttpServerSection {
  file: string;
  chmod: number;
  chown: { user: string; group: string | null } | null;
  auth: HttpAuth | null;
}

export interface InetHttpServerSection {
  host: string; // '' = all interfaces
  port: number;
  auth: HttpAuth | null;
}

export interface SupervisorctlSection {
  serverurl: string;
  username: string | null;
  password: string | null;
  prompt: string;
  historyFile: string | null;
}

export interface SupervisordConfig {
  /** Absolute path of the main file (reread reads it again). */
  file: string;
  /** Files pulled in by `[include]`, in the order read. */
  includedFiles: string[];
  supervisord: SupervisordSection;
  unixHttpServer: UnixHttpServerSection | null;
  inetHttpServer: InetHttpServerSection | null;
  supervisorctl: SupervisorctlSection | null;
  /** True when `[rpcinterface:supervisor]` is present (without it the supervisor.* methods don't exist). */
  rpcInterfaceEnabled: boolean;
  /** Groups in start order: ascending priority, ties by name. */
  groups: GroupConfig[];
  /** Non-fatal problems supervisord logs as warnings at start-up. */
  warnings: string[];
  /** What supervisord logs at INFO after loading, e.g. `Included extra file "…" during parsing`. [config] */
  infos?: string[];
}

/** What `supervisor.getProcessInfo` returns (field names as on the wire are the RPC layer's job). */
export interface ProcessInfo {
  name: string;
  group: string;
  /** Unix seconds of the last spawn, 0 if never. */
  start: number;
  /** Unix seconds of the last exit, 0 if never. */
  stop: number;
  now: number;
  state: ProcessState;
  spawnerr: string;
  /** Last exit status; -1 when killed by a signal. */
  exitstatus: number;
  stdoutLogfile: string;
  stderrLogfile: string;
  pid: number;
  /**
   * The priority of the config this process runs with (not a re-read one that `update` has not
   * applied yet): group and "all" operations order by it, as supervisord sorts its live processes.
   * Not on the wire; the RPC layer computes the `status` description from the fields above.
   */
  priority: number;
}

/** Lifetime counts of one process since supervisord started managing it (served at /metrics). */
export interface ProcessCounters {
  starts: number;
  /** By how the exit was judged: exit status in exitcodes, not in them (or too quick), or asked for by a stop. */
  exits: { expected: number; unexpected: number; stopped: number };
}

export interface ReloadResult {
  added: string[];
  changed: string[];
  removed: string[];
}

/**
 * What the running supervisord offers its control interface. Names are full process names
 * (`group:name`, or `name` when group and name are equal). Failures throw SupervisorFault with
 * supervisord's code, e.g. BAD_NAME, ALREADY_STARTED, NOT_RUNNING, SPAWN_ERROR.
 * Group and "all" operations are composed by the RPC layer from these, in priority order.
 */
export interface SupervisorControl {
  readonly identification: string;
  readonly pid: number;
  state(): SupervisordState;
  /** The most recently read config: after `reread` without `update`, the new file (what `avail` lists). */
  config(): SupervisordConfig;
  /** Every process, groups in priority order, processes by name within a group. */
  processes(): ProcessInfo[];
  processInfo(name: string): ProcessInfo;
  /** Resolves when RUNNING (wait) or at once after spawning; rejects with SPAWN_ERROR/ABNORMAL_TERMINATION etc. */
  startProcess(name: string, wait: boolean): Promise<void>;
  /** Resolves when STOPPED (wait) or at once after signalling. */
  stopProcess(name: string, wait: boolean): Promise<void>;
  signalProcess(name: string, signal: string): void;
  sendProcessStdin(name: string, chars: string): void;
  /** Truncate a process's stdout/stderr logs (and backups), as `clear`. */
  clearProcessLogs(name: string): Promise<void>;
  mainLogfile(): string | null;
  clearMainLog(): Promise<void>;
  /** Re-read the config file and compare by group: reread. Throws CANT_REREAD on a bad file. */
  reloadConfig(): Promise<ReloadResult>;
  /** Start managing a group from the re-read config (update/add). ALREADY_ADDED, BAD_NAME. */
  addProcessGroup(name: string): Promise<void>;
  /** Stop managing a stopped group (update/remove). STILL_RUNNING, BAD_NAME. */
  removeProcessGroup(name: string): Promise<void>;
  /** Stop every process in order and exit. Returns at once; the work continues. */
  shutdown(): void;
  /** Stop every process, re-read the config and start again. Returns at once. */
  restart(): void;
  /** Re-open log files (SIGUSR2). */
  reopenLogs(): void;
  /** Publish a REMOTE_COMMUNICATION event to the event listeners (`supervisor.sendRemoteCommEvent`). */
  sendRemoteCommEvent(type: string, data: string): void;
  /** Start and exit counts of a process, for /metrics (optional: a control without them serves zeros). */
  processCounters?(name: string): ProcessCounters;
}
