// supervisord's event types (supervisor/events.py EventTypes) and their payloads, text for text.
import { ProcessState } from '../types.js';
import { codePoints, LogOutput, type LogText, type OutputFlow } from './log-output.js';

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

/** An event's payload as the pools send it: its byte pieces and its length in characters (`len:`). */
export interface EventBody {
  parts: Buffer[];
  bytes: number;
  characters: number;
}

/**
 * One event as the pools buffer it. `serial` is given by the first pool that accepts it (one
 * counter for the whole supervisord), `poolSerials` by each pool. A PROCESS_LOG event keeps its
 * output as bytes (LogOutput); any other payload is rendered once, when first needed.
 */
export class SupervisorEvent {
  serial: number | undefined;
  readonly poolSerials = new Map<string, number>();
  /** Sent to a listener at least once (a pool no longer merges output into it). */
  sent = false;
  /** How many pools' buffers hold it: a pool merges into it in place only while it is the only one. */
  bufferedIn = 0;
  private rendered: EventBody | undefined;

  constructor(
    readonly type: EventTypeName,
    private readonly render: () => string,
    /** PROCESS_LOG output (bytes); what a pool may merge while it waits when output.key is set. */
    readonly output?: LogOutput,
  ) {}

  /** The payload as text (tests, debugging; the pools send body()). */
  payload(): string {
    return this.output === undefined ? this.render() : this.output.text();
  }

  /** Payload bytes, what the pools' byte bound counts. */
  get bytes(): number {
    return this.body().bytes;
  }

  body(): EventBody {
    if (this.output !== undefined) return { parts: this.output.parts(), bytes: this.output.bytes, characters: this.output.characters };
    if (this.rendered === undefined) {
      const text = this.render();
      const bytes = Buffer.from(text);
      this.rendered = { parts: [bytes], bytes: bytes.length, characters: codePoints(text) };
    }
    return this.rendered;
  }
}

export type Channel = 'stdout' | 'stderr';

/**
 * `earlier` with `later`'s output appended (same stream, within MERGED_OUTPUT_LIMIT), or null. In
 * place when only the caller's pool holds `earlier`; otherwise a new event (the caller copies the
 * serials), so another pool's copy stays as it was.
 */
export function mergeOutputEvents(earlier: SupervisorEvent, later: SupervisorEvent): SupervisorEvent | null {
  const a = earlier.output;
  const b = later.output;
  if (a === undefined || b === undefined || earlier.sent || !a.canTake(b)) return null;
  if (earlier.bufferedIn <= 1) {
    a.take(b);
    return earlier;
  }
  const merged = a.copy();
  merged.take(b);
  return new SupervisorEvent(earlier.type, () => merged.text(), merged);
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
 * `flow`: the pipe it was read from, which a pool holds while its listeners are behind.
 */
export function processLogEvent(
  process: EventProcess,
  pid: number,
  channel: Channel,
  data: string | LogText,
  wholeRead = false,
  flow?: OutputFlow,
): SupervisorEvent {
  const type = channel === 'stdout' ? 'PROCESS_LOG_STDOUT' : 'PROCESS_LOG_STDERR';
  const header = `processname:${process.name} groupname:${process.group} pid:${pid} channel:${channel}\n`;
  const text = typeof data === 'string' ? { data: Buffer.from(data), characters: codePoints(data) } : data;
  const key = wholeRead ? `${process.group}:${process.name}:${pid}:${channel}` : null;
  const output = new LogOutput(key, header, text, flow);
  return new SupervisorEvent(type, () => output.text(), output);
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
  return codePoints(payload);
}
