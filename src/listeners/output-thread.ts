// The log forwarder's writes on a thread of their own. On the main thread, output waited for the
// main loop: a full pipe's next write went out only after the event being read or formatted was done
// (and through a libuv pool round trip), so the reader of supervisord's stdout sat idle meanwhile.
// This thread does nothing but blocking writes: when the reader frees room, the kernel wakes it and
// the next piece goes at once, while the main thread reads and formats the next events.
//
// Every write is whole lines of at most `limit` bytes (PIPE_BUF on a pipe): atomic, so nothing
// supervisord writes to the same stdout lands inside a forwarded line. The writes go through a
// descriptor of their own (the output reopened blocking): supervisord's stdout may have been made
// non-blocking by whoever shares it, and a shared flag is not ours to change.
import { Worker } from 'node:worker_threads';

/** The thread's program (CommonJS, evaluated: nothing to bundle or find on disk). */
const WRITER_THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const { fd, limit } = workerData;
const pause = new Int32Array(new SharedArrayBuffer(4));
/** Bytes of the next write from start: whole lines up to limit; a longer line alone, whole. */
function pieceEnd(bytes, start) {
  if (bytes.length - start <= limit) return bytes.length;
  const newline = bytes.lastIndexOf(10, start + limit - 1);
  if (newline >= start) return newline + 1;
  const next = bytes.indexOf(10, start + limit);
  return next === -1 ? bytes.length : next + 1;
}
parentPort.on('message', (block) => {
  const bytes = Buffer.from(block.buffer, block.byteOffset, block.byteLength);
  let start = 0;
  let error = null;
  while (start < bytes.length) {
    const end = pieceEnd(bytes, start);
    try {
      start += fs.writeSync(fd, bytes, start, end - start);
    } catch (thrown) {
      // A non-blocking descriptor (no blocking twin could be had) with a full pipe: wait a little.
      if (thrown.code === 'EAGAIN') Atomics.wait(pause, 0, 0, 2);
      else { error = String(thrown.code || thrown.message); break; }
    }
  }
  parentPort.postMessage({ bytes: bytes.length, error });
});
`;

export interface WrittenReport {
  /** Bytes of the block (all of them written unless error). */
  bytes: number;
  error: string | null;
}

/** Blocks of whole lines written in order by a thread; `onWritten` once per block. */
export class OutputThread {
  private readonly worker: Worker;
  private inFlight = 0;
  private failed = false;

  constructor(fd: number, limit: number, onWritten: (report: WrittenReport) => void, onFailure: (error: Error) => void) {
    this.worker = new Worker(WRITER_THREAD, { eval: true, workerData: { fd, limit } });
    this.worker.on('message', (report: WrittenReport) => {
      this.inFlight -= 1;
      if (this.inFlight === 0) this.worker.unref();
      onWritten(report);
    });
    this.worker.on('error', (error) => {
      this.failed = true;
      onFailure(error);
    });
    // Idle, the thread must not keep the forwarder alive; while it holds lines it does (write()).
    // After the listeners: adding a 'message' listener refs the worker again.
    this.worker.unref();
  }

  /** False when the thread is gone: the caller writes by other means. */
  get usable(): boolean {
    return !this.failed;
  }

  /** Blocks handed over and not yet reported written. */
  get pending(): number {
    return this.inFlight;
  }

  /** Hands `block` over: the caller does not use it again (its memory may move to the thread). */
  write(block: Buffer): void {
    if (this.inFlight === 0) this.worker.ref();
    this.inFlight += 1;
    // A block that is all of its memory moves to the thread without a copy; a view of a larger
    // buffer (a pool slab that other Buffers share) is copied into the message.
    const memory = block.buffer;
    const whole = memory instanceof ArrayBuffer && block.byteOffset === 0 && block.byteLength === memory.byteLength;
    this.worker.postMessage(block, whole ? [memory] : []);
  }

  /** Ends the thread (its pending blocks are abandoned). */
  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
