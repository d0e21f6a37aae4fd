// Event type names, subscriptions by parent type, payload texts and the tick arithmetic as logic;
// events.test.ts compares the same against the real supervisord.
import { describe, expect, it } from 'vitest';
import {
  concreteTypes,
  EventSystem,
  isEventTypeName,
  payloadLength,
  processStateEvent,
  timeslice,
  type ListenerProcess,
  type PoolLog,
} from '../../../src/supervisor/events/index.js';
import { ProcessState } from '../../../src/supervisor/types.js';
import { processConfig } from '../fixtures.js';

describe('event types', () => {
  it('expands parent types to the concrete ones supervisord sends', () => {
    expect([...concreteTypes(['TICK'])].sort()).toEqual(['TICK_3600', 'TICK_5', 'TICK_60']);
    expect([...concreteTypes(['PROCESS_LOG', 'REMOTE_COMMUNICATION'])].sort()).toEqual([
      'PROCESS_LOG_STDERR',
      'PROCESS_LOG_STDOUT',
      'REMOTE_COMMUNICATION',
    ]);
    const all = concreteTypes(['EVENT']);
    expect(all.size).toBe(20);
    expect(all.has('PROCESS_STATE')).toBe(false);
    expect(isEventTypeName('PROCESS_STATE_RUNNING')).toBe(true);
    expect(isEventTypeName('process_state_running')).toBe(false);
    expect(isEventTypeName('toString')).toBe(false);
  });

  it('renders PROCESS_STATE payloads with the extra values of each state', () => {
    const process = { name: 'w_01', group: 'workers' };
    const details = { tries: 2, expected: false, pid: 42 };
    const render = (from: ProcessState, to: ProcessState): string => processStateEvent(process, from, to, details).payload();
    expect(render(ProcessState.BACKOFF, ProcessState.STARTING)).toBe('processname:w_01 groupname:workers from_state:BACKOFF tries:2');
    expect(render(ProcessState.RUNNING, ProcessState.EXITED)).toBe('processname:w_01 groupname:workers from_state:RUNNING expected:0 pid:42');
    expect(render(ProcessState.STOPPING, ProcessState.STOPPED)).toBe('processname:w_01 groupname:workers from_state:STOPPING pid:42');
    expect(render(ProcessState.BACKOFF, ProcessState.FATAL)).toBe('processname:w_01 groupname:workers from_state:BACKOFF');
    expect(processStateEvent(process, ProcessState.STOPPING, ProcessState.UNKNOWN, details).type).toBe('PROCESS_STATE_UNKNOWN');
  });

  it('counts payload length in code points', () => {
    expect(payloadLength('abc')).toBe(3);
    expect(payloadLength('é')).toBe(1);
    expect(payloadLength('a😀b')).toBe(3);
  });

  it('computes tick periods as Python timeslice()', () => {
    expect(timeslice(5, 1000.7)).toBe(1000);
    expect(timeslice(5, 1004.99)).toBe(1000);
    expect(timeslice(60, 1796229455.2)).toBe(1796229420);
    expect(timeslice(3600, 7199.9)).toBe(3600);
  });
});

describe('EventSystem', () => {
  it('announces groups, RUNNING and STOPPING (once) to a pool subscribed when its group is added', () => {
    const log: PoolLog = { enabled: () => false, debug: () => undefined, warn: () => undefined, error: () => undefined };
    const system = new EventSystem(log, 'supervisor');
    const written: string[] = [];
    const listener: ListenerProcess = {
      config: { ...processConfig('l', ['x']), eventListener: true },
      state: ProcessState.RUNNING,
      writeStdin: (data) => {
        written.push(Buffer.isBuffer(data) ? data.toString() : Buffer.concat(data).toString());
        return true;
      },
    };
    system.groupAdded({ name: 'before', priority: -5, processes: [] }, []);
    system.groupAdded(
      { name: 'l', priority: -1, processes: [listener.config], eventListener: { bufferSize: 10, events: ['PROCESS_GROUP', 'SUPERVISOR_STATE_CHANGE'] } },
      [listener],
    );
    system.groupAdded({ name: 'after', priority: 999, processes: [] }, []);
    system.supervisorRunning();
    system.supervisorStopping();
    system.supervisorStopping();
    system.groupRemoved('after');
    system.dispose();
    const received = (): string[] => written.map((w) => w.split(' ')[5]?.split('\n')[0] ?? '');
    const answer = (): void => system.listenerStdout(listener, Buffer.from(written.length === 0 ? 'READY\n' : 'RESULT 2\nOKREADY\n'));
    for (let i = 0; i < 6; i += 1) answer();
    expect(received()).toEqual([
      'eventname:PROCESS_GROUP_ADDED',
      'eventname:PROCESS_GROUP_ADDED',
      'eventname:SUPERVISOR_STATE_CHANGE_RUNNING',
      'eventname:SUPERVISOR_STATE_CHANGE_STOPPING',
      'eventname:PROCESS_GROUP_REMOVED',
    ]);
    expect(written[0]).toMatch(/\ngroupname:l\n$/u);
    expect(written[1]).toMatch(/\ngroupname:after\n$/u);
  });
});
