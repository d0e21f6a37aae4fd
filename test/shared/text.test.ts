// Unit and property tests of the text rule (src/shared/text.ts), against oracles written without it:
// Node's UTF-8 round trip for well-formedness, and Python's own decoder for the messages about bytes.
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  decodeUtf8Marking,
  decodeUtf8Replacing,
  decodeUtf8Strict,
  describeInvalidUtf8,
  findInvalidUtf8,
  findUnsafeText,
  findUnsafeTextIn,
  replaceUnsafeText,
  replaceUnsafeTextIn,
} from '../../src/shared/text.js';
import { safeText } from '../../src/shared/text-schema.js';
import { HOSTILE_SEED, hostileBytes, hostileString, isStorableText } from '../support/hostile-text.js';

const runs = { seed: HOSTILE_SEED, numRuns: 500 };

describe('the text rule', () => {
  it('finds NUL and lone surrogates, and nothing else', () => {
    expect(findUnsafeText('plain é 海 \ud83d\ude00 \ufffd \ufeff')).toBeNull();
    expect(findUnsafeText('a\u0000b')).toEqual({ reason: 'nul', index: 1, codeUnit: 0 });
    expect(findUnsafeText('ab\ud800')).toEqual({ reason: 'lone-surrogate', index: 2, codeUnit: 0xd800 });
    expect(findUnsafeText('\udc00\ud83d\ude00')).toEqual({ reason: 'lone-surrogate', index: 0, codeUnit: 0xdc00 });
    expect(findUnsafeText('\ud83d\ud83d\ude00')).toEqual({ reason: 'lone-surrogate', index: 0, codeUnit: 0xd83d });
  });

  it('agrees with the UTF-8 round trip on any string, and repairs into safe text', () => {
    fc.assert(
      fc.property(fc.oneof(hostileString, fc.string({ unit: 'binary' })), (text) => {
        expect(findUnsafeText(text) === null).toBe(isStorableText(text));
        const { text: repaired, replaced } = replaceUnsafeText(text);
        expect(isStorableText(repaired)).toBe(true);
        expect(replaced === 0).toBe(isStorableText(text));
        if (replaced === 0) expect(repaired).toBe(text);
        // Same as the independent repair: U+FFFD for each lone surrogate (UTF-8 round trip) and NUL.
        expect(repaired).toBe(Buffer.from(text, 'utf8').toString('utf8').replaceAll('\u0000', '\ufffd'));
      }),
      runs,
    );
  });

  it('names every unsafe string in a value by path, keys included, and repairs a copy', () => {
    const value = { a: ['ok', 'x\u0000'], ['k\ud800']: { deep: '\udfff' }, n: 1, b: true, z: null };
    expect(findUnsafeTextIn(value).map((issue) => issue.path)).toEqual([['a', 1], ['k\ufffd'], ['k\ufffd', 'deep']]);
    const { value: repaired, repairedPaths } = replaceUnsafeTextIn(value);
    expect(repaired).toEqual({ a: ['ok', 'x\ufffd'], ['k\ufffd']: { deep: '\ufffd' }, n: 1, b: true, z: null });
    expect(repairedPaths).toEqual(['a.1', 'k\ud800', 'k\ufffd.deep'].map((p) => replaceUnsafeText(p).text));
    const clean = { a: ['ok'] };
    expect(replaceUnsafeTextIn(clean).value).toBe(clean);
  });

  it('is a zod refinement that keeps the other checks', () => {
    const schema = z.object({ name: safeText().min(1).max(3) });
    expect(schema.safeParse({ name: 'abc' }).success).toBe(true);
    const issues = schema.safeParse({ name: 'a\u0000' }).error?.issues ?? [];
    expect(issues).toEqual([expect.objectContaining({ path: ['name'], message: expect.stringContaining('U+0000 (NUL) at character 2') })]);
    expect(schema.safeParse({ name: 'abcd' }).success).toBe(false);
  });
});

describe('bytes', () => {
  it('decodes strictly, marks bad sequences with a lone surrogate, or replaces them with U+FFFD', () => {
    fc.assert(
      fc.property(hostileBytes, (bytes) => {
        const lossless = Buffer.from(Buffer.from(bytes).toString('utf8'), 'utf8').equals(Buffer.from(bytes));
        expect(decodeUtf8Strict(bytes) !== undefined).toBe(lossless);
        expect(findInvalidUtf8(bytes) === null).toBe(lossless);
        const marked = decodeUtf8Marking(bytes);
        expect(marked.invalid === null).toBe(lossless);
        // The marker is a lone surrogate, which valid UTF-8 cannot produce.
        if (!lossless) expect(findUnsafeText(marked.text.replaceAll('\u0000', ''))?.reason).toBe('lone-surrogate');
        const replaced = decodeUtf8Replacing(bytes);
        expect(replaced).toEqual({ text: Buffer.from(bytes).toString('utf8'), repaired: !lossless });
        // Marking and replacing agree on where the bad sequences were.
        expect(marked.text.replaceAll('\udfff', '\ufffd')).toBe(replaced.text);
      }),
      runs,
    );
  });

  it("names the first bad sequence exactly as Python's UTF-8 decoder does", () => {
    const samples = fc.sample(fc.oneof(hostileBytes, fc.uint8Array({ minLength: 1, maxLength: 10 })), { seed: HOSTILE_SEED, numRuns: 300 });
    const invalid = samples.filter((bytes) => findInvalidUtf8(bytes) !== null);
    expect(invalid.length).toBeGreaterThan(50);
    const python = spawnSync(
      'python3',
      ['-c', 'import sys\nfor line in sys.stdin:\n    try:\n        bytes.fromhex(line.strip()).decode("utf-8")\n    except UnicodeDecodeError as e:\n        print(e)\n'],
      { input: invalid.map((bytes) => Buffer.from(bytes).toString('hex')).join('\n'), encoding: 'utf8' },
    );
    expect(python.status).toBe(0);
    expect(invalid.map((bytes) => describeInvalidUtf8(bytes, findInvalidUtf8(bytes)!))).toEqual(python.stdout.trimEnd().split('\n'));
  });
});
