// Program output on its way into PROCESS_LOG events, kept as bytes: one read of a pipe becomes
// one event (or joins the one waiting before it) without being turned into a JavaScript string,
// and the pools count what they hold in bytes. Only output that is not ASCII is decoded, once, to
// count its characters (supervisord's `len:`) and to replace invalid UTF-8 by U+FFFD.
import { isAscii } from 'node:buffer';

/**
 * A source of output that a pool can stop reading while its listeners are behind (the child's pipe
 * is paused, so the child blocks on write) and read again once they catch up. Several pools may
 * hold one source: it is read only when none does.
 */
export interface OutputFlow {
  hold(holder: object): void;
  release(holder: object): void;
}

/** Output of one read, cut at a whole UTF-8 character: its bytes and how many characters they are. */
export interface LogText {
  data: Buffer;
  characters: number;
}

/** Code points of a string (astral characters count once, as Python's len()). */
export function codePoints(text: string): number {
  let length = text.length;
  // Only astral characters (surrogate pairs) make code points differ from UTF-16 units.
  if (!/[\uD800-\uDBFF]/.test(text)) return length;
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        length -= 1;
        i += 1;
      }
    }
  }
  return length;
}

/** Bytes at the end of `data` that start a UTF-8 character the data does not finish (0–3). */
function unfinishedTail(data: Buffer): number {
  for (let back = 1; back <= Math.min(3, data.length); back += 1) {
    const byte = data[data.length - back] ?? 0;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: look further back
    const needed = byte < 0xc0 ? 1 : byte < 0xe0 ? 2 : byte < 0xf0 ? 3 : byte < 0xf8 ? 4 : 1;
    return needed > back ? back : 0;
  }
  return 0;
}

/**
 * Reads of one stream → whole characters. A character cut between two reads waits for the next
 * read (so neither event carries half of it); ASCII passes through untouched, the rest is decoded
 * once, invalid sequences becoming U+FFFD as Node's StringDecoder would make them.
 */
export class Utf8Chunks {
  private carry: Buffer | null = null;

  push(chunk: Buffer): LogText | null {
    let data = this.carry === null ? chunk : Buffer.concat([this.carry, chunk]);
    this.carry = null;
    if (data.length === 0) return null;
    if (isAscii(data)) return { data, characters: data.length };
    const tail = unfinishedTail(data);
    if (tail > 0) {
      this.carry = Buffer.from(data.subarray(data.length - tail));
      data = data.subarray(0, data.length - tail);
      if (data.length === 0) return null;
    }
    const text = data.toString('utf8');
    return { data: Buffer.from(text), characters: codePoints(text) };
  }
}

/**
 * The most output one merged event carries: supervisord's read size (128 KiB), so a merged event is
 * no bigger than what supervisord reads at once when it falls behind a fast writer.
 */
export const MERGED_OUTPUT_LIMIT = 2 << 16;

/** The output part of a PROCESS_LOG event: header, the reads it carries, their sizes. */
export class LogOutput {
  private readonly chunks: Buffer[];
  private dataBytes: number;
  private dataCharacters: number;
  private readonly headerBytes: Buffer;
  private readonly headerCharacters: number;

  constructor(
    /** process, group, pid and channel; null when the output is not one whole read (capture mode): never merged. */
    readonly key: string | null,
    readonly header: string,
    text: LogText,
    /** The source to hold while a pool is behind (absent: output that cannot wait, e.g. a test's). */
    readonly flow: OutputFlow | undefined,
  ) {
    this.chunks = [text.data];
    this.dataBytes = text.data.length;
    this.dataCharacters = text.characters;
    this.headerBytes = Buffer.from(header);
    this.headerCharacters = codePoints(header);
  }

  /** Payload bytes (header and data). */
  get bytes(): number {
    return this.headerBytes.length + this.dataBytes;
  }

  get characters(): number {
    return this.headerCharacters + this.dataCharacters;
  }

  /** Whether `later` may join this output (same stream, within the merge limit). */
  canTake(later: LogOutput): boolean {
    return this.key !== null && this.key === later.key && this.dataBytes + later.dataBytes <= MERGED_OUTPUT_LIMIT;
  }

  /** Appends `later`'s data (no copy of the bytes). */
  take(later: LogOutput): void {
    for (const chunk of later.chunks) this.chunks.push(chunk);
    this.dataBytes += later.dataBytes;
    this.dataCharacters += later.dataCharacters;
  }

  /** A copy that can grow on its own (the original stays as it is for the other pools holding it). */
  copy(): LogOutput {
    const copy = new LogOutput(this.key, this.header, { data: this.chunks[0] ?? Buffer.alloc(0), characters: 0 }, this.flow);
    copy.chunks.length = 0;
    for (const chunk of this.chunks) copy.chunks.push(chunk);
    copy.dataBytes = this.dataBytes;
    copy.dataCharacters = this.dataCharacters;
    return copy;
  }

  /** The payload's byte pieces, in order. */
  parts(): Buffer[] {
    return [this.headerBytes, ...this.chunks];
  }

  text(): string {
    return this.header + Buffer.concat(this.chunks, this.dataBytes).toString('utf8');
  }
}
