// One supervised process and supervisord's state machine for it (supervisor/process.py Subprocess),
// driven by events instead of supervisord's one-second tick: a child's `exit` is handled when it
// happens, an autorestart follows at once, and the STARTING→RUNNING, BACKOFF→STARTING and
// STOPPING→SIGKILL steps are timers set for exactly startsecs, the backoff delay and stopwaitsecs.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Channel, LogText, OutputFlow } from './events/index.js';
import type { MainLog } from './main-log.js';
import { readOutput } from './process-output.js';
import { RotatingLogFile } from './rotating-file.js';
import { signalName, signalNumber } from './signals.js';
import { childEnvironment, planSpawn, pyRepr, resolveCommand, SpawnProblem } from './spawn.js';
import { ProcessState, type LogTarget, type ProcessConfig, type ProcessCounters, type ProcessInfo } from './types.js';

const SPAWNABLE_STATES: ReadonlySet<ProcessState> = new Set([
  ProcessState.STOPPED,
  ProcessState.EXITED,
  ProcessState.FATAL,
  ProcessState.BACKOFF,
]);

const EXITED_TOO_QUICKLY = 'Exited too quickly (process log may have details)';

/** What a process needs from the supervisor that owns it. */
export interface ProcessHost {
  readonly log: MainLog;
  /** False while supervisord shuts down or restarts: no automatic (re)starts then. */
  acceptingStarts(): boolean;
  /** `[supervisord] strip_ansi`: remove ANSI escapes from child output before it is logged. */
  readonly stripAnsi: boolean;
  /** Where the output events go (the event system); absent: no events. */
  readonly outputEvents?: ProcessOutputEvents;
}

/** The output a process turns into events, as supervisord's output dispatchers do. */
export interface ProcessOutputEvents {
  /** Output as logged, when `<channel>_events_enabled` (PROCESS_LOG_*); `flow` pauses the pipe it came from. */
  logged(process: ManagedProcess, pid: number, channel: Channel, text: LogText, flow?: OutputFlow): void;
  /** What capture mode collected between the tokens (PROCESS_COMMUNICATION_*). */
  communicated(process: ManagedProcess, pid: number, channel: Channel, text: string): void;
  /** An event listener's stdout as read: the listener protocol. */
  listenerStdout(process: ManagedProcess, data: Buffer): void;
}

export interface StateChange {
  process: ManagedProcess;
  from: ProcessState;
  to: ProcessState;
  /** The child's pid at the change (the exited one for EXITED/STOPPED), 0 if none. */
  pid: number;
  /** For EXITED: the exit status was one of exitcodes. */
  expected: boolean;
  /** Start attempts so far (supervisord's backoff counter), as PROCESS_STATE events report it. */
  tries: number;
}

/** True when `pid` has exited but not been reaped yet (a zombie), or is gone. Linux /proc. */
function hasExited(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (error) {
    // No /proc (not Linux): we cannot tell, so trust the absence of an exit event.
    return (error as NodeJS.ErrnoException).code === 'ENOENT' && readableProc();
  }
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state === 'Z' || state === 'X';
}

let procReadable: boolean | undefined;
function readableProc(): boolean {
  if (procReadable === undefined) {
    try {
      readFileSync('/proc/self/stat');
      procReadable = true;
    } catch {
      procReadable = false;
    }
  }
  return procReadable;
}

/** supervisord's decode_wait_status: the exit status (-1 for a signal) and its description. */
function describeExit(code: number | null, signal: NodeJS.Signals | null): { status: number; text: string } {
  if (signal !== null) return { status: -1, text: `terminated by ${signal}` };
  const status = code ?? -1;
  return { status, text: `exit status ${status}` };
}

function logTargetPath(target: LogTarget): string {
  if (target.kind === 'file') return target.path;
  if (target.kind === 'inherit') return target.fd === 1 ? '/dev/stdout' : '/dev/stderr';
  return '';
}

export class ManagedProcess extends EventEmitter<{ state: [StateChange] }> {
  state: ProcessState = ProcessState.STOPPED;
  pid = 0;
  /** Milliseconds since the epoch of the last spawn / exit; 0 = never. */
  lastStart = 0;
  lastStop = 0;
  backoff = 0;
  spawnerr = '';
  exitstatus = 0;
  /** Spawns and exits, for /metrics. */
  readonly counters: ProcessCounters = { starts: 0, exits: { expected: 0, unexpected: 0, stopped: 0 } };
  /** A stop signal has been sent and the exit is the answer to it. */
  private killing = false;
  private child: ChildProcess | null = null;
  /** The startsecs timer found the child already dead: that exit counts as too quick. */
  private exitedBeforePromotion = false;
  private startTimer: NodeJS.Timeout | undefined;
  private backoffTimer: NodeJS.Timeout | undefined;
  private killTimer: NodeJS.Timeout | undefined;
  readonly stdoutLog: RotatingLogFile | null;
  readonly stderrLog: RotatingLogFile | null;

  constructor(
    readonly config: ProcessConfig,
    private readonly host: ProcessHost,
  ) {
    super();
    const onError = (error: Error): void => host.log.error(`${config.name}: log file error: ${error.message}`);
    this.stdoutLog = config.stdout.kind === 'file' ? new RotatingLogFile({ ...config.stdout, onError }) : null;
    // With redirect_stderr, stderr shares the stdout pipe and supervisord keeps no stderr log.
    this.stderrLog =
      !config.redirectStderr && config.stderr.kind === 'file' ? new RotatingLogFile({ ...config.stderr, onError }) : null;
  }

  /** `group:name`, or `name` when they are equal (supervisord's namespec). */
  get namespec(): string {
    return this.config.group === this.config.name ? this.config.name : `${this.config.group}:${this.config.name}`;
  }

  /** Resolve the command as a start would, throwing SpawnProblem (the RPC checks this before starting). */
  checkCommand(): string {
    if (this.config.commandError !== undefined) throw new SpawnProblem('not-executable', this.config.commandError);
    return resolveCommand(this.config.argv, this.config.environment);
  }

  /** supervisord's spawn(): from STOPPED, EXITED, FATAL or BACKOFF to STARTING (and maybe on to BACKOFF). */
  spawn(): void {
    const name = this.config.name;
    if (this.pid || !SPAWNABLE_STATES.has(this.state)) {
      this.host.log.warn(`process ${pyRepr(name)} already running`);
      return;
    }
    this.clearTimers();
    this.lastStart = Date.now();
    this.counters.starts += 1;
    this.exitedBeforePromotion = false;
    this.changeState(ProcessState.STARTING);

    let child: ChildProcess;
    try {
      const filename = this.checkCommand();
      const stdoutRead = this.config.stdout.kind === 'file' || this.observed('stdout');
      const plan = planSpawn(this.config, filename, this.config.redirectStderr && stdoutRead);
      const stdout = this.stdio('stdout');
      const stderr = this.config.redirectStderr ? (plan.mergeStderr ? 'ignore' : stdout) : this.stdio('stderr');
      const stdio: StdioOptions = ['pipe', stdout, stderr];
      child = spawn(plan.file, plan.args, {
        argv0: plan.argv0,
        cwd: plan.cwd,
        uid: plan.uid,
        gid: plan.gid,
        env: childEnvironment(this.config),
        // Its own process group (setsid), so stopasgroup/killasgroup reach every descendant.
        detached: true,
        stdio,
      });
    } catch (error) {
      this.spawnFailed(error instanceof SpawnProblem ? error.message : `couldn't exec ${this.config.argv[0] ?? ''}: ${(error as Error).message}`);
      return;
    }
    if (child.pid === undefined) {
      // Node reports exec failures (EACCES, ENOENT) asynchronously, without a pid.
      child.once('error', (error: NodeJS.ErrnoException) => {
        this.spawnFailed(`couldn't exec ${this.config.argv[0] ?? ''}: ${error.code ?? error.message}`);
      });
      return;
    }
    this.child = child;
    this.pid = child.pid;
    this.spawnerr = '';
    child.on('error', (error) => this.host.log.debug(`${name}: ${error.message}`));
    child.stdin?.on('error', () => undefined); // EPIPE when the child closed its stdin
    this.capture(child, child.stdout, this.stdoutLog, 'stdout');
    this.capture(child, child.stderr, this.stderrLog, 'stderr');
    child.once('exit', (code, signal) => this.onExit(child, code, signal));
    this.host.log.info(`spawned: ${pyRepr(name)} with pid ${child.pid}`);
    this.startTimer = setTimeout(() => this.onStartsecsElapsed(child), this.config.startsecs * 1000);
    this.startTimer.unref();
  }

  /** Administrative stop (supervisord's stop()): stopsignal now, SIGKILL after stopwaitsecs. */
  stop(): string | null {
    const signal = signalNumber(this.config.stopsignal) ?? 15;
    return this.kill(signal);
  }

  /** BACKOFF → FATAL (supervisord's give_up). */
  giveUp(): void {
    this.clearTimers();
    this.backoff = 0;
    if (this.state === ProcessState.BACKOFF) this.changeState(ProcessState.FATAL);
  }

  /** Send a signal to the process (not its group), as `supervisorctl signal`. */
  signal(signal: number): string | null {
    const name = this.config.name;
    if (!this.pid) {
      const message = `attempted to send ${name} sig ${signalName(signal)} but it wasn't running`;
      this.host.log.debug(message);
      return message;
    }
    this.host.log.debug(`sending ${name} (pid ${this.pid}) sig ${signalName(signal)}`);
    try {
      process.kill(this.pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') {
        this.host.log.debug(`unable to signal ${name} (pid ${this.pid}), it probably just now exited on its own: ${(error as Error).message}`);
        return null;
      }
      const message = `unknown problem sending sig ${name} (${this.pid}):${(error as Error).message}`;
      this.host.log.critical(message);
      this.changeState(ProcessState.UNKNOWN);
      return message;
    }
    return null;
  }

  /** True while stdin can be written (a running child, not being stopped). */
  get acceptsStdin(): boolean {
    return this.pid !== 0 && !this.killing;
  }

  /** Write to the child's stdin; false when the pipe is closed (supervisord: EPIPE → NO_FILE). */
  writeStdin(data: Buffer | readonly Buffer[]): boolean {
    const stdin = this.child?.stdin;
    if (!stdin || stdin.destroyed || !stdin.writable) return false;
    if (Buffer.isBuffer(data)) {
      stdin.write(data);
      return true;
    }
    // Corked, the pieces reach the pipe as one writev, none of them copied into a joined buffer.
    stdin.cork();
    for (const piece of data) stdin.write(piece);
    stdin.uncork();
    return true;
  }

  /** supervisord's removelogs: only a running process has open logs to clear. */
  async clearLogs(): Promise<void> {
    if (!this.pid) return;
    await Promise.all([this.stdoutLog?.clear(), this.stderrLog?.clear()]);
  }

  async reopenLogs(): Promise<void> {
    await Promise.all([this.stdoutLog?.reopen(), this.stderrLog?.reopen()]);
  }

  /** The process is being forgotten (group removed, supervisord exiting). */
  async dispose(): Promise<void> {
    this.clearTimers();
    await Promise.all([this.stdoutLog?.close(), this.stderrLog?.close()]);
  }

  info(now = Date.now()): ProcessInfo {
    return {
      name: this.config.name,
      group: this.config.group,
      start: Math.floor(this.lastStart / 1000),
      stop: Math.floor(this.lastStop / 1000),
      now: Math.floor(now / 1000),
      state: this.state,
      spawnerr: this.spawnerr,
      exitstatus: this.exitstatus,
      stdoutLogfile: logTargetPath(this.config.stdout),
      stderrLogfile: this.config.redirectStderr ? '' : logTargetPath(this.config.stderr),
      pid: this.pid,
      priority: this.config.priority,
    };
  }

  // --- the state machine -------------------------------------------------------------------

  private changeState(to: ProcessState, details: { pid?: number; expected?: boolean } = {}): void {
    const from = this.state;
    if (from === to) return;
    this.state = to;
    if (to === ProcessState.BACKOFF) this.backoff += 1;
    this.emit('state', { process: this, from, to, pid: details.pid ?? this.pid, expected: details.expected ?? true, tries: this.backoff });
  }

  private spawnFailed(message: string): void {
    this.spawnerr = message;
    this.host.log.info(`spawnerr: ${message}`);
    this.enterBackoff();
  }

  /** STARTING → BACKOFF, then a retry after `backoff` seconds, or FATAL after startretries. */
  private enterBackoff(pid = 0): void {
    this.changeState(ProcessState.BACKOFF, { pid });
    if (this.backoff > this.config.startretries) {
      // supervisord gives up on its next tick; we do it now, the retry budget is already spent.
      this.giveUp();
      this.host.log.info(`gave up: ${this.config.name} entered FATAL state, too many start retries too quickly`);
      return;
    }
    this.backoffTimer = setTimeout(() => {
      this.backoffTimer = undefined;
      if (this.state === ProcessState.BACKOFF && this.host.acceptingStarts()) this.spawn();
    }, this.backoff * 1000);
    this.backoffTimer.unref();
  }

  private onStartsecsElapsed(child: ChildProcess): void {
    this.startTimer = undefined;
    if (this.state !== ProcessState.STARTING || this.child !== child) return;
    // Reap before promoting: a child that died in the same tick (exit event still queued) did
    // not stay up for startsecs. supervisord's tick can promote it anyway (reference §2.4).
    // With startsecs=0 there is no "too quickly": supervisord promotes on its next tick, before it reaps.
    if (this.config.startsecs > 0 && this.pid && hasExited(this.pid)) {
      this.exitedBeforePromotion = true;
      return;
    }
    this.backoff = 0;
    this.changeState(ProcessState.RUNNING);
    this.host.log.info(
      `success: ${this.config.name} entered RUNNING state, process has stayed up for > than ${this.config.startsecs} seconds (startsecs)`,
    );
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    const name = this.config.name;
    const now = Date.now();
    if (this.startTimer) clearTimeout(this.startTimer);
    this.startTimer = undefined;
    if (this.killTimer) clearTimeout(this.killTimer);
    this.killTimer = undefined;
    this.child = null;
    const pid = this.pid;
    this.pid = 0;
    this.lastStop = now;
    const exit = describeExit(code, signal);
    const expected = this.config.exitcodes.includes(exit.status);
    // Only the startsecs timer promotes, and only a child it found alive: an exit seen while still
    // STARTING did not stay up for startsecs, even when the loop noticed it late (supervisord would
    // compare clock times here and can call such a child RUNNING, reference §2.4).
    const tooQuickly = this.config.startsecs > 0 && (this.exitedBeforePromotion || this.state === ProcessState.STARTING);
    this.counters.exits[this.killing ? 'stopped' : expected && !tooQuickly ? 'expected' : 'unexpected'] += 1;

    if (this.killing) {
      this.killing = false;
      this.exitstatus = exit.status;
      this.changeState(ProcessState.STOPPED, { pid });
      this.host.log.log(expected ? 'info' : 'warn', `stopped: ${name} (${exit.text})`);
      this.host.log.debug('received SIGCHLD indicating a child quit');
      return;
    }
    if (tooQuickly) {
      this.exitstatus = 0; // supervisord's None, which the RPC reports as 0
      this.spawnerr = EXITED_TOO_QUICKLY;
      this.host.log.warn(`exited: ${name} (${exit.text}; not expected)`);
      this.host.log.debug('received SIGCHLD indicating a child quit');
      this.enterBackoff(pid);
      return;
    }
    this.backoff = 0;
    this.exitstatus = exit.status;
    if (this.state === ProcessState.STARTING) this.changeState(ProcessState.RUNNING, { pid });
    if (expected) {
      this.host.log.info(`exited: ${name} (${exit.text}; expected)`);
    } else {
      this.spawnerr = `Bad exit code ${exit.status}`;
      this.host.log.warn(`exited: ${name} (${exit.text}; not expected)`);
    }
    this.changeState(ProcessState.EXITED, { pid, expected });
    this.host.log.debug('received SIGCHLD indicating a child quit');
    const restart = this.config.autorestart === 'true' || (this.config.autorestart === 'unexpected' && !expected);
    if (restart && this.host.acceptingStarts() && this.state === ProcessState.EXITED) this.spawn();
  }

  /** supervisord's kill(): BACKOFF → STOPPED, else signal (the group with stop/killasgroup) and STOPPING. */
  kill(signal: number): string | null {
    const name = this.config.name;
    if (this.state === ProcessState.BACKOFF) {
      this.host.log.debug(`Attempted to kill ${name}, which is in BACKOFF state.`);
      this.clearTimers();
      this.changeState(ProcessState.STOPPED);
      return null;
    }
    if (!this.pid) {
      const message = `attempted to kill ${name} with sig ${signalName(signal)} but it wasn't running`;
      this.host.log.debug(message);
      return message;
    }
    const asGroup = this.state === ProcessState.STOPPING ? this.config.killasgroup : this.config.stopasgroup;
    this.host.log.debug(`killing ${name} (pid ${this.pid}) ${asGroup ? 'process group ' : ''}with signal ${signalName(signal)}`);
    this.killing = true;
    if (this.startTimer) clearTimeout(this.startTimer);
    this.startTimer = undefined;
    if (this.killTimer) clearTimeout(this.killTimer);
    // Like supervisord, SIGKILL is repeated every stopwaitsecs until the child is gone.
    this.killTimer = setTimeout(() => this.onStopTimeout(), this.config.stopwaitsecs * 1000);
    this.killTimer.unref();
    this.changeState(ProcessState.STOPPING);
    try {
      process.kill(asGroup ? -this.pid : this.pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') {
        this.host.log.debug(`unable to signal ${name} (pid ${this.pid}), it probably just exited on its own: ${(error as Error).message}`);
        return null;
      }
      const message = `unknown problem killing ${name} (${this.pid}):${(error as Error).message}`;
      this.host.log.critical(message);
      this.changeState(ProcessState.UNKNOWN);
      this.killing = false;
      if (this.killTimer) clearTimeout(this.killTimer);
      return message;
    }
    return null;
  }

  private onStopTimeout(): void {
    this.killTimer = undefined;
    if (this.state !== ProcessState.STOPPING || !this.pid) return;
    this.host.log.warn(`killing ${pyRepr(this.config.name)} (${this.pid}) with SIGKILL`);
    this.kill(9);
  }

  private clearTimers(): void {
    for (const timer of [this.startTimer, this.backoffTimer, this.killTimer]) if (timer) clearTimeout(timer);
    this.startTimer = this.backoffTimer = this.killTimer = undefined;
  }

  // --- output capture ---------------------------------------------------------------------

  /** Output that must be read whatever its log target: events, capture mode, the listener protocol. */
  private observed(channel: Channel): boolean {
    const config = this.config;
    if (this.host.outputEvents === undefined) return false;
    if (channel === 'stdout') {
      return config.eventListener === true || config.stdoutEventsEnabled === true || (config.stdoutCaptureMaxBytes ?? 0) > 0;
    }
    return config.stderrEventsEnabled === true || (config.stderrCaptureMaxBytes ?? 0) > 0;
  }

  private stdio(channel: Channel): 'pipe' | 'ignore' | number {
    const target = this.config[channel];
    if (this.observed(channel)) return 'pipe';
    if (target.kind === 'inherit') return target.fd;
    if (target.kind === 'file' || this.host.log.enabled('debug')) return 'pipe';
    return 'ignore';
  }

  private capture(child: ChildProcess, stream: Readable | null, file: RotatingLogFile | null, channel: Channel): void {
    if (!stream) return;
    readOutput({
      process: this,
      host: this.host,
      pid: child.pid ?? 0,
      stream,
      file,
      channel,
      // Late output of a child already reaped belongs to no listener protocol exchange any more.
      isCurrent: () => this.child === child,
    });
  }
}
