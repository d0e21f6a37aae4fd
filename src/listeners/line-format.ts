// The log forwarder's line format (README "Logs on the container's stdout"), on strings for one line
// and on bytes for a whole event: a JSON object line stays one JSON object with the program and
// stream in front, any other line gets `program | ` (`program (stderr) | `), and a line longer than
// one atomic write goes as `program +| ` parts (splitLine).
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

export const NEWLINE = 0x0a;
export const CR = 0x0d;
export const OPEN_BRACE = 0x7b;
export const CLOSE_BRACE = 0x7d;

/** Per program and channel: the prefix of its plain lines, and the most a JSON line grows by. */
export interface Stream {
  program: string;
  channel: 'stdout' | 'stderr';
  prefix: Buffer;
  /** The prefix's bytes as a latin1 string (one character per byte), for the whole-chunk path. */
  prefixBytesText: string;
  /** The most bytes formatting adds to one line (prefix or JSON keys). */
  growth: number;
  /** The prefix of a part of a line too long for one write, other than its last: `api +| `. */
  continued: Buffer;
}

export function stream(program: string, channel: 'stdout' | 'stderr'): Stream {
  const prefix = Buffer.from(channel === 'stdout' ? `${program} | ` : `${program} (stderr) | `);
  const jsonGrowth = Buffer.byteLength(`{"supervisor_program":${JSON.stringify(program)},"supervisor_stream":"${channel}",`);
  const continued = Buffer.from(channel === 'stdout' ? `${program} +| ` : `${program} (stderr) +| `);
  return { program, channel, prefix, prefixBytesText: prefix.toString('latin1'), growth: Math.max(prefix.length, jsonGrowth) + 1, continued };
}

/**
 * A formatted line longer than one write, as parts that each fit one write (README "Logs on the
 * container's stdout"): `api +| <piece>` for every part but the last, `api | <piece>` for the last,
 * so each part is written atomically and a collector joins a program's `+|` parts with the line that
 * follows them. The pieces, joined, are the formatted line (a JSON line's pieces are its JSON text).
 * Cut between UTF-8 characters. null when the limit leaves no room for a piece.
 */
export function splitLine(info: { prefix: Buffer; continued: Buffer }, line: Buffer, limit: number): Buffer[] | null {
  const body = line.subarray(0, info.prefix.length).equals(info.prefix) ? line.subarray(info.prefix.length) : line;
  const room = limit - Math.max(info.prefix.length, info.continued.length) - 1;
  if (room < 4) return null;
  const parts: Buffer[] = [];
  let start = 0;
  while (body.length - start > room) {
    let end = start + room;
    // Back to the start of a character: never half of one in a part.
    while (end > start + 1 && ((body[end] ?? 0) & 0xc0) === 0x80) end -= 1;
    parts.push(Buffer.concat([info.continued, body.subarray(start, end), NEWLINE_BYTE]));
    start = end;
  }
  parts.push(Buffer.concat([info.prefix, body.subarray(start), NEWLINE_BYTE]));
  return parts;
}

const NEWLINE_BYTE = Buffer.from('\n');

/** `block` (whole formatted lines) with every line longer than `limit` cut into parts (splitLine). */
export function splitLongLines(info: Stream, block: Buffer, limit: number): Buffer {
  if (block.length <= limit) return block;
  const pieces: Buffer[] = [];
  let start = 0;
  let copied = 0;
  while (start < block.length) {
    const newline = block.indexOf(NEWLINE, start);
    const end = newline === -1 ? block.length : newline + 1;
    if (end - start > limit) {
      const parts = splitLine(info, block.subarray(start, end - 1), limit);
      if (parts !== null) {
        if (start > copied) pieces.push(block.subarray(copied, start));
        pieces.push(...parts);
        copied = end;
      }
    }
    start = end;
  }
  if (copied === 0) return block;
  if (copied < block.length) pieces.push(block.subarray(copied));
  return Buffer.concat(pieces);
}

/**
 * Whole lines with no JSON candidate among them, prefixed in one pass over the chunk: as latin1 (a
 * character per byte, so UTF-8 passes through untouched) one replaceAll puts the prefix after every
 * newline, where a loop would cost a few calls per line. null when a line starts with `{`.
 */
export function prefixAll(info: Stream, bytes: Buffer, whole: number): { block: Buffer; lines: number } | null {
  let text = bytes.toString('latin1', 0, whole);
  if (text.includes('\r')) text = text.replaceAll('\r\n', '\n');
  if (text.charCodeAt(0) === OPEN_BRACE || text.includes('\n{')) return null;
  const prefix = info.prefixBytesText;
  const out = `${prefix}${text.slice(0, -1).replaceAll('\n', `\n${prefix}`)}\n`;
  return { block: Buffer.from(out, 'latin1'), lines: (out.length - text.length) / prefix.length };
}
