// supervisorctl's reply shapes (hand-written parsers of decoded XML-RPC values): what they keep, and how a
// reply of the wrong shape is named (the path of the member, what was expected, what came).
import { describe, expect, it } from 'vitest';
import { configInfoList, intReply, processInfo, processInfoList, reloadReply, ReplyShapeError, stringReply } from '../../../src/supervisor/ctl/replies.js';

const INFO = { name: 'a', group: 'g', state: 20, statename: 'RUNNING', description: 'pid 1, uptime 0:00:01', pid: 1 };

function problem(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof ReplyShapeError) return `${error.path.join('.') || 'value'}: ${error.message}`;
    throw error;
  }
  throw new Error('parsed, expected a ReplyShapeError');
}

describe('reply shapes', () => {
  it('a process info keeps its six members and drops the others', () => {
    expect(processInfo({ ...INFO, spawnerr: '', logfile: '/x' }, [])).toEqual(INFO);
    expect(processInfoList([INFO, INFO], [])).toEqual([INFO, INFO]);
  });

  it('names the member that differs, with its index in a list', () => {
    expect(problem(() => processInfoList([INFO, { ...INFO, pid: '7' }], []))).toBe('1.pid: expected int, received string');
    expect(problem(() => processInfoList([INFO, { ...INFO, statename: undefined }], []))).toBe('1.statename: expected string, received nothing');
    expect(problem(() => processInfoList({ 0: INFO }, []))).toBe('value: expected array, received struct');
    expect(problem(() => processInfo([INFO], []))).toBe('value: expected struct, received array');
    expect(problem(() => processInfo(null, []))).toBe('value: expected struct, received null');
  });

  it('ints are whole numbers, strings and booleans are what they say', () => {
    expect(intReply(3, [])).toBe(3);
    expect(problem(() => intReply(1.5, []))).toBe('value: expected int, received number');
    expect(stringReply('3.0', [])).toBe('3.0');
    expect(problem(() => stringReply(3, []))).toBe('value: expected string, received number');
    const config = { name: 'a', group: 'a', inuse: true, autostart: false, group_prio: 999, process_prio: 999 };
    expect(configInfoList([config], [])).toEqual([config]);
    expect(problem(() => configInfoList([{ ...config, inuse: 1 }], []))).toBe('0.inuse: expected boolean, received number');
  });

  it("reloadConfig's [added, changed, removed] must be three lists of names", () => {
    expect(reloadReply([[['a'], [], ['b']]], [])).toEqual([[['a'], [], ['b']]]);
    expect(problem(() => reloadReply([[['a'], []]], []))).toBe('0: expected array of 3, received array of 2');
    expect(problem(() => reloadReply([[['a'], [2], []]], []))).toBe('0.1.0: expected string, received number');
  });
});
