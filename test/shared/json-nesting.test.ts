import { describe, expect, it } from 'vitest';
import { assertJsonNesting, JsonTooDeepError, MAX_JSON_NESTING } from '../../src/shared/json-nesting.js';
import { findUnsafeTextIn } from '../../src/shared/text.js';

const nested = (depth: number, open = '[', close = ']') => open.repeat(depth) + close.repeat(depth);

describe('assertJsonNesting', () => {
  it('lets through the limit and refuses one level more, arrays and objects alike', () => {
    expect(() => assertJsonNesting(nested(MAX_JSON_NESTING))).not.toThrow();
    expect(() => assertJsonNesting(nested(MAX_JSON_NESTING + 1))).toThrow(JsonTooDeepError);
    const objects = '{"a":'.repeat(11) + '1' + '}'.repeat(11);
    expect(() => assertJsonNesting(objects, 11)).not.toThrow();
    expect(() => assertJsonNesting(`[${objects}]`, 11)).toThrow('JSON nested deeper than 11 levels of arrays and objects');
  });

  it('counts depth, not brackets: siblings do not add up', () => {
    expect(() => assertJsonNesting(`[${'[1],'.repeat(10_000)}[2]]`, 2)).not.toThrow();
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    expect(() => assertJsonNesting(JSON.stringify({ s: '[[[[{{{{', t: 'a \\" [[[[ " {{' }), 1)).not.toThrow();
    expect(() => assertJsonNesting(String.raw`["\"[[[[[[", ["x"]]`, 2)).not.toThrow();
    expect(() => assertJsonNesting(String.raw`["\\", [["x"]]]`, 2)).toThrow(JsonTooDeepError);
  });

  it('is a SyntaxError: callers that refuse text that is not JSON refuse this too', () => {
    expect(new JsonTooDeepError(3)).toBeInstanceOf(SyntaxError);
  });

  it('refuses, before it is parsed, what the text rule could not walk', () => {
    // Why the limit exists: the checks that walk a parsed value recurse once per level.
    const deep = nested(20_000);
    expect(() => findUnsafeTextIn(JSON.parse(deep))).toThrow(RangeError);
    expect(() => assertJsonNesting(deep)).toThrow(JsonTooDeepError);
  });
});
