// The process manager: groups of ManagedProcess, start in priority order, ordered shutdown,
// reread/add/remove, signals, and the SupervisorControl interface the RPC server exposes.
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, sameProcessConfig } from './config/index.js';
import { EventSystem, type Channel, type LogText, type OutputFlow } from './events/index.js';
import type { MainLog } from './main-log.js';
import type { RotatingLogFile } from './rotating-file.js';
import { ManagedProcess, type ProcessHost, type ProcessOutputEvents } from './process.js';
import { signalNumber } from './signals.js';
import { SpawnProblem } from './spawn.js';
import {
  FaultCode,
  ProcessState,
  RUNNING_STATES,
  SIGNALLABLE_STATES,
  STOPPED_STATES,
  SupervisordState,
  SupervisorFault,
  type GroupConfig,
  type ProcessConfig,
  type ProcessCounters,
  type ProcessInfo,
  type ReloadResult,
  type SupervisorControl,
  type SupervisordConfig,
} from './types.js';

/** Most a shutdown waits for an event listener pool to deliver its buffer before stopping it. */
const POOL_DELIVERY_AT_SHUTDOWN_MS = 5000;

interface ProcessGroup {
  config: GroupConfig;
  /** In start order: priority, then name. */
  processes: ManagedProcess[];
}

export interface SupervisorOptions {
  config: SupervisordConfig;
  log: MainLog;
  /** Reads the config file again for reread (`loadConfig` from config/); its error message becomes CANT_REREAD. */
  loadConfig: (file: string) => Promise<SupervisordConfig>;
  /** supervisord's pid as the control interface reports it. */
  pid?: number;
}

function byPriorityThenName(a: ProcessConfig, b: ProcessConfig): number {
  return a.priority - b.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/** Group equality for reread, as supervisord's ProcessGroupConfig.__eq__. */
function sameGroup(a: GroupConfig, b: GroupConfig): boolean {
  return (
    a.name === b.name &&
    a.priority === b.priority &&
    JSON.stringify(a.eventListener) === JSON.stringify(b.eventListener) &&
    a.processes.length === b.processes.length &&
    a.processes.every((process, index) => {
      const other = b.processes[index];
      return other !== undefined && sameProcessConfig(process, other);
    })
  );
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export class Supervisor implements SupervisorControl, ProcessHost {
  readonly log: MainLog;
  readonly pid: number;
  private readonly activeConfig: SupervisordConfig;
  /** The most recently read config: what addProcessGroup adds from (supervisord's process_group_configs). */
  private readConfig: SupervisordConfig;
  private readonly loadConfig: (file: string) => Promise<SupervisordConfig>;
  /** In priority order (the order of config.groups, then groups added later at their priority). */
  private groups: ProcessGroup[] = [];
  private mood = SupervisordState.RUNNING;
  private stopping: Promise<SupervisordState> | null = null;
  private stoppedListeners: ((mood: SupervisordState) => void)[] = [];
  private finishedMood: SupervisordState | null = null;
  /** Event listener pools and the events they receive (events/). */
  private readonly events: EventSystem;
  readonly outputEvents: ProcessOutputEvents;

  constructor(options: SupervisorOptions) {
    this.activeConfig = options.config;
    this.readConfig = options.config;
    this.log = options.log;
    this.loadConfig = options.loadConfig;
    this.pid = options.pid ?? process.pid;
    this.events = new EventSystem(this.log, this.activeConfig.supervisord.identifier);
    const events = this.events;
    this.outputEvents = {
      logged: (process: ManagedProcess, pid: number, channel: Channel, text: LogText, flow?: OutputFlow) =>
        events.logged(process, pid, channel, text, flow),
      communicated: (process: ManagedProcess, pid: number, channel: Channel, text: string) =>
        events.communicated(process, pid, channel, text),
      listenerStdout: (process: ManagedProcess, data: Buffer) => events.listenerStdout(process, data),
    };
  }

  get identification(): string {
    return this.activeConfig.supervisord.identifier;
  }

  get stripAnsi(): boolean {
    return this.activeConfig.supervisord.stripAnsi;
  }

  acceptingStarts(): boolean {
    return this.mood === SupervisordState.RUNNING;
  }

  state(): SupervisordState {
    return this.mood;
  }

  /** The most recently read config (after a reread, the new one), as supervisord's options. */
  config(): SupervisordConfig {
    return this.readConfig;
  }

  /** Create every group and start the autostart processes, lowest priority number first. */
  start(): void {
    if (!this.activeConfig.supervisord.nocleanup) this.removeOldAutoLogs();
    for (const group of this.activeConfig.groups) this.createGroup(group);
    // As supervisord: every group added (PROCESS_GROUP_ADDED), then RUNNING, then the first spawns.
    this.events.supervisorRunning();
    for (const group of this.groups) this.autostart(group);
  }

  /** Resolves with SHUTDOWN or RESTARTING once a shutdown()/restart() has stopped every process. */
  whenStopped(): Promise<SupervisordState> {
    const finished = this.finishedMood;
    if (finished !== null) return Promise.resolve(finished);
    return new Promise((resolve) => this.stoppedListeners.push(resolve));
  }

  /** What supervisord does on a signal (supervisord.py handle_signal). */
  handleSignal(signal: NodeJS.Signals): void {
    if (signal === 'SIGTERM' || signal === 'SIGINT' || signal === 'SIGQUIT') {
      this.log.warn(`received ${signal} indicating exit request`);
      this.shutdown();
    } else if (signal === 'SIGHUP') {
      if (this.mood === SupervisordState.SHUTDOWN) {
        this.log.warn(`ignored ${signal} indicating restart request (shutdown in progress)`);
      } else {
        this.log.warn(`received ${signal} indicating restart request`);
        this.restart();
      }
    } else if (signal === 'SIGUSR2') {
      this.log.info(`received ${signal} indicating log reopen request`);
      this.reopenLogs();
    } else {
      this.log.blather(`received ${signal} indicating nothing`);
    }
  }

  // --- SupervisorControl: processes -----------------------------------------------------

  processes(): ProcessInfo[] {
    const now = Date.now();
    return this.groups.flatMap((group) =>
      [...group.processes].sort((a, b) => (a.config.name < b.config.name ? -1 : 1)).map((process) => process.info(now)),
    );
  }

  processInfo(name: string): ProcessInfo {
    return this.find(name).info();
  }

  processCounters(name: string): ProcessCounters {
    return this.find(name).counters;
  }

  /** The log writers of a process (flush, write-queue figures); not part of the RPC surface. */
  processLogs(name: string): { stdout: RotatingLogFile | null; stderr: RotatingLogFile | null } {
    const process = this.find(name);
    return { stdout: process.stdoutLog, stderr: process.stderrLog };
  }

  async startProcess(name: string, wait: boolean): Promise<void> {
    if (this.mood !== SupervisordState.RUNNING) throw new SupervisorFault(FaultCode.SHUTDOWN_STATE);
    const process = this.find(name);
    try {
      process.checkCommand();
    } catch (error) {
      if (error instanceof SpawnProblem) {
        throw new SupervisorFault(error.kind === 'not-found' ? FaultCode.NO_FILE : FaultCode.NOT_EXECUTABLE, error.message);
      }
      throw error;
    }
    if (RUNNING_STATES.has(process.state)) throw new SupervisorFault(FaultCode.ALREADY_STARTED, name);
    if (process.state === ProcessState.UNKNOWN) throw new SupervisorFault(FaultCode.FAILED, `${name} is in an unknown process state`);
    // Register before spawning: with startsecs=0 or an instant failure the state moves on quickly.
    const settled = wait ? this.waitToLeaveStarting(process, name) : null;
    process.spawn();
    if (process.state !== ProcessState.STARTING && process.state !== ProcessState.RUNNING) {
      // Not started: a spawn error, or (STOPPING) spawn() did nothing as the old child is still there.
      // supervisord's wait then sees a state other than STARTING or RUNNING at its first look: abnormal
      // termination at once (without waiting, start just returns).
      settled?.catch(() => undefined);
      if (process.spawnerr) throw new SupervisorFault(FaultCode.SPAWN_ERROR, name);
      if (wait) throw new SupervisorFault(FaultCode.ABNORMAL_TERMINATION, name);
      return;
    }
    if (settled) await settled;
  }

  async stopProcess(name: string, wait: boolean): Promise<void> {
    const process = this.find(name);
    if (!RUNNING_STATES.has(process.state)) throw new SupervisorFault(FaultCode.NOT_RUNNING, name);
    const problem = process.stop();
    if (problem !== null) throw new SupervisorFault(FaultCode.FAILED, problem);
    if (wait) await this.waitForStopped(process, true);
  }

  signalProcess(name: string, signal: string): void {
    const process = this.find(name);
    const number = signalNumber(signal);
    if (number === undefined) throw new SupervisorFault(FaultCode.BAD_SIGNAL, signal);
    if (!SIGNALLABLE_STATES.has(process.state)) throw new SupervisorFault(FaultCode.NOT_RUNNING, name);
    const problem = process.signal(number);
    if (problem !== null) throw new SupervisorFault(FaultCode.FAILED, problem);
  }

  sendProcessStdin(name: string, chars: string): void {
    const process = this.find(name);
    if (!process.acceptsStdin) throw new SupervisorFault(FaultCode.NOT_RUNNING, name);
    if (!process.writeStdin(Buffer.from(chars))) throw new SupervisorFault(FaultCode.NO_FILE, name);
  }

  async clearProcessLogs(name: string): Promise<void> {
    const process = this.find(name);
    try {
      await process.clearLogs();
    } catch {
      throw new SupervisorFault(FaultCode.FAILED, name);
    }
  }

  mainLogfile(): string | null {
    return this.log.path;
  }

  async clearMainLog(): Promise<void> {
    const file = this.log.path;
    if (file === null) throw new SupervisorFault(FaultCode.NO_FILE);
    try {
      rmSync(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new SupervisorFault(FaultCode.NO_FILE);
      throw new SupervisorFault(FaultCode.FAILED);
    }
    this.log.info('reopening log file');
    this.log.reopen();
  }

  // --- SupervisorControl: configuration -------------------------------------------------

  async reloadConfig(): Promise<ReloadResult> {
    let fresh: SupervisordConfig;
    try {
      fresh = await this.loadConfig(this.activeConfig.file);
    } catch (error) {
      // supervisord's own text (the config reader may add a location line for people).
      const message = error instanceof ConfigError ? error.supervisordMessage : error instanceof Error ? error.message : String(error);
      throw new SupervisorFault(FaultCode.CANT_REREAD, message);
    }
    this.readConfig = fresh;
    const current = new Map(this.groups.map((group) => [group.config.name, group.config]));
    const next = new Map(fresh.groups.map((group) => [group.name, group]));
    return {
      added: fresh.groups.filter((group) => !current.has(group.name)).map((group) => group.name),
      changed: fresh.groups
        .filter((group) => {
          const old = current.get(group.name);
          return old !== undefined && !sameGroup(old, group);
        })
        .map((group) => group.name),
      removed: this.groups.filter((group) => !next.has(group.config.name)).map((group) => group.config.name),
    };
  }

  async addProcessGroup(name: string): Promise<void> {
    const config = this.readConfig.groups.find((group) => group.name === name);
    if (!config) throw new SupervisorFault(FaultCode.BAD_NAME, name);
    if (this.groups.some((group) => group.config.name === name)) throw new SupervisorFault(FaultCode.ALREADY_ADDED, name);
    const group = this.createGroup(config);
    if (this.acceptingStarts()) this.autostart(group);
  }

  async removeProcessGroup(name: string): Promise<void> {
    const index = this.groups.findIndex((group) => group.config.name === name);
    const group = this.groups[index];
    if (!group) throw new SupervisorFault(FaultCode.BAD_NAME, name);
    if (group.processes.some((process) => !STOPPED_STATES.has(process.state))) throw new SupervisorFault(FaultCode.STILL_RUNNING, name);
    this.groups.splice(index, 1);
    this.events.groupRemoved(name);
    await Promise.all(group.processes.map((process) => process.dispose()));
  }

  // --- SupervisorControl: supervisord itself ----------------------------------------------

  shutdown(): void {
    this.beginStopping(SupervisordState.SHUTDOWN);
  }

  restart(): void {
    this.beginStopping(SupervisordState.RESTARTING);
  }

  sendRemoteCommEvent(type: string, data: string): void {
    this.events.remoteCommunication(type, data);
  }

  reopenLogs(): void {
    this.log.info('supervisord logreopen');
    this.log.reopen();
    for (const group of this.groups) for (const process of group.processes) void process.reopenLogs();
  }

  /** Close every child log file (after the processes are stopped). */
  async dispose(): Promise<void> {
    this.events.dispose();
    await Promise.all(this.groups.flatMap((group) => group.processes.map((process) => process.dispose())));
  }

  // --- internals ----------------------------------------------------------------------------

  /** `name`, `group:name`; supervisord's _getGroupAndProcess for a single process. */
  private find(name: string): ManagedProcess {
    const colon = name.indexOf(':');
    const groupName = colon === -1 ? name : name.slice(0, colon);
    const processName = colon === -1 ? name : name.slice(colon + 1);
    const group = this.groups.find((candidate) => candidate.config.name === groupName);
    const process = group?.processes.find((candidate) => candidate.config.name === processName);
    if (!process) throw new SupervisorFault(FaultCode.BAD_NAME, name);
    return process;
  }

  private createGroup(config: GroupConfig): ProcessGroup {
    const group: ProcessGroup = {
      config,
      processes: [...config.processes].sort(byPriorityThenName).map((process) => new ManagedProcess(process, this)),
    };
    // Keep groups in priority order (ties by name), as supervisord's transition() walks them.
    let index = this.groups.findIndex(
      (other) => other.config.priority > config.priority || (other.config.priority === config.priority && other.config.name > config.name),
    );
    if (index === -1) index = this.groups.length;
    this.groups.splice(index, 0, group);
    for (const process of group.processes) process.on('state', (change) => this.events.processStateChanged(process, change));
    this.events.groupAdded(config, group.processes);
    return group;
  }

  private autostart(group: ProcessGroup): void {
    for (const process of group.processes) {
      if (process.config.autostart && process.state === ProcessState.STOPPED && process.lastStart === 0) process.spawn();
    }
  }

  /** supervisord's clear_autochildlogdir: AUTO logs of earlier runs with our identifier. */
  private removeOldAutoLogs(): void {
    const { childlogdir, identifier } = this.activeConfig.supervisord;
    const pattern = new RegExp(`^.+?---${escapeRegExp(identifier)}-\\S+\\.log\\.?\\d{0,4}$`);
    const current = new Set(
      this.activeConfig.groups.flatMap((group) =>
        group.processes.flatMap((process) => [process.stdout, process.stderr].flatMap((target) => (target.kind === 'file' ? [target.path] : []))),
      ),
    );
    let entries: string[];
    try {
      entries = readdirSync(childlogdir);
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = path.join(childlogdir, entry);
      if (!pattern.test(entry) || current.has(full)) continue;
      try {
        rmSync(full);
      } catch (error) {
        this.log.warn(`Failed to clean up ${JSON.stringify(full)}: ${(error as Error).message}`);
      }
    }
  }

  private beginStopping(mood: SupervisordState.SHUTDOWN | SupervisordState.RESTARTING): void {
    if (this.mood === SupervisordState.SHUTDOWN) return;
    this.mood = mood;
    this.events.supervisorStopping();
    if (this.stopping) return;
    this.stopping = this.stopAllInOrder();
    void this.stopping.then((finalMood) => {
      this.finishedMood = finalMood;
      for (const listener of this.stoppedListeners.splice(0)) listener(finalMood);
    });
  }

  /**
   * supervisord's shutdown: one group at a time, highest priority number first, each group's
   * processes in reverse order; BACKOFF processes give up. "waiting for … to die" every 3 s.
   */
  private async stopAllInOrder(): Promise<SupervisordState> {
    let lastReport = 0;
    const report = (): void => {
      const unstopped = this.groups.flatMap((group) => group.processes.filter((process) => !STOPPED_STATES.has(process.state)));
      if (unstopped.length === 0) return;
      const now = Date.now();
      if (now > lastReport + 3000) {
        this.log.info(`waiting for ${unstopped.map((process) => process.config.name).join(', ')} to die`);
        lastReport = now;
      }
    };
    const reporter = setInterval(report, 3000);
    reporter.unref();
    try {
      for (const group of [...this.groups].reverse()) {
        // Listeners stop last: first their pool sends what the programs wrote before they stopped
        // (a log forwarder's last lines), as long as a listener takes it, for a bounded time.
        if (group.config.eventListener !== undefined && !(await this.events.delivered(group.config.name, POOL_DELIVERY_AT_SHUTDOWN_MS))) {
          this.log.warn(`pool ${group.config.name}: events still undelivered after ${POOL_DELIVERY_AT_SHUTDOWN_MS / 1000} s, stopping its listeners`);
        }
        for (const process of [...group.processes].reverse()) {
          if (process.state === ProcessState.RUNNING || process.state === ProcessState.STARTING) process.stop();
          else if (process.state === ProcessState.BACKOFF) process.giveUp();
        }
        report();
        await Promise.all(group.processes.map((process) => this.waitForStopped(process, false)));
      }
    } finally {
      clearInterval(reporter);
    }
    return this.mood;
  }

  /** Resolves when the process reaches a stopped state; with `report`, logs "waiting for x to stop" every 2 s. */
  private waitForStopped(process: ManagedProcess, report: boolean): Promise<void> {
    if (STOPPED_STATES.has(process.state)) return Promise.resolve();
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const logWaiting = (): void => {
        if (process.state === ProcessState.STOPPING) this.log.info(`waiting for ${process.config.name} to stop`);
      };
      if (report) {
        logWaiting();
        timer = setInterval(logWaiting, 2000);
        timer.unref();
      }
      const onState = (): void => {
        if (!STOPPED_STATES.has(process.state)) return;
        process.off('state', onState);
        if (timer) clearInterval(timer);
        resolve();
      };
      process.on('state', onState);
    });
  }

  /** For `start` with wait: RUNNING resolves; leaving STARTING otherwise rejects like supervisord's onwait. */
  private waitToLeaveStarting(process: ManagedProcess, name: string): Promise<void> {
    return new Promise((resolve, reject) => {
      // Registered before spawn(): the spawn's own step into STARTING comes first.
      let seenStarting = false;
      const listener = (): void => {
        if (process.state === ProcessState.STARTING) {
          seenStarting = true;
          return;
        }
        if (!seenStarting) return;
        process.off('state', listener);
        if (process.state === ProcessState.RUNNING) resolve();
        else if (process.spawnerr) reject(new SupervisorFault(FaultCode.SPAWN_ERROR, name));
        else reject(new SupervisorFault(FaultCode.ABNORMAL_TERMINATION, name));
      };
      process.on('state', listener);
    });
  }
}
