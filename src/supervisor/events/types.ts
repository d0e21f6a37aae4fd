// supervisord's event types (supervisor/events.py EventTypes) and their payloads, text for text.
import { ProcessState } from '../types.js';

/**
 * Every name `events=` accepts, with its parent type. A pool subscribed to a parent receives all
 * of its descendants (supervisord subscribes by isinstance); only concrete types are ever sent.
 */
const PARENT = {
  EVENT: null,
  PROCESS_STATE: 'EVENT',
  PROCESS_STATE_STOPPED: 'PROCESS_STATE',
  PROCESS_STATE_EXITED: 'PROCESS_STATE',
  PROCESS_STATE_STARTING: 'PROCESS_STATE',
  PROCESS_STATE_STOPPING: 'PROCESS_STATE',
  PROCESS_STATE_BACKOFF: 'PROCESS_STATE',
  PROCESS_STATE_FATAL: 'PROCESS_STATE',
  PROCESS_STATE_RUNNING: 'PROCESS_STATE',
  PROCESS_STATE_UNKNOWN: 'PROCESS_STATE',
  PROCESS_COMMUNICATION: 'EVENT',
  PROCESS_COMMUNICATION_STDOUT: 'PROCESS_COMMUNICATION',
  PROCESS_COMMUNICATION_STDERR: 'PROCESS_COMMUNICATION',
  PROCESS_LOG: 'EVENT',
  PROCESS_LOG_STDOUT: 'PROCESS_LOG',
  PROCESS_LOG_STDERR: 'PROCESS_LOG',
  REMOTE_COMMUNICATION: 'EVENT',
  SUPERVISOR_STATE_CHANGE: 'EVENT',
  SUPERVISOR_STATE_CHANGE_RUNNING: 'SUPERVISOR_STATE_CHANGE',
  SUPERVISOR_STATE_CHANGE_STOPPING: 'SUPERVISOR_STATE_CHANGE',
  TICK: 'EVENT',
  TICK_5: 'TICK',
  TICK_60: 'TICK',
  TICK_3600: 'TICK',
  PROCESS_GROUP: 'EVENT',
  PROCESS_GROUP_ADDED: 'PROCESS_GROUP',
  PROCESS_GROUP_REMOVED: 'PROCESS_GROUP',
} as const;

export type EventTypeName = keyof typeof PARENT;

/** The abstract types: never sent themselves, only subscribed to. */
const ABSTRACT: ReadonlySet<EventTypeName> = new Set([
  'EVENT',
  'PROCESS_STATE',
  'PROCESS_COMMUNICATION',
  'PROCESS_LOG',
  'SUPERVISOR_STATE_CHANGE',
  'TICK',
  'PROCESS_GROUP',
]);

export const EVENT_TYPE_NAMES: readonly EventTypeName[] = Object.keys(PARENT) as EventTypeName[];

export function isEventTypeName(name: string): name is EventTypeName {
  return Object.hasOwn(PARENT, name);
}

/** The concrete types a subscription to `names` receives. */
export function concreteTypes(names: readonly EventTypeName[]): Set<EventTypeName> {
  const wanted = new Set(names);
  const out = new Set<EventTypeName>();
  for (const name of EVENT_TYPE_NAMES) {
    if (ABSTRACT.has(name)) continue;
    for (let type: EventTypeName | null = name; type !== null; type = PARENT[type]) {
      if (wanted.has(type)) {
        out.add(name);
        break;
      }
    }
  }
  return out;
}

/**
 * One event as the pools buffer it. `serial` is given by the first pool that accepts it (one
 * counter for the whole supervisord), `poolSerials` by each pool. The payload is rendered once,
 * when first sent.
 */
export class SupervisorEvent {
  serial: number | undefined;
  readonly poolSerials = new Map<string, number>();
  /** Sent to a listener at least once (a pool no longer merges output into it). */
  sent = false;
  private rendered: string | undefined;

  constructor(
    readonly type: EventTypeName,
    private readonly render: () => string,
    /** For PROCESS_LOG output read as a whole (no capture mode): what a pool may merge while it waits. */
    readonly output?: MergeableOutput,
  ) {}

  payload(): string {
    if (this.rendered === undefined) this.rendered = this.render();
    return this.rendered;
  }
}

export type Channel = 'stdout' | 'stderr';

/** The parts of a PROCESS_LOG event that make it mergeable with the next output of the same stream. */
export interface MergeableOutput {
  /** process, group, pid and channel: only output of one stream is merged. */
  key: string;
  header: string;
  data: string;
}

/**
 * The most output one merged event carries: supervisord's read size (128 KiB), so a merged event is
 * no bigger than what supervisord reads at once when it falls behind a fast writer.
 */
export const MERGED_OUTPUT_LIMIT = 2 << 16;

/** `earlier` and `later` as one PROCESS_LOG event (same stream; `earlier`'s serials, set by the caller). */
export function mergeOutputEvents(earlier: SupervisorEvent, later: SupervisorEvent): SupervisorEvent | null {
  const a = earlier.output;
  const b = later.output;
  if (a === undefined || b === undefined || a.key !== b.key || earlier.sent) return null;
  if (a.data.length + b.data.length > MERGED_OUTPUT_LIMIT) return null;
  const merged: MergeableOutput = { key: a.key, header: a.header, data: a.data + b.data };
  return new SupervisorEvent(earlier.type, () => merged.header + merged.data, merged);
}

/** What a process event says about its process. */
export interface EventProcess {
  name: string;
  group: string;
}

/**
 * PROCESS_STATE_<to>: `processname:x groupname:g from_state:STARTING` plus `tries:N` (STARTING,
 * BACKOFF), `expected:0|1 pid:N` (EXITED) or `pid:N` (RUNNING, STOPPING, STOPPED). The values
 * are those at the time of the change, as supervisord renders them eagerly.
 */
export function processStateEvent(
  process: EventProcess,
  from: ProcessState,
  to: ProcessState,
  details: { tries: number; expected: boolean; pid: number },
): SupervisorEvent {
  const type = `PROCESS_STATE_${ProcessState[to]}` as EventTypeName;
  let text = `processname:${process.name} groupname:${process.group} from_state:${ProcessState[from]}`;
  switch (to) {
    case ProcessState.STARTING:
    case ProcessState.BACKOFF:
      text += ` tries:${details.tries}`;
      break;
    case ProcessState.EXITED:
      text += ` expected:${details.expected ? 1 : 0} pid:${details.pid}`;
      break;
    case ProcessState.RUNNING:
    case ProcessState.STOPPING:
    case ProcessState.STOPPED:
      text += ` pid:${details.pid}`;
      break;
    default:
      break;
  }
  return new SupervisorEvent(type, () => text);
}

/**
 * PROCESS_LOG_STDOUT/STDERR: `processname:x groupname:g pid:N channel:stdout\n<data>`. `wholeRead`:
 * the data is one read of the pipe (not a piece cut out by capture mode), so it may be merged.
 */
export function processLogEvent(process: EventProcess, pid: number, channel: Channel, data: string, wholeRead = false): SupervisorEvent {
  const type = channel === 'stdout' ? 'PROCESS_LOG_STDOUT' : 'PROCESS_LOG_STDERR';
  const header = `processname:${process.name} groupname:${process.group} pid:${pid} channel:${channel}\n`;
  if (!wholeRead) return new SupervisorEvent(type, () => header + data);
  const output: MergeableOutput = { key: `${process.group}:${process.name}:${pid}:${channel}`, header, data };
  return new SupervisorEvent(type, () => header + data, output);
}

/** PROCESS_COMMUNICATION_STDOUT/STDERR: `processname:x groupname:g pid:N\n<captured data>`. */
export function processCommunicationEvent(process: EventProcess, pid: number, channel: Channel, data: string): SupervisorEvent {
  const type = channel === 'stdout' ? 'PROCESS_COMMUNICATION_STDOUT' : 'PROCESS_COMMUNICATION_STDERR';
  return new SupervisorEvent(type, () => `processname:${process.name} groupname:${process.group} pid:${pid}\n${data}`);
}

/** REMOTE_COMMUNICATION: `type:<type>\n<data>` (supervisor.sendRemoteCommEvent). */
export function remoteCommunicationEvent(type: string, data: string): SupervisorEvent {
  return new SupervisorEvent('REMOTE_COMMUNICATION', () => `type:${type}\n${data}`);
}

/** PROCESS_GROUP_ADDED/REMOVED: `groupname:g\n`. */
export function processGroupEvent(which: 'added' | 'removed', group: string): SupervisorEvent {
  return new SupervisorEvent(which === 'added' ? 'PROCESS_GROUP_ADDED' : 'PROCESS_GROUP_REMOVED', () => `groupname:${group}\n`);
}

/** SUPERVISOR_STATE_CHANGE_RUNNING/STOPPING: an empty payload. */
export function supervisorStateEvent(which: 'running' | 'stopping'): SupervisorEvent {
  return new SupervisorEvent(which === 'running' ? 'SUPERVISOR_STATE_CHANGE_RUNNING' : 'SUPERVISOR_STATE_CHANGE_STOPPING', () => '');
}

export const TICK_PERIODS = [5, 60, 3600] as const;
export type TickPeriod = (typeof TICK_PERIODS)[number];

/** TICK_5/60/3600: `when:<start of the period that began, in unix seconds>`. */
export function tickEvent(period: TickPeriod, when: number): SupervisorEvent {
  return new SupervisorEvent(`TICK_${period}`, () => `when:${when}`);
}

/**
 * The `len:` of the header: supervisord (Python 3) counts the characters of the payload, not its
 * bytes, and childutils reads that many characters. Code points, so astral characters count once.
 */
export function payloadLength(payload: string): number {
  let length = payload.length;
  // Only astral characters (surrogate pairs) make code points differ from UTF-16 units.
  if (!/[\uD800-\uDBFF]/.test(payload)) return length;
  for (let i = 0; i < payload.length; i += 1) {
    const code = payload.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < payload.length) {
      const next = payload.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        length -= 1;
        i += 1;
      }
    }
  }
  return length;
}
