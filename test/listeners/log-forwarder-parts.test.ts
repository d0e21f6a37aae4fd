// Lines longer than one atomic pipe write (PIPE_BUF), on a real FIFO that another process writes
// its own lines to at the same time (supervisord's log lines on the container's stdout): every
// write of the forwarder is one whole part, so the other writer's lines land only between parts,
// and joining a program's `+|` parts with its next ` | ` line gives back each line exactly.
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { formatLine, LogForwarder, PIPE_BUF, splitLine } from '../../src/listeners/index.js';
import { waitFor } from '../support/wait.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Another writer of the same FIFO: short lines like supervisord's, one write each, until killed. */
const OTHER_WRITER = `const fs = require('node:fs');
const fd = fs.openSync(process.argv[1], 'w');
let n = 0;
for (;;) fs.writeSync(fd, '2026-12-07 04:00:00,000 INFO other ' + (n++) + ' ' + 'o'.repeat(60) + '\\n');
`;
const OTHER_LINE = /^2026-12-07 04:00:00,000 INFO other \d+ o{60}$/;

/** The collector's rule: `<program>[ (stderr)] +| ` parts joined with the program's next ` | ` line. */
function collect(lines: string[]): { forwarded: string[]; other: number; torn: string[] } {
  const pending = new Map<string, string>();
  const forwarded: string[] = [];
  const torn: string[] = [];
  let other = 0;
  for (const line of lines) {
    if (OTHER_LINE.test(line)) {
      other += 1;
      continue;
    }
    if (line.startsWith('{"program":"api",')) {
      forwarded.push(line);
      continue;
    }
    const part = /^(api(?: \(stderr\))?) (\+?)\| (.*)$/s.exec(line);
    if (part === null) {
      torn.push(line.slice(0, 120));
      continue;
    }
    const [, key = '', continued, piece = ''] = part;
    const body = (pending.get(key) ?? '') + piece;
    if (continued === '+') pending.set(key, body);
    else {
      pending.delete(key);
      forwarded.push(body.startsWith('{') ? body : `${key} | ${body}`);
    }
  }
  return { forwarded, other, torn };
}

describe('log forwarder: lines longer than an atomic write', () => {
  it('splitLine: parts fit the limit, are cut between UTF-8 characters and join to the line', () => {
    const prefix = Buffer.from('api | ');
    const continued = Buffer.from('api +| ');
    const line = Buffer.from(`api | ${'é'.repeat(3000)}`);
    const parts = splitLine({ prefix, continued }, line, 1000) ?? [];
    expect(parts.length).toBeGreaterThan(6);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(1000);
      expect(part.toString('utf8')).not.toContain('\uFFFD');
    }
    expect(parts.slice(0, -1).every((part) => part.subarray(0, continued.length).equals(continued))).toBe(true);
    expect(parts.at(-1)?.subarray(0, prefix.length).equals(prefix)).toBe(true);
    const joined = parts.map((part, i) => part.subarray(i < parts.length - 1 ? continued.length : prefix.length, part.length - 1).toString('utf8')).join('');
    expect(joined).toBe('é'.repeat(3000));
  });

  // Written from the main loop (non-blocking descriptor, libuv's pool when full), by the writer thread (blocking
  // descriptor) from the first write, or from the main loop until the FIFO is full and by the thread after (as the program).
  for (const mode of ['main loop', 'writer thread', 'main loop, then the thread'] as const) {
  it(`writes each part atomically on a FIFO shared with another writer: nothing torn, every line joins back (${mode})`, async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fwd-parts-'));
    dirs.push(dir);
    const fifo = path.join(dir, 'stdout.fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'inherit'] });
    const chunks: Buffer[] = [];
    reader.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    const readerDone = new Promise((resolve) => reader.once('exit', resolve));
    // Blocks until cat has opened its end (it is already starting).
    const fd = openSync(fifo, constants.O_WRONLY);
    const other = spawn(process.execPath, ['-e', OTHER_WRITER, fifo], { stdio: 'ignore' });
    const otherDone = new Promise((resolve) => other.once('exit', resolve));
    await waitFor('the other writer writing', () => Buffer.concat(chunks).includes('INFO other 100 '));

    const nonBlockingFd = mode === 'writer thread' ? undefined : openSync(`/proc/self/fd/${fd}`, constants.O_WRONLY | constants.O_NONBLOCK);
    const threadFd = mode === 'main loop' ? undefined : openSync(`/proc/self/fd/${fd}`, constants.O_WRONLY);
    const forwarder = new LogForwarder({
      fd,
      ...(nonBlockingFd === undefined ? {} : { nonBlockingFd }),
      ...(threadFd === undefined ? {} : { threadFd }),
      maxQueueBytes: 64 * 1024 * 1024,
      maxLineBytes: 1024 * 1024,
      maxWriteBytes: PIPE_BUF,
      selfName: 'fwd',
    });
    const expected: string[] = [];
    for (let i = 0; i < 300; i += 1) {
      const size = 4000 + ((i * 7919) % 30_000);
      const line =
        i % 3 === 0
          ? JSON.stringify({ seq: i, msg: 'ü'.repeat(size / 2) })
          : i % 3 === 1
            ? `plain ${i} ${'x'.repeat(size)} end`
            : `short ${i}`;
      const channel = i % 5 === 0 ? 'stderr' : 'stdout';
      expected.push(formatLine('api', channel, line));
      forwarder.accept('api', channel, 1, Buffer.from(`${line}\n`));
    }
    await forwarder.drained();
    await forwarder.close();
    other.kill('SIGKILL');
    await otherDone;
    for (const twin of [nonBlockingFd, threadFd]) if (twin !== undefined) closeSync(twin);
    closeSync(fd);
    await readerDone;

    const lines = Buffer.concat(chunks).toString('utf8').split('\n');
    expect(lines.pop()).toBe('');
    const { forwarded, other: otherLines, torn } = collect(lines);
    expect(torn).toEqual([]);
    expect(otherLines).toBeGreaterThan(100);
    expect(forwarded).toEqual(expected);
    // Long lines went as parts, and no write was longer than PIPE_BUF (each part is one write).
    expect(lines.some((line) => line.startsWith('api +| '))).toBe(true);
    expect(lines.every((line) => Buffer.byteLength(line) + 1 <= PIPE_BUF)).toBe(true);
    // The thread wrote when it had a descriptor: from the start, or once the FIFO had been full.
    expect(forwarder.stats.writerThread).toBe(threadFd !== undefined);
    expect(forwarder.stats.bytesWritten).toBe(Buffer.concat(chunks).length - otherBytes(lines));
  }, 60_000);
  }
});

/** Bytes the other writer put on the FIFO. */
function otherBytes(lines: string[]): number {
  return lines.filter((line) => OTHER_LINE.test(line)).reduce((sum, line) => sum + Buffer.byteLength(line) + 1, 0);
}
