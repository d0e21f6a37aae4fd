import { describe, expect, it } from 'vitest';
import { parseJsonKeepingBigIntegers, parseRunningHubJson } from '../../src/runninghub/index.js';
import { JsonTooDeepError, MAX_JSON_NESTING } from '../../src/shared/json-nesting.js';

describe('parseJsonKeepingBigIntegers', () => {
  it('keeps a 19-digit integer beyond 2^53 exact, as a string', () => {
    const text = '{"code":0,"data":{"taskId":1910246754753896451}}';
    // What plain JSON.parse would do to it:
    expect(String((JSON.parse(text) as { data: { taskId: number } }).data.taskId)).not.toBe('1910246754753896451');
    expect(parseJsonKeepingBigIntegers(text)).toEqual({ code: 0, data: { taskId: '1910246754753896451' } });
  });

  it('leaves safe numbers, decimals, exponents and negatives as numbers', () => {
    expect(parseJsonKeepingBigIntegers('[0, 42, -7, 9007199254740991, 1.5, 1e21, -2.5E3]')).toEqual([0, 42, -7, 9007199254740991, 1.5, 1e21, -2500]);
  });

  it('quotes unsafe negative integers too', () => {
    expect(parseJsonKeepingBigIntegers('{"a":-9007199254740993}')).toEqual({ a: '-9007199254740993' });
  });

  it('does not touch digits inside strings, including escaped quotes', () => {
    const text = String.raw`{"s":"id 1910246754753896451 \" 1910246754753896452","n":1910246754753896453}`;
    expect(parseJsonKeepingBigIntegers(text)).toEqual({ s: 'id 1910246754753896451 " 1910246754753896452', n: '1910246754753896453' });
  });

  it('still rejects invalid JSON', () => {
    expect(() => parseJsonKeepingBigIntegers('{"code":0,"data":{"taskId":')).toThrow(SyntaxError);
  });
});

describe('parseRunningHubJson and nesting', () => {
  it('refuses a reply nested deeper than MAX_JSON_NESTING as not JSON, and reads one at the limit', () => {
    const at = '{"code":0,"data":' + '['.repeat(MAX_JSON_NESTING - 1) + ']'.repeat(MAX_JSON_NESTING - 1) + '}';
    expect(parseRunningHubJson(at)).toMatchObject({ code: 0 });
    const deeper = '{"code":0,"data":' + '['.repeat(20_000) + ']'.repeat(20_000) + '}';
    expect(() => parseRunningHubJson(deeper)).toThrow(JsonTooDeepError);
    expect(() => parseJsonKeepingBigIntegers(deeper)).toThrow(SyntaxError);
  });
});
