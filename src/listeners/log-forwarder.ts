// The log forwarder: PROCESS_LOG_STDOUT/STDERR events → one line per program line on an output
// (the listener's stderr, which the config sends to supervisord's stdout: `docker logs`).
//
// Line format (README "Logs on the container's stdout"):
//   a JSON object line keeps being one JSON object: `{"program":"api","stream":"stdout",<the line's own fields>}`
//   any other line gets a prefix:                     `api | text` (stdout), `api (stderr) | text`
// so a collector tells programs apart with one rule and still parses the JSON lines as JSON.
//
// A payload is whatever supervisord read from the pipe: lines arrive split across events. Each
// program/channel keeps its partial line until the newline comes, and only whole lines are written,
// in writes of at most PIPE_BUF bytes, so they are never torn or interleaved with supervisord's own
// lines. The event is acknowledged at once; writing happens behind, from a queue with a byte bound:
// a stdout that cannot keep up costs dropped lines (counted and reported), never memory or a blocked program.
import { write as fsWrite } from 'node:fs';
import type { ListenerEvent, EventResult } from './protocol.js';
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
   * Most bytes per write (whole lines). PIPE_BUF keeps every write atomic on a pipe shared with other
   * writers; a listener whose output is a pipe only it writes (its stderr under Python's supervisord)
   * can take larger writes (README).
   */
  maxWriteBytes: number;
  /** Name used on the forwarder's own notices. */
  selfName: string;
  /** Clock for partial-line aging (tests). */
  now?: () => number;
}

/** Key names added to a JSON line; a line that already has one gets them prefixed. */
function jsonKeys(parsed: Record<string, unknown>): { program: string; stream: string } {
  const prefix = 'program' in parsed || 'stream' in parsed ? 'supervisor_' : '';
  return { program: `${prefix}program`, stream: `${prefix}stream` };
}

/** One program line, formatted for the shared output (without the newline). */
export function formatLine(program: string, channel: 'stdout' | 'stderr', line: string): string {
  const text = line.endsWith('\r') ? line.slice(0, -1) : line;
  if (text.startsWith('{') && text.endsWith('}')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      const keys = jsonKeys(parsed as Record<string, unknown>);
      // The program's own bytes are kept (no re-serialisation): only our two fields go in front.
      const ours = `{${JSON.stringify(keys.program)}:${JSON.stringify(program)},${JSON.stringify(keys.stream)}:"${channel}"`;
      const rest = text.slice(1).trimStart();
      return rest === '}' ? `${ours}}` : `${ours},${rest}`;
    }
  }
  return channel === 'stdout' ? `${program} | ${text}` : `${program} (stderr) | ${text}`;
}

interface Partial {
  text: string;
  pid: number;
  since: number;
}

export class LogForwarder {
  /** Figures for tests and the forwarder's notices. */
  readonly stats = { lines: 0, dropped: 0, bytesWritten: 0, writeErrors: 0 };
  private readonly partials = new Map<string, Partial>();
  /** Blocks of whole lines waiting, from `queueHead` on (an index: shift() on a long array is O(n)). */
  private queue: Buffer[] = [];
  private queueHead = 0;
  private queuedBytes = 0;
  private writing = false;
  private droppedUnreported = 0;
  private readonly now: () => number;
  private drainWaiters: (() => void)[] = [];
  private lowWaiters: { bytes: number; resolve: () => void }[] = [];

  constructor(private readonly options: ForwarderOptions) {
    this.now = options.now ?? Date.now;
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
    const log = parseProcessLog(event.payload);
    this.accept(namespec(log.processname, log.groupname), log.channel, log.pid, log.data);
    if (this.queuedBytes <= this.options.maxQueueBytes / 2) return 'OK';
    return this.below(this.options.maxQueueBytes / 4).then(() => 'OK' as const);
  }

  /** Resolves once the queue holds at most `bytes`. */
  private below(bytes: number): Promise<void> {
    if (this.queuedBytes <= bytes) return Promise.resolve();
    return new Promise((resolve) => this.lowWaiters.push({ bytes, resolve }));
  }

  /** Data from one program's channel: whole lines go out, the rest waits for its newline. */
  accept(program: string, channel: 'stdout' | 'stderr', pid: number, data: string): void {
    const key = `${channel}\0${program}`;
    const partial = this.partials.get(key);
    const lines: string[] = [];
    let text = data;
    if (partial !== undefined) {
      this.partials.delete(key);
      // A new process (pid) does not continue the dead one's last line.
      if (partial.pid === pid) text = partial.text + data;
      else lines.push(formatLine(program, channel, partial.text));
    }
    let start = 0;
    for (;;) {
      const newline = text.indexOf('\n', start);
      if (newline === -1) break;
      lines.push(formatLine(program, channel, text.slice(start, newline)));
      start = newline + 1;
    }
    if (start < text.length) {
      const rest = text.slice(start);
      if (Buffer.byteLength(rest) > this.options.maxLineBytes) lines.push(formatLine(program, channel, rest));
      else this.partials.set(key, { text: rest, pid, since: this.now() });
    }
    if (lines.length > 0) this.enqueue(lines);
  }

  /** Partial lines older than `ageMs` are written as they are (a program that never ends its line). */
  flushPartials(ageMs: number): void {
    const now = this.now();
    for (const [key, partial] of this.partials) {
      if (now - partial.since < ageMs) continue;
      this.partials.delete(key);
      const separator = key.indexOf('\0');
      const channel = key.slice(0, separator) === 'stderr' ? 'stderr' : 'stdout';
      this.enqueue([formatLine(key.slice(separator + 1), channel, partial.text)]);
    }
  }

  /** Resolves when every queued line has been written. */
  drained(): Promise<void> {
    if (!this.writing && this.queueHead === this.queue.length) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** The lines of one event as one block of bytes (one conversion, not one per line), or dropped whole. */
  private enqueue(lines: string[]): void {
    const block = Buffer.from(`${lines.join('\n')}\n`);
    if (this.queuedBytes + block.length > this.options.maxQueueBytes) {
      this.stats.dropped += lines.length;
      this.droppedUnreported += lines.length;
      return;
    }
    if (this.droppedUnreported > 0 && this.queuedBytes < this.options.maxQueueBytes / 2) {
      const notice = Buffer.from(`${this.options.selfName} | dropped ${this.droppedUnreported} lines: the output did not keep up (${this.stats.dropped} in all)\n`);
      this.droppedUnreported = 0;
      this.queue.push(notice);
      this.queuedBytes += notice.length;
    }
    this.stats.lines += lines.length;
    this.queue.push(block);
    this.queuedBytes += block.length;
    this.writeNext();
  }

  /**
   * One write in flight at a time: whole lines, at most maxWriteBytes unless one line alone is longer,
   * cut from the queued blocks at newlines.
   */
  private writeNext(): void {
    if (this.writing) return;
    if (this.queueHead === this.queue.length) {
      this.queue = [];
      this.queueHead = 0;
      for (const resolve of this.drainWaiters.splice(0)) resolve();
      return;
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
    const buffer = parts.length === 1 ? (parts[0] ?? Buffer.alloc(0)) : Buffer.concat(parts, size);
    this.writing = true;
    this.writeAll(buffer, () => {
      this.queuedBytes -= buffer.length;
      this.writing = false;
      if (this.lowWaiters.length > 0) {
        const ready = this.lowWaiters.filter((waiter) => this.queuedBytes <= waiter.bytes);
        this.lowWaiters = this.lowWaiters.filter((waiter) => this.queuedBytes > waiter.bytes);
        for (const waiter of ready) waiter.resolve();
      }
      this.writeNext();
    });
  }

  /** fs.write runs in libuv's pool: a blocked output blocks that thread, never the event loop. */
  private writeAll(buffer: Buffer, done: () => void): void {
    fsWrite(this.options.fd, buffer, 0, buffer.length, null, (error, written) => {
      if (error) {
        // EAGAIN on a non-blocking descriptor: try again shortly; anything else loses the batch.
        if (error.code === 'EAGAIN') {
          setTimeout(() => this.writeAll(buffer, done), 5).unref();
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
