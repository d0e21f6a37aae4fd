// An `[eventlistener:x]` pool (supervisor/process.py EventListenerPool) and the listener protocol
// on each of its processes' stdout (dispatchers.py PEventListenerDispatcher), ported step by step:
// the same buffer rule, the same states and the same log lines.
import type { MainLog } from '../main-log.js';
import { ProcessState, type ProcessConfig } from '../types.js';
import { nextGlobalSerial, type EventSubscriber } from './bus.js';
import { EventQueue } from './event-queue.js';
import type { OutputFlow } from './log-output.js';
import { mergeOutputEvents, type SupervisorEvent } from './types.js';

/** The listener's states (supervisor/states.py EventListenerStates). */
export type ListenerState = 'READY' | 'BUSY' | 'ACKNOWLEDGED' | 'UNKNOWN';

/** What the pool needs of a process (ManagedProcess has it). */
export interface ListenerProcess {
  readonly config: ProcessConfig;
  readonly state: ProcessState;
  /** False when the stdin pipe is closed (supervisord's EPIPE). Pieces go out in order, as one write. */
  writeStdin(data: Buffer | readonly Buffer[]): boolean;
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
 * The byte bounds of a pool's buffer (README "event listeners"). Output is held at its source (the
 * program's pipe is not read) while the buffer holds `holdBytes` or more and a listener is making
 * progress, and read again below `resumeBytes`; so a fast program goes at its listeners' pace and
 * loses nothing. A listener that answers no OK for `stallMs` while output is held (hung, or its own
 * output stuck) releases the programs: then `maxBytes`, like buffer_size, discards the oldest event
 * with supervisord's overflow line, and no program waits on a listener that does not move.
 */
export interface PoolByteBounds {
  holdBytes: number;
  resumeBytes: number;
  maxBytes: number;
  stallMs: number;
}

export const DEFAULT_POOL_BYTE_BOUNDS: PoolByteBounds = {
  holdBytes: 1024 * 1024,
  resumeBytes: 256 * 1024,
  maxBytes: 4 * 1024 * 1024,
  stallMs: 10_000,
};

export interface PoolOptions {
  /** The pool (group) name: `pool:` in the header. */
  name: string;
  bufferSize: number;
  /** `[supervisord] identifier`: `server:` in the header. */
  identifier: string;
  log: PoolLog;
  bounds?: Partial<PoolByteBounds>;
}

/** Process states in which a listener may yet answer (its pool may hold output for it). */
const ALIVE: ReadonlySet<ProcessState> = new Set([ProcessState.STARTING, ProcessState.RUNNING]);

export class EventListenerPool implements EventSubscriber {
  readonly name: string;
  private readonly bufferSize: number;
  private readonly identifier: string;
  private readonly log: PoolLog;
  private readonly buffer = new EventQueue();
  private serial = -1;
  private readonly listeners = new Map<ListenerProcess, Listener>();
  private readonly bounds: PoolByteBounds;
  private bytes = 0;
  /** Sources not read because of this pool's backlog. */
  private readonly held = new Set<OutputFlow>();
  /** No OK for stallMs while holding: hold nothing until the next OK. */
  private stalled = false;
  private progressAt = 0;
  private stallTimer: NodeJS.Timeout | null = null;

  constructor(options: PoolOptions) {
    this.name = options.name;
    this.bufferSize = options.bufferSize;
    this.identifier = options.identifier;
    this.log = options.log;
    this.bounds = { ...DEFAULT_POOL_BYTE_BOUNDS, ...options.bounds };
  }

  /** The pool's processes, in the group's order (the order events are offered to them). */
  addListener(process: ListenerProcess): void {
    this.listeners.set(process, new Listener(process));
  }

  listenerState(process: ListenerProcess): ListenerState | undefined {
    return this.listeners.get(process)?.state;
  }

  /**
   * Every buffered event sent and answered and no program's output held back, or no listener left that could take one (alive and
   * speaking the protocol). Shutdown waits for this before stopping the pool's listeners.
   */
  get delivered(): boolean {
    // A STARTING listener is sent events once RUNNING (startsecs): worth waiting for, within the bound.
    const able = [...this.listeners.values()].filter((listener) => ALIVE.has(listener.process.state) && listener.state !== 'UNKNOWN');
    if (able.length === 0) return true;
    // A held source still has output in its pipe, to be read and sent once released.
    return this.buffer.length === 0 && this.held.size === 0 && able.every((listener) => listener.event === null);
  }

  /** Events waiting for a listener. */
  get buffered(): number {
    return this.buffer.length;
  }

  /** Payload bytes of the events waiting. */
  get bufferedBytes(): number {
    return this.bytes;
  }

  /** Sources currently not read because of this pool. */
  get holding(): number {
    return this.held.size;
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
    this.releaseIfNobodyAnswers();
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

  /**
   * supervisord's _acceptEvent: serials, then the buffer rule (full: the oldest is discarded), here
   * by count (buffer_size) and by bytes (bounds.maxBytes); then the source is held if we are behind.
   */
  accept(event: SupervisorEvent, head = false): void {
    if (!head && this.mergeOutput(event)) {
      this.discardOverflow(0, 1);
      this.holdIfBehind(event);
      return;
    }
    if (event.serial === undefined) event.serial = nextGlobalSerial();
    if (!event.poolSerials.has(this.name)) {
      this.serial += 1;
      event.poolSerials.set(this.name, this.serial);
    } else if (this.log.enabled('debug')) {
      this.log.debug(`rebuffering event ${event.serial} for pool ${this.name} (buf size=${this.buffer.length}, max=${this.bufferSize})`);
    }
    if (this.buffer.length >= this.bufferSize) this.discardOldest();
    this.discardOverflow(event.bytes, 0);
    event.bufferedIn += 1;
    this.bytes += event.bytes;
    if (head) this.buffer.unshift(event);
    else this.buffer.push(event);
    if (!head) {
      this.holdIfBehind(event);
      this.dispatchIfCapable();
    }
  }

  private discardOldest(): void {
    const discarded = this.take();
    if (discarded !== undefined) this.log.error(`pool ${this.name} event buffer overflowed, discarding event ${discarded.serial}`);
    this.releaseIfCaughtUp();
  }

  /** The byte bound: the oldest go (with the overflow line) until `incoming` fits, keeping `keep` events. */
  private discardOverflow(incoming: number, keep: number): void {
    while (this.buffer.length > keep && this.bytes + incoming > this.bounds.maxBytes) this.discardOldest();
  }

  /** The oldest event out of the buffer (for a listener, or discarded). */
  private take(): SupervisorEvent | undefined {
    const event = this.buffer.shift();
    if (event === undefined) return undefined;
    event.bufferedIn -= 1;
    this.bytes -= event.bytes;
    return event;
  }

  /** Below resumeBytes again: read the held sources (checked after a dispatch pass, not mid-pass). */
  private releaseIfCaughtUp(): void {
    if (this.held.size > 0 && this.bytes <= this.bounds.resumeBytes) this.releaseAll();
  }

  // --- holding sources (backpressure) ----------------------------------------------------

  /** Some listener may still answer: alive and speaking the protocol. */
  private someoneAnswers(): boolean {
    for (const listener of this.listeners.values()) {
      if (ALIVE.has(listener.process.state) && listener.state !== 'UNKNOWN') return true;
    }
    return false;
  }

  private holdIfBehind(event: SupervisorEvent): void {
    const flow = event.output?.flow;
    if (flow === undefined || this.bytes < this.bounds.holdBytes || this.held.has(flow)) return;
    if (this.stalled || !this.someoneAnswers()) return;
    if (this.held.size === 0) {
      this.progressAt = Date.now();
      this.armStallTimer(this.bounds.stallMs);
    }
    this.held.add(flow);
    flow.hold(this);
  }

  private armStallTimer(ms: number): void {
    this.stallTimer = setTimeout(() => {
      this.stallTimer = null;
      if (this.held.size === 0) return;
      const quiet = Date.now() - this.progressAt;
      if (quiet < this.bounds.stallMs) {
        this.armStallTimer(this.bounds.stallMs - quiet);
        return;
      }
      this.stalled = true;
      this.log.warn(`pool ${this.name}: no event processed for ${Math.round(quiet / 1000)} s, reading the programs' output again (the buffer overflow rule applies)`);
      this.releaseAll();
    }, ms);
    this.stallTimer.unref();
  }

  private releaseAll(): void {
    if (this.stallTimer !== null) clearTimeout(this.stallTimer);
    this.stallTimer = null;
    const flows = [...this.held];
    this.held.clear();
    for (const flow of flows) flow.release(this);
  }

  private releaseIfNobodyAnswers(): void {
    if (this.held.size > 0 && !this.someoneAnswers()) this.releaseAll();
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
    const before = last.bytes;
    const merged = mergeOutputEvents(last, event);
    if (merged === null) return false;
    if (merged !== last) {
      merged.serial = last.serial;
      for (const [pool, serial] of last.poolSerials) merged.poolSerials.set(pool, serial);
      last.bufferedIn -= 1;
      merged.bufferedIn += 1;
      this.buffer.replaceLast(merged);
    }
    this.bytes += merged.bytes - before;
    return true;
  }

  /** Forget every listener (the group is removed); what it held is read again. */
  dispose(): void {
    this.listeners.clear();
    this.releaseAll();
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
      const event = this.take();
      if (event === undefined) {
        this.releaseIfCaughtUp();
        return;
      }
      if (!this.dispatchEvent(event)) {
        // No listener can take it: back to the front, and stop trying.
        this.accept(event, true);
        this.releaseIfCaughtUp();
        return;
      }
    }
  }

  private dispatchEvent(event: SupervisorEvent): boolean {
    const poolSerial = event.poolSerials.get(this.name) ?? 0;
    for (const listener of this.listeners.values()) {
      if (listener.process.state !== ProcessState.RUNNING || listener.state !== 'READY') continue;
      const body = event.body();
      const header = Buffer.from(
        `ver:3.0 server:${this.identifier} serial:${event.serial ?? 0} pool:${this.name} poolserial:${poolSerial} ` +
          `eventname:${event.type} len:${body.characters}\n`,
      );
      // The pieces as they are, in one write (writev): no joined copy of up to 128 KiB per event, whose
      // garbage a fast writer's output would pile up faster than the collector frees it.
      if (!listener.process.writeStdin([header, ...body.parts])) {
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
      this.progressAt = Date.now();
      this.stalled = false;
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
      this.releaseIfNobodyAnswers();
      this.log.warn(
        `${listener.name}: has entered the UNKNOWN state and will no longer receive events, this usually indicates the process violated the eventlistener protocol`,
      );
    }
  }
}
