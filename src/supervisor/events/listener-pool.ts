// An `[eventlistener:x]` pool (supervisor/process.py EventListenerPool) and the listener protocol
// on each of its processes' stdout (dispatchers.py PEventListenerDispatcher), ported step by step:
// the same buffer rule, the same states and the same log lines.
import type { MainLog } from '../main-log.js';
import { ProcessState, type ProcessConfig } from '../types.js';
import { nextGlobalSerial, type EventSubscriber } from './bus.js';
import { mergeOutputEvents, payloadLength, type SupervisorEvent } from './types.js';

/** The listener's states (supervisor/states.py EventListenerStates). */
export type ListenerState = 'READY' | 'BUSY' | 'ACKNOWLEDGED' | 'UNKNOWN';

/** What the pool needs of a process (ManagedProcess has it). */
export interface ListenerProcess {
  readonly config: ProcessConfig;
  readonly state: ProcessState;
  /** False when the stdin pipe is closed (supervisord's EPIPE). */
  writeStdin(chars: string): boolean;
}

export type PoolLog = Pick<MainLog, 'debug' | 'warn' | 'error' | 'enabled'>;

const READY_TOKEN = Buffer.from('READY\n');
const RESULT_TOKEN_START_LENGTH = 'RESULT '.length;
const EMPTY = Buffer.alloc(0);

/** Python's int() of bytes: blanks around, a sign, digits with single underscores. */
function pythonInt(bytes: Buffer): number | null {
  const text = bytes.toString('latin1');
  if (!/^\s*[+-]?\d+(?:_\d+)*\s*$/.test(text)) return null;
  return Number(text.trim().replace(/_/g, ''));
}

/** One listener process as the pool tracks it. */
class Listener {
  state: ListenerState = 'ACKNOWLEDGED';
  /** The event sent and not yet answered. */
  event: SupervisorEvent | null = null;
  stateBuffer: Buffer = EMPTY;
  result: Buffer = EMPTY;
  resultLength: number | null = null;

  constructor(readonly process: ListenerProcess) {}

  get name(): string {
    return this.process.config.name;
  }
}

/**
 * A fixed-capacity FIFO with cheap removal at both ends (the pool's event_buffer: oldest first,
 * rejected events go back to the front).
 */
class EventQueue {
  private items: (SupervisorEvent | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  shift(): SupervisorEvent | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head += 1;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  push(event: SupervisorEvent): void {
    this.items.push(event);
  }

  last(): SupervisorEvent | undefined {
    return this.head < this.items.length ? this.items[this.items.length - 1] : undefined;
  }

  replaceLast(event: SupervisorEvent): void {
    this.items[this.items.length - 1] = event;
  }

  unshift(event: SupervisorEvent): void {
    if (this.head > 0) {
      this.head -= 1;
      this.items[this.head] = event;
    } else {
      this.items.unshift(event);
    }
  }
}

export interface PoolOptions {
  /** The pool (group) name: `pool:` in the header. */
  name: string;
  bufferSize: number;
  /** `[supervisord] identifier`: `server:` in the header. */
  identifier: string;
  log: PoolLog;
}

export class EventListenerPool implements EventSubscriber {
  readonly name: string;
  private readonly bufferSize: number;
  private readonly identifier: string;
  private readonly log: PoolLog;
  private readonly buffer = new EventQueue();
  private serial = -1;
  private readonly listeners = new Map<ListenerProcess, Listener>();

  constructor(options: PoolOptions) {
    this.name = options.name;
    this.bufferSize = options.bufferSize;
    this.identifier = options.identifier;
    this.log = options.log;
  }

  /** The pool's processes, in the group's order (the order events are offered to them). */
  addListener(process: ListenerProcess): void {
    this.listeners.set(process, new Listener(process));
  }

  listenerState(process: ListenerProcess): ListenerState | undefined {
    return this.listeners.get(process)?.state;
  }

  /** Events waiting for a listener. */
  get buffered(): number {
    return this.buffer.length;
  }

  /** A new child: its protocol starts over in ACKNOWLEDGED (supervisord makes a new dispatcher). */
  listenerSpawned(process: ListenerProcess): void {
    const listener = this.listeners.get(process);
    if (!listener) return;
    listener.state = 'ACKNOWLEDGED';
    listener.event = null;
    listener.stateBuffer = EMPTY;
    listener.result = EMPTY;
    listener.resultLength = null;
  }

  /** The child is gone: an event it had not answered is rejected, so it is sent again (finish()). */
  listenerExited(process: ListenerProcess): void {
    const listener = this.listeners.get(process);
    if (!listener || listener.event === null) return;
    const event = listener.event;
    listener.event = null;
    this.rejected(event);
  }

  /** A listener reached RUNNING: only RUNNING listeners are sent events. */
  listenerRunning(): void {
    // After the state change is logged (`success: …`), as supervisord dispatches on its next pass.
    queueMicrotask(() => this.dispatchIfCapable());
  }

  /** The listener's stdout, as read. */
  listenerOutput(process: ListenerProcess, data: Buffer): void {
    const listener = this.listeners.get(process);
    if (!listener || data.length === 0) return;
    listener.stateBuffer = listener.stateBuffer.length === 0 ? data : Buffer.concat([listener.stateBuffer, data]);
    this.handleStateChange(listener);
    // supervisord dispatches from its main loop, after the whole read is handled.
    this.dispatchIfCapable();
  }

  /** supervisord's _acceptEvent: serials, then the buffer rule (full: the oldest is discarded). */
  accept(event: SupervisorEvent, head = false): void {
    if (!head && this.mergeOutput(event)) return;
    if (event.serial === undefined) event.serial = nextGlobalSerial();
    if (!event.poolSerials.has(this.name)) {
      this.serial += 1;
      event.poolSerials.set(this.name, this.serial);
    } else if (this.log.enabled('debug')) {
      this.log.debug(`rebuffering event ${event.serial} for pool ${this.name} (buf size=${this.buffer.length}, max=${this.bufferSize})`);
    }
    if (this.buffer.length >= this.bufferSize) {
      const discarded = this.buffer.shift();
      if (discarded !== undefined) this.log.error(`pool ${this.name} event buffer overflowed, discarding event ${discarded.serial}`);
    }
    if (head) this.buffer.unshift(event);
    else this.buffer.push(event);
    if (!head) this.dispatchIfCapable();
  }

  /**
   * Output of a stream waiting behind output of the same stream joins it, up to supervisord's read
   * size: when listeners fall behind a fast writer, supervisord's own reads grow the same way (it
   * reads once per main-loop pass), so a fast program's output fits the buffer instead of
   * overflowing it line by line. The merged event keeps the earlier one's serials.
   */
  private mergeOutput(event: SupervisorEvent): boolean {
    const last = this.buffer.last();
    if (last === undefined) return false;
    const merged = mergeOutputEvents(last, event);
    if (merged === null) return false;
    merged.serial = last.serial;
    for (const [pool, serial] of last.poolSerials) merged.poolSerials.set(pool, serial);
    this.buffer.replaceLast(merged);
    return true;
  }

  /** Forget every listener (the group is removed). */
  dispose(): void {
    this.listeners.clear();
  }

  // --- dispatch (EventListenerPool.transition / dispatch / _dispatchEvent) ------------------

  private dispatchIfCapable(): void {
    for (const listener of this.listeners.values()) {
      if (listener.process.state === ProcessState.RUNNING && listener.state === 'READY') {
        this.dispatch();
        return;
      }
    }
  }

  private dispatch(): void {
    for (;;) {
      const event = this.buffer.shift();
      if (event === undefined) return;
      if (!this.dispatchEvent(event)) {
        // No listener can take it: back to the front, and stop trying.
        this.accept(event, true);
        return;
      }
    }
  }

  private dispatchEvent(event: SupervisorEvent): boolean {
    const poolSerial = event.poolSerials.get(this.name) ?? 0;
    for (const listener of this.listeners.values()) {
      if (listener.process.state !== ProcessState.RUNNING || listener.state !== 'READY') continue;
      const payload = event.payload();
      const envelope =
        `ver:3.0 server:${this.identifier} serial:${event.serial ?? 0} pool:${this.name} poolserial:${poolSerial} ` +
        `eventname:${event.type} len:${payloadLength(payload)}\n${payload}`;
      if (!listener.process.writeStdin(envelope)) {
        this.log.debug(`epipe occurred while sending event ${event.serial} to listener ${listener.name}, listener state unchanged`);
        continue;
      }
      listener.state = 'BUSY';
      listener.event = event;
      event.sent = true;
      if (this.log.enabled('debug')) this.log.debug(`event ${event.serial} sent to listener ${listener.name}`);
      return true;
    }
    return false;
  }

  private rejected(event: SupervisorEvent): void {
    this.accept(event, true);
    this.dispatchIfCapable();
  }

  // --- the protocol (PEventListenerDispatcher.handle_listener_state_change) -----------------

  private handleStateChange(listener: Listener): void {
    while (listener.stateBuffer.length > 0) {
      const data = listener.stateBuffer;
      switch (listener.state) {
        case 'UNKNOWN':
          // A fatal state: everything it says is ignored until it is restarted.
          listener.stateBuffer = EMPTY;
          return;
        case 'ACKNOWLEDGED':
          if (data.length < READY_TOKEN.length) return;
          if (data.subarray(0, READY_TOKEN.length).equals(READY_TOKEN)) {
            this.changeState(listener, 'READY');
            listener.stateBuffer = data.subarray(READY_TOKEN.length);
          } else {
            this.changeState(listener, 'UNKNOWN');
            listener.stateBuffer = EMPTY;
          }
          listener.event = null;
          break;
        case 'READY':
          // Spurious data from a listener waiting for an event: supervisord is strict about it.
          this.changeState(listener, 'UNKNOWN');
          listener.stateBuffer = EMPTY;
          listener.event = null;
          return;
        case 'BUSY':
          if (listener.resultLength === null) {
            const newline = data.indexOf(0x0a);
            if (newline === -1) return;
            const resultLine = data.subarray(0, newline);
            listener.stateBuffer = data.subarray(newline + 1);
            const length = pythonInt(resultLine.subarray(RESULT_TOKEN_START_LENGTH));
            if (length === null || length < 0) {
              this.log.warn(`${listener.name}: bad result line: '${resultLine.toString('utf8')}'`);
              this.changeState(listener, 'UNKNOWN');
              listener.stateBuffer = EMPTY;
              const event = listener.event;
              listener.event = null;
              if (event !== null) this.rejected(event);
              return;
            }
            listener.resultLength = length;
          } else {
            let needed = listener.resultLength - listener.result.length;
            if (needed > 0) {
              const taken = data.subarray(0, needed);
              listener.result = listener.result.length === 0 ? taken : Buffer.concat([listener.result, taken]);
              listener.stateBuffer = data.subarray(taken.length);
              needed = listener.resultLength - listener.result.length;
            }
            if (needed === 0) {
              const result = listener.result;
              listener.result = EMPTY;
              listener.resultLength = null;
              this.handleResult(listener, result);
            }
          }
          break;
      }
    }
  }

  /** supervisord's default_handler: `OK` is processed, anything else rejects the event. */
  private handleResult(listener: Listener, result: Buffer): void {
    const event = listener.event;
    listener.event = null;
    if (result.toString('latin1') === 'OK') {
      if (this.log.enabled('debug')) this.log.debug(`${listener.name}: event was processed`);
      this.changeState(listener, 'ACKNOWLEDGED');
      return;
    }
    this.log.warn(`${listener.name}: event was rejected`);
    this.changeState(listener, 'ACKNOWLEDGED');
    if (event !== null) this.rejected(event);
  }

  private changeState(listener: Listener, to: ListenerState): void {
    const from = listener.state;
    if (this.log.enabled('debug')) this.log.debug(`${listener.name}: ${from} -> ${to}`);
    listener.state = to;
    if (to === 'UNKNOWN') {
      this.log.warn(
        `${listener.name}: has entered the UNKNOWN state and will no longer receive events, this usually indicates the process violated the eventlistener protocol`,
      );
    }
  }
}
