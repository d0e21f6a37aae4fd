// fast-check arbitraries of hostile text for the property tests of issue 15: NUL, lone surrogates,
// characters XML forbids, bytes that are not UTF-8, mixed with ordinary and tricky-but-valid text.
// The oracle below is written independently of src/shared/text.ts, so the tests check the rule.
import fc from 'fast-check';

/** The fixed seed of every property test on hostile text (reproducible in CI). */
export const HOSTILE_SEED = 1_515;

const pieces = fc.constantFrom(
  '\u0000',
  '\ud800',
  '\udbff',
  '\udc00',
  '\udfff',
  '\ud83d\ude00',
  '\ud83d',
  '\ufffd',
  '\ufeff',
  '\ufffe',
  '\u0001',
  '\u001b[31m',
  '\t',
  '\n',
  '\u00e9',
  'e\u0301',
  '海',
  '%',
  '%00',
  '%FF',
  '%ED%A0%80',
  '&',
  '&amp;',
  '&#0;',
  '<',
  ']]>',
  '=',
  '+',
  '#',
  '?',
  '/',
  '\\',
  '"',
  "'",
  ',',
  ' ',
  'PENDING',
);

/** Text as a JS string: may be well-formed or not. */
export const hostileString: fc.Arbitrary<string> = fc
  .array(fc.oneof({ weight: 3, arbitrary: pieces }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 3 }) }, fc.string({ maxLength: 4 })), {
    minLength: 1,
    maxLength: 6,
  })
  .map((parts) => parts.join(''));

/** Bytes, UTF-8 or not. */
export const hostileBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  hostileString.map((text) => new Uint8Array(Buffer.from(text.replace(/[\ud800-\udfff]/g, 'x'), 'utf8'))),
  fc.uint8Array({ minLength: 1, maxLength: 8 }),
  fc.constantFrom(
    Uint8Array.from([0xff, 0xfe]),
    Uint8Array.from([0xed, 0xa0, 0x80]),
    Uint8Array.from([0xc3]),
    Uint8Array.from([0x61, 0x00, 0x62]),
    Uint8Array.from([0xf0, 0x9f, 0x98, 0x80]),
  ),
);

/** Independent oracle: no U+0000 and no lone surrogate (UTF-8 round trip is lossless). */
export function isStorableText(text: string): boolean {
  return !text.includes('\u0000') && Buffer.from(text, 'utf8').toString('utf8') === text;
}

/** Independent oracle for bytes: valid UTF-8 (a lossless round trip) holding storable text. */
export function storableTextOfBytes(bytes: Uint8Array): string | undefined {
  const text = Buffer.from(bytes).toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(Buffer.from(bytes))) return undefined;
  return isStorableText(text) ? text : undefined;
}

/** Every byte percent-encoded, so that the URL carries exactly these bytes. */
export function percentEncodeBytes(bytes: Uint8Array): string {
  return [...bytes].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
}
