// Files in a store directory, written so that nothing half-written is ever seen under its final name:
// the bytes go to a temporary file beside it while their SHA-256 and size are counted, then one rename.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
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

/** Where task `taskId`'s output number `n` (0-based) is kept. */
export function outputFilePath(outputDir: string, taskId: string, n: number): string {
  return path.join(outputDir, taskId, String(n));
}

/** Uploaded images are stored once per content, named by their SHA-256. */
export function uploadFilePath(uploadDir: string, sha256: string): string {
  return path.join(uploadDir, sha256.slice(0, 2), sha256);
}

/**
 * Stream `source` into a temporary file in `dir`, counting SHA-256 and size; memory stays at one
 * chunk whatever the size. Returns the temporary path: `commit` renames it, `discard` removes it.
 */
export async function writeToTemporary(
  source: Readable,
  dir: string,
  options: { maxBytes?: number; signal?: AbortSignal } = {},
): Promise<WrittenFile & { temporaryPath: string }> {
  await mkdir(dir, { recursive: true });
  const temporaryPath = path.join(dir, `.part-${randomBytes(8).toString('hex')}`);
  const hash = createHash('sha256');
  let size = 0;
  const head: number[] = [];
  const count = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      if (options.maxBytes !== undefined && size > options.maxBytes) {
        done(new FileTooLargeError(options.maxBytes));
        return;
      }
      if (head.length < 16) head.push(...chunk.subarray(0, 16 - head.length));
      hash.update(chunk);
      done(null, chunk);
    },
  });
  // Opened before the pipeline runs: a failure can then never race the file's creation and leave it behind.
  const handle = await open(temporaryPath, 'wx');
  try {
    // 1 MiB buffers: a big file is written in few large writes.
    await pipeline(source, count, handle.createWriteStream({ highWaterMark: 1024 * 1024 }), options.signal ? { signal: options.signal } : {});
  } catch (error) {
    await handle.close().catch(() => undefined);
    await unlink(temporaryPath).catch(() => undefined);
    throw error;
  }
  return { temporaryPath, size, sha256: hash.digest('hex'), head: Uint8Array.from(head) };
}

/** Give a temporary file its final name (atomic within one file system). */
export async function commitFile(temporaryPath: string, finalPath: string): Promise<void> {
  await mkdir(path.dirname(finalPath), { recursive: true });
  await rename(temporaryPath, finalPath);
}

export async function discardFile(temporaryPath: string): Promise<void> {
  await unlink(temporaryPath).catch(() => undefined);
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
