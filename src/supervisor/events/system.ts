// The event system of one supervisord run: what the process manager tells it (groups added and
// removed, state changes, output, its own RUNNING/STOPPING), turned into events on the bus, and
// the `[eventlistener:x]` pools that receive them. Every publisher checks `wants()` first, so a
// supervisord without listeners does no event work at all.
import { ProcessState, type GroupConfig } from '../types.js';
import { EventBus } from './bus.js';
import { EventListenerPool, type ListenerProcess, type ListenerState, type PoolByteBounds, type PoolLog } from './listener-pool.js';
import type { LogText, OutputFlow } from './log-output.js';
import { startTicks } from './ticks.js';
import {
  concreteTypes,
  isEventTypeName,
  processCommunicationEvent,
  processGroupEvent,
  processLogEvent,
  processStateEvent,
  remoteCommunicationEvent,
  supervisorStateEvent,
  type Channel,
  type EventTypeName,
} from './types.js';

/** A state change as the process reports it (process.ts StateChange). */
export interface ProcessStateChange {
  from: ProcessState;
  to: ProcessState;
  pid: number;
  expected: boolean;
  tries: number;
}

const GONE_STATES: ReadonlySet<ProcessState> = new Set([
  ProcessState.STOPPED,
  ProcessState.EXITED,
  ProcessState.BACKOFF,
  ProcessState.FATAL,
  ProcessState.UNKNOWN,
]);

export class EventSystem {
  private readonly bus = new EventBus();
  private readonly pools = new Map<string, EventListenerPool>();
  private stopTicks: (() => void) | null = null;
  private stoppingAnnounced = false;

  constructor(
    private readonly log: PoolLog,
    private readonly identifier: string,
    /** Byte bounds over every pool's own (tests shorten them; supervisord passes none). */
    private readonly bounds: Partial<PoolByteBounds> = {},
  ) {}

  /** A group is managed from now on: an event listener pool subscribes first, then PROCESS_GROUP_ADDED. */
  groupAdded(config: GroupConfig, processes: readonly ListenerProcess[]): void {
    const listening = config.eventListener;
    if (listening !== undefined) {
      const pool = new EventListenerPool({
        name: config.name,
        bufferSize: listening.bufferSize,
        identifier: this.identifier,
        log: this.log,
        bounds: { ...listening.backpressure, ...this.bounds },
      });
      for (const process of processes) pool.addListener(process);
      const names = listening.events.filter((name): name is EventTypeName => isEventTypeName(name));
      this.bus.subscribe(pool, concreteTypes(names));
      this.pools.set(config.name, pool);
    }
    if (this.bus.wants('PROCESS_GROUP_ADDED')) this.bus.publish(processGroupEvent('added', config.name));
  }

  groupRemoved(name: string): void {
    const pool = this.pools.get(name);
    if (pool !== undefined) {
      this.bus.unsubscribe(pool);
      pool.dispose();
      this.pools.delete(name);
    }
    if (this.bus.wants('PROCESS_GROUP_REMOVED')) this.bus.publish(processGroupEvent('removed', name));
  }

  /** SUPERVISOR_STATE_CHANGE_RUNNING, and the ticks start. */
  supervisorRunning(): void {
    if (this.bus.wants('SUPERVISOR_STATE_CHANGE_RUNNING')) this.bus.publish(supervisorStateEvent('running'));
    this.stopTicks ??= startTicks((event) => {
      if (this.bus.wants(event.type)) this.bus.publish(event);
    });
  }

  /** SUPERVISOR_STATE_CHANGE_STOPPING, once, when a shutdown or restart begins. */
  supervisorStopping(): void {
    if (this.stoppingAnnounced) return;
    this.stoppingAnnounced = true;
    if (this.bus.wants('SUPERVISOR_STATE_CHANGE_STOPPING')) this.bus.publish(supervisorStateEvent('stopping'));
  }

  processStateChanged(process: ListenerProcess, change: ProcessStateChange): void {
    const type = `PROCESS_STATE_${ProcessState[change.to]}`;
    if (isEventTypeName(type) && this.bus.wants(type)) {
      this.bus.publish(processStateEvent({ name: process.config.name, group: process.config.group }, change.from, change.to, change));
    }
    if (process.config.eventListener !== true) return;
    const pool = this.pools.get(process.config.group);
    if (pool === undefined) return;
    if (change.to === ProcessState.STARTING) pool.listenerSpawned(process);
    else if (change.to === ProcessState.RUNNING) pool.listenerRunning();
    else if (GONE_STATES.has(change.to)) pool.listenerExited(process);
  }

  /** One read of a program's output (whole characters), from the pipe `flow` reads. */
  logged(process: ListenerProcess, pid: number, channel: Channel, text: LogText, flow?: OutputFlow): void {
    if (!this.bus.wants(channel === 'stdout' ? 'PROCESS_LOG_STDOUT' : 'PROCESS_LOG_STDERR')) return;
    const wholeRead = ((channel === 'stdout' ? process.config.stdoutCaptureMaxBytes : process.config.stderrCaptureMaxBytes) ?? 0) === 0;
    this.bus.publish(processLogEvent({ name: process.config.name, group: process.config.group }, pid, channel, text, wholeRead, flow));
  }

  communicated(process: ListenerProcess, pid: number, channel: Channel, text: string): void {
    if (!this.bus.wants(channel === 'stdout' ? 'PROCESS_COMMUNICATION_STDOUT' : 'PROCESS_COMMUNICATION_STDERR')) return;
    this.bus.publish(processCommunicationEvent({ name: process.config.name, group: process.config.group }, pid, channel, text));
  }

  listenerStdout(process: ListenerProcess, data: Buffer): void {
    this.pools.get(process.config.group)?.listenerOutput(process, data);
  }

  remoteCommunication(type: string, data: string): void {
    if (this.bus.wants('REMOTE_COMMUNICATION')) this.bus.publish(remoteCommunicationEvent(type, data));
  }

  /**
   * Resolves once the group's pool has every buffered event sent and answered (or none of its listeners
   * can take one), or after `withinMs`: at shutdown a log forwarder gets the programs' last output
   * before it is stopped. True when delivered.
   */
  delivered(group: string, withinMs: number): Promise<boolean> {
    const pool = this.pools.get(group);
    if (pool === undefined || pool.delivered) return Promise.resolve(true);
    const deadline = Date.now() + withinMs;
    return new Promise((resolve) => {
      // A pool has no "sent everything" event of its own; a short poll costs nothing during a shutdown.
      const check = (): void => {
        if (pool.delivered) resolve(true);
        else if (Date.now() >= deadline) resolve(false);
        else setTimeout(check, 20).unref();
      };
      check();
    });
  }

  /** The protocol state of a listener process (undefined for a program). */
  listenerState(process: ListenerProcess): ListenerState | undefined {
    return this.pools.get(process.config.group)?.listenerState(process);
  }

  dispose(): void {
    this.stopTicks?.();
    this.stopTicks = null;
  }
}
