// Log files with supervisord's size-based rotation: after a write leaves the file at or over
// maxBytes, `x.log` becomes `x.log.1` (older backups shift up, the oldest falls off) and a fresh
// `x.log` is opened. Nothing is lost: the chunk that crossed the limit is complete in `x.log.1`.
import { EventEmitter } from 'node:events';
import { closeSync, existsSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function shiftBackups(path: string, backups: number): Promise<void> {
  if (backups <= 0) return;
  for (let index = backups - 1; index >= 1; index--) {
    const from = `${path}.${index}`;
    if (await exists(from)) await rename(from, `${path}.${index + 1}`);
  }
  if (await exists(path)) await rename(path, `${path}.1`);
}

function shiftBackupsSync(path: string, backups: number): void {
  if (backups <= 0) return;
  for (let index = backups - 1; index >= 1; index--) {
    const from = `${path}.${index}`;
    if (existsSync(from)) renameSync(from, `${path}.${index + 1}`);
  }
  if (existsSync(path)) renameSync(path, `${path}.1`);
}

export interface RotatingFileOptions {
  path: string;
  /** 0 = never rotate. */
  maxBytes: number;
  backups: number;
  /** Queued bytes above which `write` returns false (the caller pauses its source until 'drain'). */
  highWaterMark?: number;
  onError?: (error: Error) => void;
}

/**
 * Asynchronous appender for a child's output. Writes run one at a time in order; `write()` returns
 * false once more than `highWaterMark` bytes are queued, and 'drain' fires when the queue is short
 * again, so a fast child is held back by its pipe instead of by our memory.
 */
export class RotatingLogFile extends EventEmitter {
  readonly path: string;
  private readonly maxBytes: number;
  private readonly backups: number;
  private readonly highWaterMark: number;
  private readonly onError: (error: Error) => void;
  private handle: FileHandle | null = null;
  private size = 0;
  private queued = 0;
  private needsDrain = false;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  /** Largest number of bytes ever waiting to be written (the memory bound, observable in tests). */
  peakQueuedBytes = 0;

  constructor(options: RotatingFileOptions) {
    super();
    this.path = options.path;
    this.maxBytes = options.maxBytes;
    this.backups = options.backups;
    this.highWaterMark = options.highWaterMark ?? 1024 * 1024;
    this.onError = options.onError ?? (() => undefined);
    // supervisord creates the file when the process is configured, so `tail` finds it at once.
    void this.enqueue(async () => {
      await this.ensureOpen();
    });
  }

  get queuedBytes(): number {
    return this.queued;
  }

  write(chunk: Buffer): boolean {
    if (this.closed) return true;
    this.queued += chunk.length;
    if (this.queued > this.peakQueuedBytes) this.peakQueuedBytes = this.queued;
    void this.enqueue(async () => {
      try {
        await this.writeChunk(chunk);
      } finally {
        this.queued -= chunk.length;
        if (this.needsDrain && this.queued < this.highWaterMark / 2) {
          this.needsDrain = false;
          this.emit('drain');
        }
      }
    });
    if (this.queued >= this.highWaterMark) {
      this.needsDrain = true;
      return false;
    }
    return true;
  }

  /** Resolves when everything written so far is in the file. */
  flush(): Promise<void> {
    return this.chain;
  }

  /** Close and open again by name (SIGUSR2 after an external logrotate moved the file). */
  reopen(): Promise<void> {
    return this.enqueue(async () => {
      await this.closeHandle();
      await this.ensureOpen();
    });
  }

  /** supervisord's `clear`: delete the current file and start an empty one (backups stay). */
  clear(): Promise<void> {
    return this.enqueue(async () => {
      await this.closeHandle();
      await rm(this.path, { force: true });
      await this.ensureOpen();
    });
  }

  close(): Promise<void> {
    const done = this.enqueue(() => this.closeHandle());
    this.closed = true;
    return done;
  }

  private enqueue(operation: () => Promise<void>): Promise<void> {
    const next = this.chain.then(operation).catch((error: unknown) => {
      this.onError(error instanceof Error ? error : new Error(String(error)));
    });
    this.chain = next;
    return next;
  }

  private async ensureOpen(): Promise<FileHandle> {
    if (this.handle) return this.handle;
    const handle = await open(this.path, 'a');
    this.handle = handle;
    this.size = (await handle.stat()).size;
    return handle;
  }

  private async closeHandle(): Promise<void> {
    const handle = this.handle;
    this.handle = null;
    if (handle) await handle.close();
  }

  private async writeChunk(chunk: Buffer): Promise<void> {
    const handle = await this.ensureOpen();
    let offset = 0;
    while (offset < chunk.length) {
      const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset);
      offset += bytesWritten;
    }
    this.size += chunk.length;
    if (this.maxBytes > 0 && this.size >= this.maxBytes) {
      await this.closeHandle();
      if (this.backups > 0) await shiftBackups(this.path, this.backups);
      else await rm(this.path, { force: true });
      await this.ensureOpen();
    }
  }
}

/**
 * Synchronous appender for supervisord's own log: lines are few and must be on disk in order
 * before the process exits, so a blocking write is the simple, correct choice here.
 */
export class SyncRotatingFile {
  private fd: number | null = null;
  private size = 0;

  constructor(
    readonly path: string,
    private readonly maxBytes: number,
    private readonly backups: number,
  ) {
    this.open();
  }

  write(text: string): void {
    const data = Buffer.from(text);
    if (this.fd === null) this.open();
    if (this.fd === null) return;
    writeSync(this.fd, data);
    this.size += data.length;
    if (this.maxBytes > 0 && this.size >= this.maxBytes) {
      this.closeFd();
      if (this.backups > 0) shiftBackupsSync(this.path, this.backups);
      else unlinkSync(this.path);
      this.open();
    }
  }

  reopen(): void {
    this.closeFd();
    this.open();
  }

  close(): void {
    this.closeFd();
  }

  private open(): void {
    this.fd = openSync(this.path, 'a');
    this.size = statSync(this.path).size;
  }

  private closeFd(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
