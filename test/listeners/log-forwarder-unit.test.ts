// The log forwarder's line assembly and its bounded queue, against a real pipe nobody reads.
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { formatLine, LogForwarder } from '../../src/listeners/index.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function scratch(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fwd-unit-'));
  dirs.push(dir);
  return dir;
}

describe('formatLine', () => {
  it('merges the program into a JSON object line and keeps the line JSON', () => {
    const line = formatLine('api', 'stdout', '{"level":30,"msg":"listening"}');
    expect(JSON.parse(line)).toEqual({ program: 'api', stream: 'stdout', level: 30, msg: 'listening' });
    expect(JSON.parse(formatLine('api', 'stderr', '{}'))).toEqual({ program: 'api', stream: 'stderr' });
  });

  it('does not shadow a field the line already has', () => {
    expect(JSON.parse(formatLine('api', 'stdout', '{"program":"theirs"}'))).toEqual({
      supervisor_program: 'api',
      supervisor_stream: 'stdout',
      program: 'theirs',
    });
  });

  it('prefixes any other line, stderr marked, a trailing CR dropped', () => {
    expect(formatLine('api', 'stdout', 'hello')).toBe('api | hello');
    expect(formatLine('web:api', 'stderr', 'oops\r')).toBe('web:api (stderr) | oops');
    expect(formatLine('api', 'stdout', '{not json}')).toBe('api | {not json}');
    expect(formatLine('api', 'stdout', '[1,2]')).toBe('api | [1,2]');
  });
});

describe('LogForwarder', () => {
  it('writes only whole lines, joining the pieces of each program and channel', async () => {
    const file = path.join(scratch(), 'out');
    const fd = openSync(file, 'a');
    const forwarder = new LogForwarder({ fd, maxQueueBytes: 1 << 20, maxLineBytes: 1 << 16, maxWriteBytes: 4096, selfName: 'fwd' });
    forwarder.accept('a', 'stdout', 1, 'one ');
    forwarder.accept('b', 'stdout', 2, 'other\nb-par');
    forwarder.accept('a', 'stderr', 1, 'err\n');
    forwarder.accept('a', 'stdout', 1, 'line\ntwo');
    forwarder.accept('b', 'stdout', 2, 'tial\n');
    // A new pid: the dead process's unfinished line is written as it is.
    forwarder.accept('a', 'stdout', 9, 'fresh\n');
    await forwarder.drained();
    closeSync(fd);
    expect(readFileSync(file, 'utf8')).toBe('b | other\na (stderr) | err\na | one line\nb | b-partial\na | two\na | fresh\n');
  });

  it('with skipLoggedCopies: a JSON log line on stderr (a copy of its stdout line) is left out, any other stderr line and every stdout line go', async () => {
    const file = path.join(scratch(), 'out');
    const fd = openSync(file, 'a');
    const forwarder = new LogForwarder({ fd, maxQueueBytes: 1 << 20, maxLineBytes: 1 << 16, maxWriteBytes: 4096, selfName: 'fwd', skipLoggedCopies: true });
    const warning = '{"level":40,"msg":"retrying"}';
    forwarder.accept('p', 'stdout', 1, `${warning}\n`);
    // The copy on stderr, split across two events, between lines that are not log lines.
    forwarder.accept('p', 'stderr', 1, 'Error: boom\n{"level":40,"ms');
    forwarder.accept('p', 'stderr', 1, 'g":"retrying"}\n    at main (x.js:1)\n');
    forwarder.accept('p', 'stderr', 1, '{"not":"ours"}\n');
    await forwarder.drained();
    closeSync(fd);
    expect(readFileSync(file, 'utf8').split('\n').slice(0, -1)).toEqual([
      formatLine('p', 'stdout', warning),
      'p (stderr) | Error: boom',
      'p (stderr) |     at main (x.js:1)',
      formatLine('p', 'stderr', '{"not":"ours"}'),
    ]);
  });

  it('formats the bytes of an event: prefixed lines in one pass, JSON lines keyed, CRLF and UTF-8 kept whole', async () => {
    const file = path.join(scratch(), 'out');
    const fd = openSync(file, 'a');
    const forwarder = new LogForwarder({ fd, maxQueueBytes: 1 << 20, maxLineBytes: 1 << 16, maxWriteBytes: 1 << 16, selfName: 'fwd' });
    const plain = 'héllo 😀\r\nplain\nunfin';
    const mixed = 'ished\n{"level":30}\r\nafter json\n';
    for (const data of [plain, mixed]) {
      const payload = `processname:api groupname:web pid:3 channel:stderr\n${data}`;
      const bytes = Buffer.from(payload);
      const header = { ver: '3.0', server: 'supervisor', serial: 1, pool: 'fwd', poolserial: 1, eventname: 'PROCESS_LOG_STDERR', len: [...payload].length };
      expect(forwarder.handle({ header, payload, bytes })).toBe('OK');
    }
    await forwarder.drained();
    closeSync(fd);
    expect(readFileSync(file, 'utf8')).toBe(
      'web:api (stderr) | héllo 😀\nweb:api (stderr) | plain\nweb:api (stderr) | unfinished\n' +
        '{"program":"web:api","stream":"stderr","level":30}\nweb:api (stderr) | after json\n',
    );
    expect(forwarder.stats.lines).toBe(5);
  });

  it('drops and counts lines when its output does not drain, its queue never above the bound', async () => {
    // A FIFO opened read-write: writes fill its 64 KiB and then block (in libuv's pool), as a stuck stdout would.
    const fifo = path.join(scratch(), 'stuck');
    execFileSync('mkfifo', [fifo]);
    const fd = openSync(fifo, constants.O_RDWR);
    const maxQueueBytes = 256 * 1024;
    const forwarder = new LogForwarder({ fd, maxQueueBytes, maxLineBytes: 1 << 16, maxWriteBytes: 4096, selfName: 'fwd' });
    const line = `${'y'.repeat(99)}\n`;
    for (let i = 0; i < 20_000; i++) forwarder.accept('fast', 'stdout', 1, line);
    expect(forwarder.stats.dropped).toBeGreaterThan(0);
    expect(forwarder.stats.lines + forwarder.stats.dropped).toBe(20_000);
    // What is queued or in flight stays within the bound (plus one write's worth of bytes in the pipe).
    expect(forwarder.stats.lines * 108).toBeLessThanOrEqual(maxQueueBytes + 128 * 1024);
    // Drain the pipe: the forwarder reports its drops on the output once it catches up.
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    let seen = '';
    const buffer = Buffer.alloc(1 << 16);
    for (let round = 0; round < 2000; round++) {
      let count: number;
      try {
        count = readSync(reader, buffer);
      } catch {
        count = 0;
      }
      seen += buffer.subarray(0, count).toString();
      if (count === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      forwarder.accept('fast', 'stdout', 1, 'after\n');
      if (seen.includes('fwd | dropped')) break;
    }
    expect(seen).toMatch(/fwd \| dropped \d+ lines: the output did not keep up/);
    // Read until its last write is done: a write left in libuv's pool would land in whatever file
    // reuses the descriptor's number after closeSync (the next test's).
    let drained = false;
    void forwarder.drained().then(() => (drained = true));
    while (!drained) {
      try {
        readSync(reader, buffer);
      } catch {
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    closeSync(reader);
    closeSync(fd);
  });

  it('with the writer thread: a stuck output drops lines beyond the bound, and every accepted line is written once it is read', async () => {
    const fifo = path.join(scratch(), 'stuck-thread');
    execFileSync('mkfifo', [fifo]);
    // Read-write, blocking: the thread's writes block once the FIFO's 64 KiB are full, as on a stuck stdout.
    const fd = openSync(fifo, constants.O_RDWR);
    const maxQueueBytes = 256 * 1024;
    const forwarder = new LogForwarder({ fd, threadFd: fd, maxQueueBytes, maxLineBytes: 1 << 16, maxWriteBytes: 4096, selfName: 'fwd' });
    const line = `${'y'.repeat(99)}\n`;
    const lineBytes = 'fast | '.length + line.length;
    for (let i = 0; i < 20_000; i++) forwarder.accept('fast', 'stdout', 1, line);
    expect(forwarder.stats.dropped).toBeGreaterThan(0);
    expect(forwarder.stats.lines + forwarder.stats.dropped).toBe(20_000);
    // Queued here or handed to the thread, the accepted lines stay within the bound.
    expect(forwarder.stats.lines * lineBytes).toBeLessThanOrEqual(maxQueueBytes);
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const buffer = Buffer.alloc(1 << 16);
    let text = '';
    let drained = false;
    void forwarder.drained().then(() => (drained = true));
    const readSome = (): number => {
      try {
        const count = readSync(reader, buffer);
        text += buffer.toString('latin1', 0, count);
        return count;
      } catch {
        return 0; // EAGAIN: nothing in the FIFO right now
      }
    };
    while (!drained) if (readSome() === 0) await new Promise((resolve) => setImmediate(resolve));
    while (readSome() > 0);
    await forwarder.close();
    closeSync(reader);
    closeSync(fd);
    expect(text.length).toBe(forwarder.stats.lines * lineBytes);
    expect(forwarder.stats.bytesWritten).toBe(text.length);
    expect(text.split('\n').slice(0, -1).every((written) => written === `fast | ${'y'.repeat(99)}`)).toBe(true);
  });

  it('holds its answer back while its output is behind, and answers once it has caught up', async () => {
    const fifo = path.join(scratch(), 'slow');
    execFileSync('mkfifo', [fifo]);
    const fd = openSync(fifo, constants.O_RDWR);
    const forwarder = new LogForwarder({ fd, maxQueueBytes: 512 * 1024, maxLineBytes: 1 << 16, maxWriteBytes: 4096, selfName: 'fwd' });
    const payload = `processname:fast groupname:fast pid:1 channel:stdout\n${`${'z'.repeat(99)}\n`.repeat(4000)}`;
    const event = { header: { ver: '3.0', server: 'supervisor', serial: 1, pool: 'fwd', poolserial: 1, eventname: 'PROCESS_LOG_STDOUT', len: payload.length }, payload };
    // The first event is answered at once (and formatted right after): 4000 lines of 107 bytes (428 KB),
    // above half the bound, so the next one gets no answer until the output drains.
    expect(forwarder.handle(event)).toBe('OK');
    await new Promise((resolve) => setImmediate(resolve));
    const small = `processname:fast groupname:fast pid:1 channel:stdout\n${'z'.repeat(99)}\n`;
    const answer = forwarder.handle({ header: { ...event.header, len: small.length }, payload: small });
    expect(answer).toBeInstanceOf(Promise);
    let answered = false;
    void Promise.resolve(answer).then(() => (answered = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(answered).toBe(false);
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const buffer = Buffer.alloc(1 << 16);
    let read = 0;
    while (!answered) {
      try {
        read += readSync(reader, buffer);
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    }
    expect(await answer).toBe('OK');
    expect(forwarder.stats.dropped).toBe(0);
    expect(read).toBeGreaterThan(0);
    closeSync(reader);
    closeSync(fd);
  });
});
