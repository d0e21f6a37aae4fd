// Capture mode's splitting as logic; events.test.ts checks it end to end against supervisord.
import { describe, expect, it } from 'vitest';
import { CaptureRecorder } from '../../../src/supervisor/events/index.js';

function recorder(maxBytes = 1024) {
  const logged: { text: string; capturing: boolean }[] = [];
  const captured: string[] = [];
  const rec = new CaptureRecorder(maxBytes, {
    log: (data, capturing) => {
      logged.push({ text: data.toString(), capturing });
      return data;
    },
    captured: (data) => captured.push(data.toString()),
  });
  const push = (...chunks: string[]): void => {
    for (const chunk of chunks) rec.push(Buffer.from(chunk));
  };
  return { logged, captured, push };
}

describe('CaptureRecorder', () => {
  it('logs around the tokens and captures what is between them', () => {
    const { logged, captured, push } = recorder();
    push('before <!--XSUPERVISOR:BEGIN-->inside<!--XSUPERVISOR:END--> after the end token, long enough\n');
    expect(captured).toEqual(['inside']);
    expect(logged).toEqual([
      { text: 'before ', capturing: false },
      { text: 'inside', capturing: true },
      { text: ' after the end token, long enough\n', capturing: false },
    ]);
  });

  it('finds tokens split across reads', () => {
    const { captured, logged, push } = recorder();
    push('line one\n<!--XSUPER', 'VISOR:BEGIN-->pay', 'load<!--XSUPERVISOR:E', 'ND-->tail that is long enough\n');
    expect(captured).toEqual(['payload']);
    expect(logged.filter((l) => !l.capturing).map((l) => l.text).join('')).toBe('line one\ntail that is long enough\n');
  });

  it('holds back output no longer than the token it looks for, as supervisord does', () => {
    const { logged, push } = recorder();
    push('short\n');
    expect(logged).toEqual([]);
    push('and now a longer line\n');
    expect(logged.map((l) => l.text).join('')).toBe('short\nand now a longer line\n');
  });

  it('bounds a capture as supervisord\'s BoundIO does: a write past maxBytes drops as many bytes from the front', () => {
    const { captured, push } = recorder(10);
    push(`<!--XSUPERVISOR:BEGIN-->${'A'.repeat(30)}`, `${'B'.repeat(25)}<!--XSUPERVISOR:END-->${'and more output here '.repeat(2)}`);
    expect(captured).toEqual([`${'A'.repeat(5)}${'B'.repeat(25)}`]);
  });
});
