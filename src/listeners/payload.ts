// The payloads of the events our listeners read, parsed once into typed values (supervisor/events.py):
//   PROCESS_LOG_STDOUT/STDERR   `processname:x groupname:g pid:123 channel:stdout\n<data>`
//   PROCESS_STATE_*             `processname:x groupname:g from_state:RUNNING [expected:0 pid:123 | pid:123 | tries:0]`
//   TICK_*                      `when:1201063880`
import { parseTokens, ProtocolError } from './protocol.js';

export interface ProcessLogPayload {
  processname: string;
  groupname: string;
  pid: number;
  channel: 'stdout' | 'stderr';
  data: string;
}

export interface ProcessStatePayload {
  processname: string;
  groupname: string;
  from_state: string;
  /** PROCESS_STATE_EXITED only: whether the exit status is in exitcodes. */
  expected: boolean | null;
  /** 0 when the event carries none (FATAL, BACKOFF, STOPPED...). */
  pid: number;
}

/** `groupname:processname`, or the name alone when both are the same (supervisord's namespec). */
export function namespec(processname: string, groupname: string): string {
  return groupname === '' || groupname === processname ? processname : `${groupname}:${processname}`;
}

function text(tokens: Map<string, string>, key: string, payload: string): string {
  const value = tokens.get(key);
  if (value === undefined) throw new ProtocolError(`payload ${JSON.stringify(payload.slice(0, 200))} has no ${key}`);
  return value;
}

function int(tokens: Map<string, string>, key: string, payload: string): number {
  const value = text(tokens, key, payload);
  if (!/^-?\d+$/.test(value)) throw new ProtocolError(`payload ${key} is not a number: ${JSON.stringify(value)}`);
  return Number(value);
}

export function parseProcessLog(payload: string): ProcessLogPayload {
  const newline = payload.indexOf('\n');
  if (newline === -1) throw new ProtocolError(`log payload without a header line: ${JSON.stringify(payload.slice(0, 200))}`);
  const head = payload.slice(0, newline);
  const tokens = parseTokens(head);
  const channel = text(tokens, 'channel', head);
  if (channel !== 'stdout' && channel !== 'stderr') throw new ProtocolError(`log payload channel ${JSON.stringify(channel)}`);
  return {
    processname: text(tokens, 'processname', head),
    groupname: tokens.get('groupname') ?? '',
    pid: int(tokens, 'pid', head),
    channel,
    data: payload.slice(newline + 1),
  };
}

export function parseProcessState(payload: string): ProcessStatePayload {
  const tokens = parseTokens(payload);
  const expected = tokens.get('expected');
  return {
    processname: text(tokens, 'processname', payload),
    groupname: tokens.get('groupname') ?? '',
    from_state: text(tokens, 'from_state', payload),
    expected: expected === undefined ? null : expected === '1',
    pid: tokens.has('pid') ? int(tokens, 'pid', payload) : 0,
  };
}

/** TICK_5/60/3600: the second the tick stands for. */
export function parseTick(payload: string): number {
  return int(parseTokens(payload), 'when', payload);
}

/** `PROCESS_STATE_EXITED` → `EXITED`. */
export function stateOfEvent(eventname: string): string | null {
  return eventname.startsWith('PROCESS_STATE_') ? eventname.slice('PROCESS_STATE_'.length) : null;
}
