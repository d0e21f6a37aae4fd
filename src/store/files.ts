// Files in a store directory, written so that nothing half-written is ever seen under its final name and
// a committed file survives a crash: the bytes go to a temporary file beside it while their SHA-256 and
// size are counted in the same pass, the file is fdatasync'ed, then one rename and an fsync of its folder.
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { mkdir, open, rename, rm, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface WrittenFile {
  size: number;
  sha256: string;
  /** The first bytes (up to 16), for sniffing the type. */
  head: Uint8Array;
}

/** More bytes than allowed: the temporary file is gone, nothing was stored. */
export class FileTooLargeError extends Error {
  override name = 'FileTooLargeError';
  constructor(readonly maxBytes: number) {
    super(`larger than the limit of ${maxBytes} bytes`);
  }
}

/**
 * Bytes buffered before the sink pushes back: what arrives while one write is on its way to the disk is
 * written next in one writev, so a big file goes out in few large writes and memory stays at this bound.
 */
export const STORE_WRITE_BUFFER_BYTES = 1024 * 1024;

/** Where task `taskId`'s output number `n` (0-based) is kept. */
export function outputFilePath(outputDir: string, taskId: string, n: number): string {
  return path.join(outputDir, taskId, String(n));
}

/** Uploaded images are stored once per content, named by their SHA-256. */
export function uploadFilePath(uploadDir: string, sha256: string): string {
  return path.join(uploadDir, sha256.slice(0, 2), sha256);
}

/**
 * Stream `source` into a temporary file in `dir`, counting SHA-256 and size as the bytes pass; memory stays
 * at STORE_WRITE_BUFFER_BYTES whatever the size. The file's data is on disk (fdatasync) when this resolves.
 * Returns the temporary path: `commitFile` renames it, `discardFile` removes it; on failure nothing is left.
 */
export async function writeToTemporary(
  source: Readable,
  dir: string,
  options: { maxBytes?: number; signal?: AbortSignal } = {},
): Promise<WrittenFile & { temporaryPath: string }> {
  // Opened before the pipeline runs: a failure can then never race the file's creation and leave it behind.
  const { handle, temporaryPath, parentsSynced } = await createTemporaryFile(dir);
  const sink = new HashingFileSink(handle, options.maxBytes);
  try {
    await pipeline(source, sink, options.signal ? { signal: options.signal } : {});
    await handle.close();
    await parentsSynced;
  } catch (error) {
    await handle.close().catch(() => undefined);
    await unlink(temporaryPath).catch(() => undefined);
    await parentsSynced.catch(() => undefined);
    throw error;
  }
  return { temporaryPath, size: sink.size, sha256: sink.hash.digest('hex'), head: sink.head() };
}

/**
 * A new temporary file in `dir` (created with its parents if need be), open for writing. `parentsSynced`
 * resolves once a folder created here is durable in its parent: the caller awaits it before committing the
 * file, and on its failure path too (it never rejects unhandled).
 */
export async function createTemporaryFile(dir: string): Promise<{ handle: FileHandle; temporaryPath: string; parentsSynced: Promise<void> }> {
  // A folder created here is made durable in its parent while the bytes stream (awaited before returning).
  const parentsSynced = syncCreatedDirs(dir, await mkdir(dir, { recursive: true }));
  parentsSynced.catch(() => undefined);
  const temporaryPath = path.join(dir, `.part-${randomBytes(8).toString('hex')}`);
  try {
    return { handle: await open(temporaryPath, 'wx'), temporaryPath, parentsSynced };
  } catch (error) {
    await parentsSynced.catch(() => undefined);
    throw error;
  }
}

/** Writes what it is given to `handle` (batched by writev), hashing each chunk on the way; fdatasync at the end. */
class HashingFileSink extends Writable {
  readonly hash: Hash = createHash('sha256');
  size = 0;
  private readonly headBytes: number[] = [];

  constructor(
    private readonly handle: FileHandle,
    private readonly maxBytes: number | undefined,
  ) {
    super({ highWaterMark: STORE_WRITE_BUFFER_BYTES });
  }

  head(): Uint8Array {
    return Uint8Array.from(this.headBytes);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.writeChunks([chunk], done);
  }

  override _writev(chunks: { chunk: Buffer }[], done: (error?: Error | null) => void): void {
    this.writeChunks(
      chunks.map((c) => c.chunk),
      done,
    );
  }

  override _final(done: (error?: Error | null) => void): void {
    // Data and size on disk before anyone is told the file exists (the rename and its folder's fsync follow).
    this.handle.datasync().then(() => done(), done);
  }

  private writeChunks(chunks: Buffer[], done: (error?: Error | null) => void): void {
    for (const chunk of chunks) {
      this.size += chunk.length;
      if (this.maxBytes !== undefined && this.size > this.maxBytes) {
        done(new FileTooLargeError(this.maxBytes));
        return;
      }
      if (this.headBytes.length < 16) this.headBytes.push(...chunk.subarray(0, 16 - this.headBytes.length));
      this.hash.update(chunk);
    }
    writeFully(this.handle, chunks).then(() => done(), done);
  }
}

/** writev until every byte is written (a regular file may take fewer bytes than asked). */
async function writeFully(handle: FileHandle, chunks: Buffer[]): Promise<void> {
  let pending = chunks;
  while (pending.length > 0) {
    const { bytesWritten } = await handle.writev(pending);
    pending = unwrittenPieces(pending, bytesWritten);
  }
}

/** What is left of `pieces` once a writev took `written` bytes of them (a regular file may take fewer). */
export function unwrittenPieces(pieces: Buffer[], written: number): Buffer[] {
  let skip = written;
  const rest: Buffer[] = [];
  for (const piece of pieces) {
    if (skip >= piece.length) skip -= piece.length;
    else {
      rest.push(skip > 0 ? piece.subarray(skip) : piece);
      skip = 0;
    }
  }
  return rest;
}

/**
 * Give a temporary file its final name (atomic within one file system), then fsync the folder so that the
 * name survives a crash too: once this resolves the file is durable under its final name.
 */
export async function commitFile(temporaryPath: string, finalPath: string, options: { syncDir?: boolean } = {}): Promise<void> {
  // A temporary file beside its final name: the folder exists, and was made durable when it was created.
  if (path.dirname(temporaryPath) !== path.dirname(finalPath)) await makeDurableDir(path.dirname(finalPath));
  await rename(temporaryPath, finalPath);
  // `syncDir: false`: the caller commits several files into one folder and fsyncs it once (syncDir) after the last.
  if (options.syncDir ?? true) await syncDir(path.dirname(finalPath));
}

export async function discardFile(temporaryPath: string): Promise<void> {
  await unlink(temporaryPath).catch(() => undefined);
}

/**
 * mkdir -p, resolving once the folder exists; `durable` resolves once a folder it created is durable in its
 * parent (fsync of the parent). For a caller that writes several files into a new folder: the parent's fsync
 * runs beside the downloads instead of in front of the first one, and is awaited before anyone is told.
 */
export async function createDir(dir: string): Promise<{ durable: Promise<void> }> {
  const durable = syncCreatedDirs(dir, await mkdir(dir, { recursive: true }));
  // Awaited by the caller on success; on its failure path nobody may, and the rejection must not go unhandled.
  durable.catch(() => undefined);
  return { durable };
}

/** mkdir -p; a folder it creates is made durable in its parent (fsync of the parent), so commits below it are too. */
async function makeDurableDir(dir: string): Promise<void> {
  await syncCreatedDirs(dir, await mkdir(dir, { recursive: true }));
}

/** After `mkdir -p dir` created `firstCreated` (undefined: nothing new): fsync the parent of each new folder. */
async function syncCreatedDirs(dir: string, firstCreated: string | undefined): Promise<void> {
  if (firstCreated === undefined) return;
  // Every folder from the first created one down to `dir` is new: fsync each parent, innermost last.
  for (let created = dir; ; created = path.dirname(created)) {
    await syncDir(path.dirname(created));
    if (created === firstCreated || path.dirname(created) === created) break;
  }
}

/**
 * fsync a folder: the names renamed (or folders created) in it before this call survive a crash. Calls for
 * one folder are grouped, as a database groups commits: one fsync serves every caller that came before it
 * started, and callers arriving during it share the next one (downloads side by side pay one, not one each).
 */
export function syncDir(dir: string): Promise<void> {
  let syncer = dirSyncers.get(dir);
  if (!syncer) {
    syncer = new DirSyncer(dir);
    dirSyncers.set(dir, syncer);
  }
  return syncer.sync();
}

const dirSyncers = new Map<string, DirSyncer>();

class DirSyncer {
  private running: Promise<void> | undefined;
  private next: { promise: Promise<void>; start: () => void } | undefined;
  constructor(private readonly dir: string) {}

  sync(): Promise<void> {
    if (!this.running) return this.start();
    // The fsync under way may have started before the caller's change: it gets the next one.
    if (!this.next) {
      let start = (): void => undefined;
      const promise = new Promise<void>((resolve, reject) => {
        start = () => {
          this.start().then(resolve, reject);
        };
      });
      this.next = { promise, start };
    }
    return this.next.promise;
  }

  private start(): Promise<void> {
    const run = fsyncDir(this.dir).finally(() => {
      this.running = undefined;
      const next = this.next;
      this.next = undefined;
      if (next) next.start();
      else if (dirSyncers.get(this.dir) === this) dirSyncers.delete(this.dir);
    });
    this.running = run;
    return run;
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Removes the kept outputs of tasks that retention pruned (their folders under OUTPUT_DIR); a folder that
 * is already gone is fine. Ids are the database's UUIDs, never paths a client chose.
 */
export async function removeTaskOutputs(outputDir: string, taskIds: readonly string[]): Promise<void> {
  for (const id of taskIds) {
    if (!/^[0-9a-f-]{36}$/i.test(id)) throw new Error(`not a task id: ${JSON.stringify(id)}`);
    await rm(path.join(outputDir, id), { recursive: true, force: true });
  }
}
