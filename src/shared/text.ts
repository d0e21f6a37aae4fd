// The one rule for text that comes in from outside: it must be well-formed Unicode (no lone UTF-16
// surrogates), hold no U+0000, and, when it arrives as bytes, be valid UTF-8. PostgreSQL's `text`
// cannot hold U+0000, and a lone surrogate is silently turned into U+FFFD on its way to the
// database, so text breaking the rule is either refused (what a client sends: a 400 naming the
// field) or repaired with a note in the log (what RunningHub sends: a task must not be lost over a
// character in an error message). Every boundary uses the functions below, never its own check.

export type UnsafeTextReason = 'nul' | 'lone-surrogate';

export interface UnsafeTextFinding {
  reason: UnsafeTextReason;
  /** UTF-16 index of the offending character. */
  index: number;
  /** The code unit, e.g. 0xd800. */
  codeUnit: number;
}

// Without the `u` flag, so that the regex sees UTF-16 code units and can find lone surrogates.
// eslint-disable-next-line no-control-regex -- U+0000 is one of the characters this rule refuses
const UNSAFE_CHARACTER_RE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const UNSAFE_CHARACTER_GLOBAL_RE = new RegExp(UNSAFE_CHARACTER_RE.source, 'g');

/** The first character breaking the rule, or null when `text` is safe. */
export function findUnsafeText(text: string): UnsafeTextFinding | null {
  const match = UNSAFE_CHARACTER_RE.exec(text);
  if (match === null) return null;
  const codeUnit = text.charCodeAt(match.index);
  return { reason: codeUnit === 0 ? 'nul' : 'lone-surrogate', index: match.index, codeUnit };
}

export function isSafeText(text: string): boolean {
  return findUnsafeText(text) === null;
}

/** "contains U+0000 (NUL) at character 2", for error messages. */
export function describeUnsafeText(finding: UnsafeTextFinding): string {
  const unit = `U+${finding.codeUnit.toString(16).toUpperCase().padStart(4, '0')}`;
  return finding.reason === 'nul'
    ? `contains ${unit} (NUL) at character ${finding.index + 1}; text cannot hold NUL characters`
    : `contains a lone surrogate ${unit} at character ${finding.index + 1}; text must be well-formed Unicode`;
}

export type TextPath = (string | number)[];

export interface UnsafeTextIssue {
  /** Where in the value: object keys and array indexes, e.g. ['nodeInfoList', 0, 'fieldValue']. */
  path: TextPath;
  message: string;
}

/** Every string inside `value` (object keys included) that breaks the rule, with its path. */
export function findUnsafeTextIn(value: unknown, path: TextPath = [], found: UnsafeTextIssue[] = []): UnsafeTextIssue[] {
  if (typeof value === 'string') {
    const finding = findUnsafeText(value);
    if (finding) found.push({ path, message: describeUnsafeText(finding) });
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => findUnsafeTextIn(item, [...path, index], found));
  } else if (value !== null && typeof value === 'object' && !ArrayBuffer.isView(value) && !(value instanceof Date)) {
    for (const [key, member] of Object.entries(value)) {
      const finding = findUnsafeText(key);
      // The path itself must be safe to print: a bad key is named with its bad characters replaced.
      const safeKey = finding ? replaceUnsafeText(key).text : key;
      if (finding) found.push({ path: [...path, safeKey], message: `field name ${describeUnsafeText(finding)}` });
      findUnsafeTextIn(member, [...path, safeKey], found);
    }
  }
  return found;
}

/** "nodeInfoList.0.fieldValue" */
export function formatTextPath(path: TextPath): string {
  return path.map(String).join('.');
}

// --- bytes ------------------------------------------------------------------------------------------

const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const lenientDecoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** The text of UTF-8 `bytes`, or undefined when they are not valid UTF-8. A BOM is kept as U+FEFF. */
export function decodeUtf8Strict(bytes: Uint8Array): string | undefined {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    return undefined;
  }
}

export interface InvalidUtf8 {
  /** Byte offset of the first byte that cannot be decoded. */
  position: number;
  /** Offset after the last byte of the broken sequence (position + 1 for a single byte). */
  end: number;
  reason: 'invalid start byte' | 'invalid continuation byte' | 'unexpected end of data';
}

/**
 * Where `bytes` stop being UTF-8, by the same maximal-subpart rule as Python's and WHATWG's decoders
 * (so a message can name the byte like Python's `'utf-8' codec can't decode byte 0xff in position 3`).
 */
export function findInvalidUtf8(bytes: Uint8Array): InvalidUtf8 | null {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i]!;
    if (lead < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let low = 0x80;
    let high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) need = 1;
    else if (lead >= 0xe0 && lead <= 0xef) {
      need = 2;
      if (lead === 0xe0) low = 0xa0;
      if (lead === 0xed) high = 0x9f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      need = 3;
      if (lead === 0xf0) low = 0x90;
      if (lead === 0xf4) high = 0x8f;
    } else return { position: i, end: i + 1, reason: 'invalid start byte' };
    let j = i + 1;
    for (let k = 0; k < need; k++, j++) {
      if (j >= bytes.length) return { position: i, end: j, reason: 'unexpected end of data' };
      const byte = bytes[j]!;
      if (byte < low || byte > high) return { position: i, end: j, reason: 'invalid continuation byte' };
      low = 0x80;
      high = 0xbf;
    }
    i = j;
  }
  return null;
}

/** Python's UnicodeDecodeError text: `'utf-8' codec can't decode byte 0xff in position 3: invalid start byte`. */
export function describeInvalidUtf8(bytes: Uint8Array, invalid: InvalidUtf8): string {
  if (invalid.end - invalid.position <= 1) {
    const byte = bytes[invalid.position] ?? 0;
    return `'utf-8' codec can't decode byte 0x${byte.toString(16).padStart(2, '0')} in position ${invalid.position}: ${invalid.reason}`;
  }
  return `'utf-8' codec can't decode bytes in position ${invalid.position}-${invalid.end - 1}: ${invalid.reason}`;
}

/**
 * UTF-8 bytes as text where every undecodable sequence is replaced by U+DFFF, a lone surrogate, which
 * valid UTF-8 can never produce: after parsing (JSON, a form), findUnsafeTextIn then names the field
 * that held the bad bytes. `invalid` is the first bad sequence, null when the bytes were all UTF-8.
 */
export function decodeUtf8Marking(bytes: Uint8Array): { text: string; invalid: InvalidUtf8 | null } {
  const strict = decodeUtf8Strict(bytes);
  if (strict !== undefined) return { text: strict, invalid: null };
  let text = '';
  let first: InvalidUtf8 | null = null;
  let rest = bytes;
  for (;;) {
    const invalid = findInvalidUtf8(rest);
    if (invalid === null) break;
    first ??= { ...invalid, position: invalid.position + (bytes.length - rest.length), end: invalid.end + (bytes.length - rest.length) };
    text += strictDecoder.decode(rest.subarray(0, invalid.position)) + INVALID_UTF8_MARKER;
    rest = rest.subarray(invalid.end);
  }
  return { text: text + strictDecoder.decode(rest), invalid: first };
}

export const INVALID_UTF8_MARKER = '\uDFFF';

// --- repairing text we must keep (RunningHub's replies) ---------------------------------------------

/** `text` with every character breaking the rule replaced by U+FFFD, and how many were. */
export function replaceUnsafeText(text: string): { text: string; replaced: number } {
  if (findUnsafeText(text) === null) return { text, replaced: 0 };
  let replaced = 0;
  const repaired = text.replace(UNSAFE_CHARACTER_GLOBAL_RE, () => {
    replaced++;
    return '\uFFFD';
  });
  return { text: repaired, replaced };
}

/** UTF-8 bytes as text, undecodable sequences as U+FFFD; `repaired` says whether any were. */
export function decodeUtf8Replacing(bytes: Uint8Array): { text: string; repaired: boolean } {
  const strict = decodeUtf8Strict(bytes);
  if (strict !== undefined) return { text: strict, repaired: false };
  return { text: lenientDecoder.decode(bytes), repaired: true };
}

/**
 * A copy of a parsed JSON value with every string (and key) repaired, and the paths that were.
 * Values that need no repair are returned as they are (same object).
 */
export function replaceUnsafeTextIn(value: unknown, path: TextPath = [], repairedPaths: string[] = []): { value: unknown; repairedPaths: string[] } {
  const walk = (node: unknown, at: TextPath): unknown => {
    if (typeof node === 'string') {
      const { text, replaced } = replaceUnsafeText(node);
      if (replaced > 0) repairedPaths.push(replaceUnsafeText(formatTextPath(at)).text || '(value)');
      return text;
    }
    if (Array.isArray(node)) {
      let copy: unknown[] | undefined;
      node.forEach((item, index) => {
        const repaired = walk(item, [...at, index]);
        if (repaired !== item) (copy ??= [...node])[index] = repaired;
      });
      return copy ?? node;
    }
    if (node !== null && typeof node === 'object') {
      let changed = false;
      const entries = Object.entries(node).map(([key, member]): [string, unknown] => {
        const repairedKey = walk(key, [...at, key]) as string;
        const repairedMember = walk(member, [...at, repairedKey]);
        if (repairedKey !== key || repairedMember !== member) changed = true;
        return [repairedKey, repairedMember];
      });
      return changed ? Object.fromEntries(entries) : node;
    }
    return node;
  };
  return { value: walk(value, path), repairedPaths };
}
