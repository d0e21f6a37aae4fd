// Writes a download's body pieces (views of the socket's read buffers, http-get.ts) to its temporary
// file, hashing them as they arrive: one pass over the bytes, no copy. Pieces that arrive while a write is
// on its way to the disk go out next in one writev; each piece is given back (`release`) once written, so
// the socket's buffers come back as fast as the disk takes them.
import { createHash } from 'node:crypto';
import { writev } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { FileTooLargeError, unwrittenPieces } from './files.js';

/** iovecs per writev (the kernel's IOV_MAX is 1024). */
const MAX_PIECES_PER_WRITE = 1024;

export class HashingPieceWriter {
  private readonly hash = createHash('sha256');
  size = 0;
  private readonly headBytes: number[] = [];
  /** Pieces waiting for the next writev, each with the releases of the reads it joins. */
  private queued: { piece: Buffer; releases: (() => void)[] }[] = [];
  private writing = false;
  private error: Error | undefined;
  private idle: (() => void) | undefined;

  constructor(
    private readonly handle: FileHandle,
    private readonly maxBytes: number | undefined,
  ) {}

  /** Takes a piece (hashed now, written soon); throws FileTooLargeError past the limit, or a write's error. */
  write(piece: Buffer, release: () => void): void {
    if (this.error) {
      release();
      throw this.error;
    }
    this.size += piece.length;
    if (this.maxBytes !== undefined && this.size > this.maxBytes) {
      release();
      throw new FileTooLargeError(this.maxBytes);
    }
    if (this.headBytes.length < 16) this.headBytes.push(...piece.subarray(0, 16 - this.headBytes.length));
    this.hash.update(piece);
    const last = this.queued.at(-1);
    // Consecutive reads land side by side in one buffer: one iovec for both.
    if (last && last.piece.buffer === piece.buffer && last.piece.byteOffset + last.piece.length === piece.byteOffset) {
      last.piece = Buffer.from(last.piece.buffer, last.piece.byteOffset, last.piece.length + piece.length);
      last.releases.push(release);
    } else this.queued.push({ piece, releases: [release] });
    if (!this.writing) this.writeQueued();
  }

  head(): Uint8Array {
    return Uint8Array.from(this.headBytes);
  }

  sha256(): string {
    return this.hash.digest('hex');
  }

  /** Resolves once every piece taken is written (rejects with a write's error). */
  flushed(): Promise<void> {
    if (!this.writing) return this.error ? Promise.reject(this.error) : Promise.resolve();
    return new Promise((resolve, reject) => {
      this.idle = () => (this.error ? reject(this.error) : resolve());
    });
  }

  private writeQueued(): void {
    const batch = this.queued.splice(0, MAX_PIECES_PER_WRITE);
    this.writing = true;
    writeAll(
      this.handle.fd,
      batch.map((q) => q.piece),
      (error) => {
        for (const q of batch) for (const release of q.releases) release();
        if (error && !this.error) this.error = error;
        if (this.queued.length > 0 && !this.error) {
          this.writeQueued();
          return;
        }
        // After a failed write nothing more is written: the rest's buffers go back too.
        for (const q of this.queued.splice(0)) for (const release of q.releases) release();
        this.writing = false;
        const idle = this.idle;
        this.idle = undefined;
        idle?.();
      },
    );
  }
}

/** writev until every byte is written (a regular file may take fewer bytes than asked). */
function writeAll(fd: number, pieces: Buffer[], done: (error: Error | null) => void): void {
  writev(fd, pieces, (error, written) => {
    if (error) {
      done(error);
      return;
    }
    const rest = unwrittenPieces(pieces, written);
    if (rest.length > 0) writeAll(fd, rest, done);
    else done(null);
  });
}
