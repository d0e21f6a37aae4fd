// The log forwarder: PROCESS_LOG_STDOUT/STDERR events → one line per program line on an output
// (the listener's stderr, which the config sends to supervisord's stdout: `docker logs`).
//
// Line format (README "Logs on the container's stdout"; line-format.ts):
//   a JSON object line keeps being one JSON object: `{"program":"api","stream":"stdout",<the line's own fields>}`
//   any other line gets a prefix:                     `api | text` (stdout), `api (stderr) | text`
// so a collector tells programs apart with one rule and still parses the JSON lines as JSON.
// A line longer than one write (PIPE_BUF on a pipe) goes as parts, one atomic write each:
// `api +| <piece>` … `api | <last piece>` (splitLine), joined by a collector.
//
// A payload is whatever supervisord read from the pipe: lines arrive split across events. Each
// program/channel keeps its partial line until the newline comes, and only whole lines are written,
// in writes of whole lines. The event is acknowledged at once; writing happens behind, from a queue
// with a byte bound; above half of it the answer waits, so supervisord's pool falls behind and holds
// the programs' pipes (README): a slow stdout slows the programs down instead of losing lines.
//
// The lines are assembled on bytes: a prefixed line is two copies into one output buffer per event,
// no string per line; only a line that looks like a JSON object is decoded and parsed.
// Once the output has been full, the writes are made by a thread of their own when the program gives
// it a blocking descriptor of the output (output-thread.ts), so the output keeps moving while this
// thread reads and formats.
import { write as fsWrite, writeSync } from 'node:fs';
import type { ListenerEvent, EventResult } from './protocol.js';
import { CLOSE_BRACE, CR, formatLine, NEWLINE, OPEN_BRACE, prefixAll, splitLongLines, stream, type Stream } from './line-format.js';
import { OutputThread, type WrittenReport } from './output-thread.js';
import { namespec, parseProcessLog } from './payload.js';

/** Linux's PIPE_BUF: a write of at most this many bytes to a pipe is atomic. */
export const PIPE_BUF = 4096;

export interface ForwarderOptions {
  /** Where lines go: a file descriptor (2 = the listener's stderr). */
  fd: number;
  /** Bytes of formatted lines waiting for the output at most; beyond it lines are dropped. */
  maxQueueBytes: number;
  /** A partial line longer than this is written as a line of its own (a program writing without newlines). */
  maxLineBytes: number;
  /**
   * Most bytes per write (whole lines). A listener's stderr is a pipe only supervisord reads (under
   * both daemons), which copies what it reads to its stdout in its own read sizes, so big writes lose
   * nothing there (README); PIPE_BUF keeps every write atomic on an output shared with other writers.
   */
  maxWriteBytes: number;
  /** Name used on the forwarder's own notices. */
  selfName: string;
  /**
   * A non-blocking descriptor of the same pipe as `fd` (its own open file description, so the flag
   * touches no other writer): writes that fit go out at once with one system call each, and only a
   * write the pipe has no room for goes through `fd` in libuv's pool, where it may wait.
   */
  nonBlockingFd?: number;
  /**
   * A blocking descriptor of the output for a writer thread (output-thread.ts), started at the first
   * write the output has no room for: from then on the writes go on while the main thread reads and
   * formats events. Without it, writes are made from the main loop.
   */
  threadFd?: number;
  /**
   * Our programs' logger writes each warning and error to stdout and again to stderr (for `*.err.log` and
   * `supervisorctl tail <program> stderr`). With this set, a stderr line that is such a JSON log line
   * (it begins `{"level":`) is not forwarded, being the copy of a stdout line already forwarded; any
   * other stderr line (a stack trace, a child's own text) still is.
   */
  skipLoggedCopies?: boolean;
  /** Clock for partial-line aging (tests). */
  now?: () => number;
}

const LOGGED_LINE = Buffer.from('{"level":');

/** `bytes` without its whole lines that begin `{"level":` (a trailing partial line is kept as it is). */
export function withoutLoggedLines(bytes: Buffer): Buffer {
  if (bytes.indexOf(LOGGED_LINE) === -1) return bytes;
  const kept: Buffer[] = [];
  let start = 0;
  for (let end = bytes.indexOf(NEWLINE); end !== -1; end = bytes.indexOf(NEWLINE, start)) {
    if (!bytes.subarray(start, start + LOGGED_LINE.length).equals(LOGGED_LINE)) kept.push(bytes.subarray(start, end + 1));
    start = end + 1;
  }
  kept.push(bytes.subarray(start));
  return Buffer.concat(kept);
}

/** The start of a program's line whose newline has not come yet. */
interface Partial {
  bytes: Buffer;
  pid: number;
  since: number;
}

export class LogForwarder {
  /** Figures for tests and the forwarder's notices. */
  readonly stats = { lines: 0, dropped: 0, bytesWritten: 0, writeErrors: 0, writerThread: false };
  private readonly partials = new Map<string, Partial>();
  private readonly streams = new Map<string, Stream>();
  /** When the last answer went back: a partial line ages only while the next event may come. */
  private answeredAt = 0;
  /** Events answered and not yet formatted (handle() formats right after answering). */
  private pendingEvents = 0;
  /** Blocks of whole lines waiting, from `queueHead` on (an index: shift() on a long array is O(n)). */
  private queue: Buffer[] = [];
  private queueHead = 0;
  private queuedBytes = 0;
  private writing = false;
  private droppedUnreported = 0;
  private readonly now: () => number;
  private drainWaiters: (() => void)[] = [];
  private lowWaiters: { bytes: number; resolve: () => void }[] = [];

  /** The writer thread, started at the first write the output has no room for (threadFd given). */
  private thread: OutputThread | null = null;
  /** The thread died once: the main loop writes from then on. */
  private threadGone = false;

  constructor(private readonly options: ForwarderOptions) {
    this.now = options.now ?? Date.now;
  }

  /**
   * The writer thread, started now if it can be. Not before it is needed: a forwarder whose output
   * keeps up (most of its life) writes at once from the main loop and holds no second isolate (~10 MB).
   */
  private startThread(): OutputThread | null {
    if (this.thread !== null || this.threadGone || this.options.threadFd === undefined) return this.thread;
    this.thread = new OutputThread(
      this.options.threadFd,
      this.options.maxWriteBytes,
      (report) => this.threadWrote(report),
      () => this.threadFailed(),
    );
    this.stats.writerThread = true;
    return this.thread;
  }

  /** A block the thread has written (or failed to): the queue's bound and waiters follow. */
  private threadWrote(report: WrittenReport): void {
    if (report.error === null) this.stats.bytesWritten += report.bytes;
    else this.stats.writeErrors += 1;
    this.written(report.bytes);
    if (this.thread?.pending === 0 && this.queueHead === this.queue.length) this.resolveDrained();
  }

  /** The thread died (it should not): what it held is lost, the main loop writes from now on. */
  private threadFailed(): void {
    const thread = this.thread;
    this.thread = null;
    this.threadGone = true;
    if (thread === null) return;
    this.stats.writeErrors += thread.pending;
    this.queuedBytes -= this.threadBytes;
    this.threadBytes = 0;
    this.writeNext();
    this.written(0);
  }

  /** Bytes handed to the thread and not yet written. */
  private threadBytes = 0;

  private resolveDrained(): void {
    for (const resolve of this.drainWaiters.splice(0)) resolve();
  }

  /** Ends the writer thread, if any (after drained(): it holds nothing then). */
  async close(): Promise<void> {
    await this.thread?.close();
  }

  /**
   * One event. Above half its bound the queue holds the answer back until it is down to a quarter:
   * supervisord keeps the next events in its own buffer (buffer_size) meanwhile and keeps reading the
   * programs, so a burst costs no line and a program never waits; only an output stuck for longer than
   * that buffer lasts loses lines (supervisord's overflow rule, logged by supervisord).
   */
  handle(event: ListenerEvent): EventResult | Promise<EventResult> {
    const name = event.header.eventname;
    if (name !== 'PROCESS_LOG_STDOUT' && name !== 'PROCESS_LOG_STDERR') return 'OK';
    const bytes = event.bytes ?? Buffer.from(event.payload);
    const newline = bytes.indexOf(NEWLINE);
    // The header line is short: parsed as text; the data stays bytes.
    const log = parseProcessLog(newline === -1 ? bytes.toString('utf8') : `${bytes.toString('utf8', 0, newline)}\n`);
    const accept = (): void =>
      this.accept(namespec(log.processname, log.groupname), log.channel, log.pid, newline === -1 ? Buffer.alloc(0) : bytes.subarray(newline + 1));
    if (this.queuedBytes <= this.options.maxQueueBytes / 2) {
      // Answer first, format after: supervisord sends the next event meanwhile (one round trip less
      // per event on the critical path). Immediates run in order, before the next event is read.
      this.answeredAt = this.now();
      this.pendingEvents += 1;
      setImmediate(() => {
        this.pendingEvents -= 1;
        accept();
      });
      return 'OK';
    }
    accept();
    return this.below(this.options.maxQueueBytes / 4).then(() => {
      this.answeredAt = this.now();
      return 'OK' as const;
    });
  }

  /** Resolves once the queue holds at most `bytes`. */
  private below(bytes: number): Promise<void> {
    if (this.queuedBytes <= bytes) return Promise.resolve();
    return new Promise((resolve) => this.lowWaiters.push({ bytes, resolve }));
  }

  /** Data from one program's channel: whole lines go out, the rest waits for its newline. */
  accept(program: string, channel: 'stdout' | 'stderr', pid: number, data: string | Buffer): void {
    const key = `${channel}\0${program}`;
    let info = this.streams.get(key);
    if (info === undefined) {
      info = stream(program, channel);
      this.streams.set(key, info);
    }
    let bytes = typeof data === 'string' ? Buffer.from(data) : data;
    const partial = this.partials.get(key);
    let orphan: Buffer | null = null;
    if (partial !== undefined) {
      this.partials.delete(key);
      // A new process (pid) does not continue the dead one's last line.
      if (partial.pid === pid) bytes = Buffer.concat([partial.bytes, bytes]);
      else orphan = partial.bytes;
    }
    if (channel === 'stderr' && this.options.skipLoggedCopies === true) bytes = withoutLoggedLines(bytes);
    const lastNewline = bytes.lastIndexOf(NEWLINE);
    const whole = lastNewline + 1;
    let rest = bytes.subarray(whole);
    let forced: Buffer | null = null;
    if (rest.length > this.options.maxLineBytes) {
      forced = rest;
      rest = rest.subarray(0, 0);
    }
    if (rest.length > 0) this.partials.set(key, { bytes: Buffer.from(rest), pid, since: this.now() });
    if (whole === 0 && orphan === null && forced === null) return;
    if (orphan === null && forced === null) {
      const fast = prefixAll(info, bytes, whole);
      if (fast !== null) {
        this.enqueue(fast.block, fast.lines, info);
        return;
      }
    }
    // Upper bound of the output: every line may grow by `growth` (a line is at least its newline).
    let lines = 0;
    for (let at = bytes.indexOf(NEWLINE); at !== -1 && at < whole; at = bytes.indexOf(NEWLINE, at + 1)) lines += 1;
    const extra = (orphan?.length ?? 0) + (forced?.length ?? 0) + 2 * info.growth;
    const out = Buffer.allocUnsafe(whole + lines * info.growth + extra);
    let size = 0;
    if (orphan !== null) size = this.formatInto(info, orphan, 0, orphan.length, out, size);
    let start = 0;
    while (start < whole) {
      const end = bytes.indexOf(NEWLINE, start);
      size = this.formatInto(info, bytes, start, end, out, size);
      start = end + 1;
    }
    if (forced !== null) size = this.formatInto(info, forced, 0, forced.length, out, size);
    this.enqueue(out.subarray(0, size), lines + (orphan === null ? 0 : 1) + (forced === null ? 0 : 1), info);
  }

  /** One line (`bytes[start, end)`, no newline) formatted into `out` at `at`, with its newline; returns the end. */
  private formatInto(info: Stream, bytes: Buffer, start: number, end: number, out: Buffer, at: number): number {
    const last = end > start && bytes[end - 1] === CR ? end - 1 : end;
    let size = at;
    if (last - start >= 2 && bytes[start] === OPEN_BRACE && bytes[last - 1] === CLOSE_BRACE) {
      // Maybe a JSON object: the string path decides (and keeps the program's own bytes).
      const line = Buffer.from(formatLine(info.program, info.channel, bytes.toString('utf8', start, last)));
      // It fits the room reserved for the line unless invalid UTF-8 grew when decoded: then the raw bytes go.
      if (line.length <= last - start + info.growth - 1) {
        size += line.copy(out, size);
        out[size] = NEWLINE;
        return size + 1;
      }
    }
    size += info.prefix.copy(out, size);
    size += bytes.copy(out, size, start, last);
    out[size] = NEWLINE;
    return size + 1;
  }

  /** Partial lines older than `ageMs` are written as they are (a program that never ends its line). */
  flushPartials(ageMs: number): void {
    // While the answer is held back, the line's next piece may be waiting in supervisord: not old.
    if (ageMs > 0 && (this.lowWaiters.length > 0 || this.pendingEvents > 0)) return;
    const now = this.now();
    for (const [key, partial] of this.partials) {
      if (now - Math.max(partial.since, this.answeredAt) < ageMs) continue;
      this.partials.delete(key);
      const info = this.streams.get(key);
      if (info === undefined) continue;
      const out = Buffer.allocUnsafe(partial.bytes.length + info.growth + 1);
      this.enqueue(out.subarray(0, this.formatInto(info, partial.bytes, 0, partial.bytes.length, out, 0)), 1, info);
    }
  }

  /**
   * Drops the unfinished lines (stopping on a signal: their ends are in supervisord's hands, a restarted
   * forwarder may get them, and a half line would look torn). Returns how many.
   */
  discardPartials(): number {
    const count = this.partials.size;
    this.partials.clear();
    return count;
  }

  /** Resolves when every queued line has been written. */
  drained(): Promise<void> {
    if (this.pendingEvents > 0) return new Promise((resolve) => setImmediate(resolve)).then(() => this.drained());
    if (!this.writing && this.queueHead === this.queue.length && (this.thread?.pending ?? 0) === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** The `lines` formatted lines of one event as one block of bytes, or dropped whole. */
  private enqueue(formatted: Buffer, lines: number, info: Stream): void {
    // Every line fits one write from here on: a longer one is written as parts.
    const block = splitLongLines(info, formatted, this.options.maxWriteBytes);
    if (this.queuedBytes + block.length > this.options.maxQueueBytes) {
      this.stats.dropped += lines;
      this.droppedUnreported += lines;
      return;
    }
    if (this.droppedUnreported > 0 && this.queuedBytes < this.options.maxQueueBytes / 2) {
      const notice = Buffer.from(`${this.options.selfName} | dropped ${this.droppedUnreported} lines: the output did not keep up (${this.stats.dropped} in all)\n`);
      this.droppedUnreported = 0;
      this.queue.push(notice);
      this.queuedBytes += notice.length;
    }
    this.stats.lines += lines;
    this.queue.push(block);
    this.queuedBytes += block.length;
    this.writeNext();
  }

  /**
   * One write in flight at a time: whole lines, at most maxWriteBytes unless one line alone is longer,
   * cut from the queued blocks at newlines.
   */
  private writeNext(): void {
    if (this.thread !== null) {
      this.handToThread(this.thread);
      return;
    }
    while (!this.writing) {
      const buffer = this.nextWrite();
      if (buffer === null) return;
      const written = this.tryWriteNow(buffer);
      if (written === buffer.length) {
        this.written(buffer.length);
        continue;
      }
      const thread = written === 0 ? this.startThread() : null;
      if (thread !== null) {
        // No room in the pipe: the thread writes from now on, this write first.
        this.threadBytes += buffer.length;
        thread.write(buffer);
        this.handToThread(thread);
        return;
      }
      // No room in the pipe (or a part of a write longer than PIPE_BUF went): the rest waits in libuv's pool.
      this.writing = true;
      this.writeAll(buffer.subarray(written), () => {
        this.writing = false;
        this.written(buffer.length);
        this.writeNext();
      });
    }
  }

  /**
   * Every queued block to the thread, which cuts the writes at newlines (a block is not touched here
   * again: its memory may move to the thread).
   */
  private handToThread(thread: OutputThread): void {
    for (; this.queueHead < this.queue.length; this.queueHead += 1) {
      const block = this.queue[this.queueHead] ?? Buffer.alloc(0);
      this.threadBytes += block.length;
      thread.write(block);
    }
    this.queue = [];
    this.queueHead = 0;
  }

  /** Bytes of `buffer` written at once through the non-blocking descriptor (0: none, or there is none). */
  private tryWriteNow(buffer: Buffer): number {
    const fd = this.options.nonBlockingFd;
    if (fd === undefined) return 0;
    try {
      const written = writeSync(fd, buffer);
      this.stats.bytesWritten += written;
      return written;
    } catch {
      // EAGAIN: the pipe is full; anything else: the blocking path meets it too and counts it.
      return 0;
    }
  }

  /** `bytes` of the queue are out: the queue's bound and the answers held back follow. */
  private written(bytes: number): void {
    this.queuedBytes -= bytes;
    if (this.thread !== null) this.threadBytes -= bytes;
    if (this.lowWaiters.length > 0) {
      const ready = this.lowWaiters.filter((waiter) => this.queuedBytes <= waiter.bytes);
      this.lowWaiters = this.lowWaiters.filter((waiter) => this.queuedBytes > waiter.bytes);
      for (const waiter of ready) waiter.resolve();
    }
  }

  /** The next write: whole lines from the queue, at most maxWriteBytes; null (and drain waiters told) when empty. */
  private nextWrite(): Buffer | null {
    if (this.queueHead === this.queue.length) {
      this.queue = [];
      this.queueHead = 0;
      for (const resolve of this.drainWaiters.splice(0)) resolve();
      return null;
    }
    const limit = this.options.maxWriteBytes;
    const parts: Buffer[] = [];
    let size = 0;
    while (this.queueHead < this.queue.length && size < limit) {
      const block = this.queue[this.queueHead] ?? Buffer.alloc(0);
      if (size + block.length <= limit) {
        parts.push(block);
        size += block.length;
        this.queueHead += 1;
        continue;
      }
      // Cut the block after the last newline that fits; a first line longer than the limit goes whole.
      let cut = block.lastIndexOf(0x0a, limit - size - 1) + 1;
      if (cut === 0 && size === 0) cut = block.indexOf(0x0a) + 1 || block.length;
      if (cut === 0) break;
      parts.push(block.subarray(0, cut));
      size += cut;
      if (cut === block.length) this.queueHead += 1;
      else this.queue[this.queueHead] = block.subarray(cut);
      break;
    }
    // Drop the written part now and then, not on every write.
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
    return parts.length === 1 ? (parts[0] ?? Buffer.alloc(0)) : Buffer.concat(parts, size);
  }

  /** fs.write runs in libuv's pool: a blocked output blocks that thread, never the event loop. */
  private writeAll(buffer: Buffer, done: () => void): void {
    fsWrite(this.options.fd, buffer, 0, buffer.length, null, (error, written) => {
      if (error) {
        // EAGAIN on a non-blocking descriptor: try again shortly; anything else loses the batch.
        if (error.code === 'EAGAIN') {
          // Not unref'd: these lines are accepted, and a stopping forwarder must not exit before
          // they are written (its deadline bounds the wait).
          setTimeout(() => this.writeAll(buffer, done), 5);
          return;
        }
        this.stats.writeErrors += 1;
        done();
        return;
      }
      this.stats.bytesWritten += written;
      if (written < buffer.length) this.writeAll(buffer.subarray(written), done);
      else done();
    });
  }
}
