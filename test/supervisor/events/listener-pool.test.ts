// The pool and the listener protocol as logic (a stand-in process records what is written to its
// stdin); the same behaviour against real listener processes is in events.test.ts.
import { describe, expect, it } from 'vitest';
import { EventListenerPool, type ListenerProcess, type OutputFlow, type PoolByteBounds, type PoolLog } from '../../../src/supervisor/events/index.js';
import { waitFor } from '../../support/wait.js';
import { EventSystem, processLogEvent, SupervisorEvent } from '../../../src/supervisor/events/index.js';
import { ProcessState } from '../../../src/supervisor/types.js';
import { processConfig } from '../fixtures.js';

class StandInListener implements ListenerProcess {
  readonly config;
  state = ProcessState.RUNNING;
  readonly written: string[] = [];
  stdinOpen = true;
  constructor(name: string) {
    this.config = { ...processConfig(name, ['x']), group: 'pool', eventListener: true };
  }
  writeStdin(data: Buffer | readonly Buffer[]): boolean {
    if (!this.stdinOpen) return false;
    this.written.push(Buffer.isBuffer(data) ? data.toString() : Buffer.concat(data).toString());
    return true;
  }
}

interface Logged {
  level: string;
  message: string;
}

function recordingLog(): PoolLog & { lines: Logged[] } {
  const lines: Logged[] = [];
  return {
    lines,
    enabled: () => true,
    debug: (message: string) => lines.push({ level: 'debug', message }),
    warn: (message: string) => lines.push({ level: 'warn', message }),
    error: (message: string) => lines.push({ level: 'error', message }),
  };
}

let counter = 0;
function event(text = `e${counter++}`): SupervisorEvent {
  return new SupervisorEvent('REMOTE_COMMUNICATION', () => `type:t\n${text}`);
}

function setup(bufferSize = 10, listeners = 1, bounds: Partial<PoolByteBounds> = {}) {
  const log = recordingLog();
  const pool = new EventListenerPool({ name: 'pool', bufferSize, identifier: 'supervisor', log, bounds });
  const processes = Array.from({ length: listeners }, (_, i) => new StandInListener(`l${i}`));
  for (const process of processes) pool.addListener(process);
  const say = (process: StandInListener, text: string): void => pool.listenerOutput(process, Buffer.from(text));
  const bodies = (process: StandInListener): string[] => process.written.map((w) => w.slice(w.indexOf('\n') + 1));
  return { log, pool, processes, say, bodies };
}

describe('EventListenerPool', () => {
  it('sends nothing before READY, then one event at a time with the header supervisord writes', () => {
    const { pool, processes, say } = setup();
    const [listener] = processes as [StandInListener];
    const first = event('one');
    pool.accept(first);
    pool.accept(event('two'));
    expect(listener.written).toEqual([]);
    expect(pool.listenerState(listener)).toBe('ACKNOWLEDGED');
    say(listener, 'READY\n');
    expect(listener.written).toHaveLength(1);
    expect(listener.written[0]).toBe(
      `ver:3.0 server:supervisor serial:${first.serial} pool:pool poolserial:0 eventname:REMOTE_COMMUNICATION len:10\ntype:t\none`,
    );
    expect(pool.listenerState(listener)).toBe('BUSY');
    // The result may come in pieces, with READY in the same read.
    say(listener, 'RESULT 2');
    say(listener, '\nO');
    expect(listener.written).toHaveLength(1);
    say(listener, 'KREADY\n');
    expect(listener.written).toHaveLength(2);
    expect(listener.written[1]).toMatch(/poolserial:1 eventname:REMOTE_COMMUNICATION len:10\ntype:t\ntwo$/u);
  });

  it('counts len in characters as supervisord (Python 3) does, not bytes', () => {
    const { pool, processes, say } = setup();
    const [listener] = processes as [StandInListener];
    pool.accept(event('é😀'));
    say(listener, 'READY\n');
    expect(listener.written[0]).toContain('len:9\n');
  });

  it('sends a FAILed event again, first, and logs the rejection', () => {
    const { log, pool, processes, say, bodies } = setup();
    const [listener] = processes as [StandInListener];
    pool.accept(event('a'));
    pool.accept(event('b'));
    say(listener, 'READY\n');
    say(listener, 'RESULT 4\nFAILREADY\n');
    say(listener, 'RESULT 2\nOKREADY\n');
    say(listener, 'RESULT 2\nOKREADY\n');
    expect(bodies(listener)).toEqual(['type:t\na', 'type:t\na', 'type:t\nb']);
    expect(log.lines).toContainEqual({ level: 'warn', message: 'l0: event was rejected' });
    expect(listener.written[1]).toContain('serial:'); // same serials when sent again
    expect(listener.written[1]?.split('\n')[0]).toBe(listener.written[0]?.split('\n')[0]);
  });

  it('puts a listener that writes garbage in UNKNOWN for good, and keeps the event for others', () => {
    const { log, pool, processes, say, bodies } = setup(10, 2);
    const [first, second] = processes as [StandInListener, StandInListener];
    say(first, 'READY\n');
    pool.accept(event('x'));
    expect(bodies(first)).toEqual(['type:t\nx']);
    say(first, 'garbage without a result line\n');
    expect(pool.listenerState(first)).toBe('UNKNOWN');
    expect(log.lines).toContainEqual({ level: 'warn', message: "l0: bad result line: 'garbage without a result line'" });
    expect(log.lines.map((l) => l.message)).toContain(
      'l0: has entered the UNKNOWN state and will no longer receive events, this usually indicates the process violated the eventlistener protocol',
    );
    say(first, 'READY\n');
    expect(pool.listenerState(first)).toBe('UNKNOWN');
    say(second, 'READY\n');
    expect(bodies(second)).toEqual(['type:t\nx']);
    expect(first.written).toHaveLength(1);
  });

  it('treats output of a READY listener (nothing asked) as a protocol violation', () => {
    const { pool, processes, say } = setup();
    const [listener] = processes as [StandInListener];
    say(listener, 'READY\nREADY\n');
    expect(pool.listenerState(listener)).toBe('UNKNOWN');
  });

  it('keeps buffer_size events, discarding the oldest with supervisord\'s log line', () => {
    const { log, pool, processes, say, bodies } = setup(3);
    const [listener] = processes as [StandInListener];
    const events = ['1', '2', '3', '4', '5'].map((text) => event(text));
    for (const e of events) pool.accept(e);
    expect(pool.buffered).toBe(3);
    const overflow = log.lines.filter((l) => l.level === 'error').map((l) => l.message);
    expect(overflow).toEqual([
      `pool pool event buffer overflowed, discarding event ${events[0]?.serial}`,
      `pool pool event buffer overflowed, discarding event ${events[1]?.serial}`,
    ]);
    say(listener, 'READY\n');
    say(listener, 'RESULT 2\nOKREADY\n');
    say(listener, 'RESULT 2\nOKREADY\n');
    expect(bodies(listener)).toEqual(['type:t\n3', 'type:t\n4', 'type:t\n5']);
  });

  it('sends the event a listener died with again, to the restarted listener', async () => {
    const { pool, processes, say, bodies } = setup();
    const [listener] = processes as [StandInListener];
    say(listener, 'READY\n');
    pool.accept(event('lost'));
    listener.state = ProcessState.EXITED;
    pool.listenerExited(listener);
    pool.accept(event('later'));
    listener.state = ProcessState.STARTING;
    pool.listenerSpawned(listener);
    say(listener, 'READY\n');
    expect(listener.written).toHaveLength(1); // still STARTING: only RUNNING listeners get events
    listener.state = ProcessState.RUNNING;
    pool.listenerRunning();
    await Promise.resolve();
    expect(bodies(listener)).toEqual(['type:t\nlost', 'type:t\nlost']);
    say(listener, 'RESULT 2\nOKREADY\n');
    expect(bodies(listener)).toEqual(['type:t\nlost', 'type:t\nlost', 'type:t\nlater']);
  });

  it('leaves the listener READY when its stdin is closed (EPIPE) and keeps the event', () => {
    const { pool, processes, say } = setup();
    const [listener] = processes as [StandInListener];
    listener.stdinOpen = false;
    say(listener, 'READY\n');
    pool.accept(event());
    expect(pool.listenerState(listener)).toBe('READY');
    expect(pool.buffered).toBe(1);
  });

  it('merges output of one stream waiting behind a busy listener (whole reads only, up to 128 KiB)', () => {
    const { log, pool, processes, say, bodies } = setup(2);
    const [listener] = processes as [StandInListener];
    const program = { name: 'p', group: 'p' };
    say(listener, 'READY\n');
    pool.accept(processLogEvent(program, 7, 'stdout', 'first\n', true));
    for (let i = 0; i < 100; i += 1) pool.accept(processLogEvent(program, 7, 'stdout', `line ${i}\n`, true));
    pool.accept(processLogEvent(program, 7, 'stderr', 'other stream\n', true));
    pool.accept(processLogEvent(program, 7, 'stderr', 'capture piece\n', false));
    expect(log.lines.filter((l) => l.level === 'error').map((l) => l.message)).toHaveLength(1); // 3 events for 2 places
    say(listener, 'RESULT 2\nOKREADY\n');
    say(listener, 'RESULT 2\nOKREADY\n');
    expect(bodies(listener)[0]).toBe('processname:p groupname:p pid:7 channel:stdout\nfirst\n');
    expect(bodies(listener)[1]).toBe('processname:p groupname:p pid:7 channel:stderr\nother stream\n');
    expect(bodies(listener)[2]).toBe('processname:p groupname:p pid:7 channel:stderr\ncapture piece\n');
  });

  it('sends merged output as one event with the first part\'s serials', () => {
    const { pool, processes, say, bodies } = setup(10);
    const [listener] = processes as [StandInListener];
    const program = { name: 'p', group: 'p' };
    say(listener, 'READY\n');
    pool.accept(processLogEvent(program, 7, 'stdout', 'sent at once\n', true));
    const second = processLogEvent(program, 7, 'stdout', 'a\n', true);
    pool.accept(second);
    pool.accept(processLogEvent(program, 7, 'stdout', 'b\n', true));
    pool.accept(processLogEvent(program, 7, 'stdout', 'x'.repeat(2 << 16), true));
    say(listener, 'RESULT 2\nOKREADY\n');
    expect(bodies(listener)[1]).toBe('processname:p groupname:p pid:7 channel:stdout\na\nb\n');
    expect(listener.written[1]).toContain(`serial:${second.serial} `);
    say(listener, 'RESULT 2\nOKREADY\n');
    expect(bodies(listener)[2]?.length).toBe('processname:p groupname:p pid:7 channel:stdout\n'.length + (2 << 16));
  });
});

/** A program's pipe as the pool sees it: who holds it now. */
class RecordingFlow implements OutputFlow {
  readonly holders = new Set<object>();
  holds = 0;
  hold(holder: object): void {
    this.holders.add(holder);
    this.holds += 1;
  }
  release(holder: object): void {
    this.holders.delete(holder);
  }
  get held(): boolean {
    return this.holders.size > 0;
  }
}

describe('EventListenerPool byte bounds and backpressure', () => {
  const program = { name: 'p', group: 'p' };
  const BOUNDS = { holdBytes: 1000, resumeBytes: 300, maxBytes: 4000, stallMs: 60_000 };
  // Alternating channels: consecutive events do not merge, so each one counts on its own.
  const output = (flow: OutputFlow | undefined, i: number, size = 200) =>
    processLogEvent(program, 7, i % 2 === 0 ? 'stdout' : 'stderr', `${String(i).padStart(4, '0')}${'.'.repeat(size - 5)}\n`, true, flow);

  it('holds the source from holdBytes on while a listener works, and reads it again below resumeBytes', () => {
    const { log, pool, processes, say, bodies } = setup(100, 1, BOUNDS);
    const [listener] = processes as [StandInListener];
    const flow = new RecordingFlow();
    say(listener, 'READY\n');
    let i = 0;
    while (!flow.held) pool.accept(output(flow, i++));
    expect(pool.bufferedBytes).toBeGreaterThanOrEqual(BOUNDS.holdBytes);
    expect(pool.holding).toBe(1);
    // Answers drain the buffer; the flow is released only once it is down to resumeBytes.
    while (flow.held) {
      expect(pool.bufferedBytes).toBeGreaterThan(BOUNDS.resumeBytes);
      say(listener, 'RESULT 2\nOKREADY\n');
    }
    expect(pool.bufferedBytes).toBeLessThanOrEqual(BOUNDS.resumeBytes);
    while (pool.buffered > 0) say(listener, 'RESULT 2\nOKREADY\n');
    expect(bodies(listener)).toHaveLength(i);
    expect(log.lines.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('merges a stream\'s output in place and counts its bytes', () => {
    const { pool, processes, say } = setup(10, 1, BOUNDS);
    const [listener] = processes as [StandInListener];
    say(listener, 'READY\n');
    pool.accept(processLogEvent(program, 7, 'stdout', 'sent\n', true));
    const header = 'processname:p groupname:p pid:7 channel:stdout\n'.length;
    pool.accept(processLogEvent(program, 7, 'stdout', 'a\n', true));
    pool.accept(processLogEvent(program, 7, 'stdout', 'é\n', true));
    expect(pool.buffered).toBe(1);
    expect(pool.bufferedBytes).toBe(header + 2 + 3);
  });

  it('discards the oldest beyond maxBytes, with supervisord\'s overflow line, when no listener answers', () => {
    const { log, pool, processes, say } = setup(1000, 1, BOUNDS);
    const [listener] = processes as [StandInListener];
    say(listener, 'garbage\n'); // UNKNOWN: nobody will answer, so nothing is held
    const flow = new RecordingFlow();
    const events = Array.from({ length: 40 }, (_, i) => output(flow, i));
    for (const e of events) pool.accept(e);
    expect(flow.holds).toBe(0);
    expect(pool.bufferedBytes).toBeLessThanOrEqual(BOUNDS.maxBytes);
    const overflow = log.lines.filter((l) => l.level === 'error').map((l) => l.message);
    expect(overflow.length).toBe(40 - pool.buffered);
    expect(overflow[0]).toBe(`pool pool event buffer overflowed, discarding event ${events[0]?.serial}`);
  });

  it('releases what it holds when its listener dies, and when no OK comes for stallMs', async () => {
    const { log, pool, processes, say } = setup(1000, 1, { ...BOUNDS, stallMs: 100 });
    const [listener] = processes as [StandInListener];
    say(listener, 'READY\n');
    const flow = new RecordingFlow();
    let i = 0;
    while (!flow.held) pool.accept(output(flow, i++));
    listener.state = ProcessState.EXITED;
    pool.listenerExited(listener);
    expect(flow.held).toBe(false);

    listener.state = ProcessState.STARTING;
    pool.listenerSpawned(listener);
    listener.state = ProcessState.RUNNING;
    say(listener, 'READY\n');
    pool.listenerRunning();
    await waitFor('the event sent again', () => pool.listenerState(listener) === 'BUSY');
    while (!flow.held) pool.accept(output(flow, i++));
    // The listener never answers: after stallMs the source is read again, and the byte bound applies.
    await waitFor('the stalled pool to release its source', () => !flow.held);
    expect(log.lines).toContainEqual({ level: 'warn', message: expect.stringMatching(/^pool pool: no event processed for \d+ s/u) as string });
    const holds = flow.holds;
    for (let k = 0; k < 40; k += 1) pool.accept(output(flow, i++));
    expect(flow.holds).toBe(holds);
    expect(pool.bufferedBytes).toBeLessThanOrEqual(BOUNDS.maxBytes);
    // An OK is progress again: the next backlog holds the source once more.
    say(listener, 'RESULT 2\nOKREADY\n');
    pool.accept(output(flow, i));
    expect(flow.held).toBe(true);
  });
});

describe('EventSystem: a pool\'s backpressure keys from its config', () => {
  it('holds a program\'s output from the configured backpressure_holdbytes, far below the 1 MiB default', () => {
    const log = recordingLog();
    const system = new EventSystem(log, 'supervisor');
    const listener = new StandInListener('l0');
    const backpressure = { holdBytes: 1000, resumeBytes: 300, maxBytes: 4000, stallMs: 60_000 };
    system.groupAdded({ name: 'pool', priority: -1, processes: [listener.config], eventListener: { bufferSize: 100, events: ['PROCESS_LOG'], backpressure } }, [listener]);
    system.listenerStdout(listener, Buffer.from('READY\n'));
    const program = new StandInListener('p');
    const flow = new RecordingFlow();
    let bytes = 0;
    for (let i = 0; !flow.held && i < 100; i += 1) {
      const data = Buffer.from(`${'.'.repeat(99)}\n`);
      system.logged(program, 7, i % 2 === 0 ? 'stdout' : 'stderr', { data, characters: data.length }, flow);
      bytes += data.length;
    }
    expect(flow.held).toBe(true);
    // The first event went to the listener; the rest waited until holdBytes (with headers) was reached.
    expect(bytes).toBeLessThan(2000);
    system.dispose();
  });
});
