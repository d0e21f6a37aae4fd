import { describe, expect, it } from 'vitest';
import {
  FormatKeyError,
  FormatSyntaxError,
  pyFormat,
  pyInt,
  pyParseInt,
  pyRepr,
} from '../../../src/supervisor/config/python.js';

const names = new Map<string, string | number>([
  ['program_name', 'web'],
  ['process_num', 3],
  ['numprocs', 2],
  ['here', '/etc'],
]);

describe('pyFormat (Python % with a mapping)', () => {
  // Expected values produced by CPython 3.11.
  it.each([
    ['%(program_name)s-%(process_num)02d', 'web-03'],
    ['%(process_num)d', '3'],
    ['%(process_num)03d', '003'],
    ['%(process_num)-4d|', '3   |'],
    ['%(process_num)x', '3'],
    ['%(process_num)#x', '0x3'],
    ['%(process_num)+d', '+3'],
    ['%(program_name)5s|', '  web|'],
    ['%(program_name)-5s|', 'web  |'],
    ['%(program_name).2s', 'we'],
    ['%(process_num)s', '3'],
    ['%(program_name)r', "'web'"],
    ['%(process_num)05.1f', '003.0'],
    ['%(process_num)e', '3.000000e+00'],
    ['%(process_num)g', '3'],
    ['100%%', '100%'],
    ['%(process_num)c', '\x03'],
    ['no names at all', 'no names at all'],
  ])('%s → %s', (template, expected) => {
    expect(pyFormat(template, names)).toBe(expected);
  });

  it('names a missing key', () => {
    expect(() => pyFormat('sleep %(ENV_NOPE)s', names)).toThrow(FormatKeyError);
    try {
      pyFormat('a %(x)s %(ENV_NOPE)s', names);
    } catch (error) {
      expect((error as FormatKeyError).key).toBe('x');
      expect((error as FormatKeyError).message).toBe("'x'");
    }
  });

  it.each([
    ['sleep 100%', 'incomplete format'],
    ['x %(program_name', 'incomplete format key'],
    ['x %(program_name)', 'incomplete format'],
    ['x %(program_name)z', "unsupported format character 'z' (0x7a) at index 17"],
    ['x %z', "unsupported format character 'z' (0x7a) at index 3"],
    ['x %(program_name)d', '%d format: a real number is required, not str'],
    ['/x%.log', '%o format: an integer is required, not dict'],
    ['%(program_name)s %q', 'not enough arguments for format string'],
    ['%(process_num)*d', '* wants int'],
  ])('%s fails like Python: %s', (template, message) => {
    expect(() => pyFormat(template, names)).toThrow(new FormatSyntaxError(message));
  });
});

describe('pyRepr', () => {
  it.each([
    ['abc', "'abc'"],
    ["a'b", '"a\'b"'],
    ['a"b\'c', "'a\"b\\'c'"],
    ['\x01é\t\\', "'\\x01é\\t\\\\'"],
    ['line\n', "'line\\n'"],
    ['\u200b', "'\\u200b'"],
  ])('%j → %s', (text, expected) => {
    expect(pyRepr(text)).toBe(expected);
  });
});

describe('pyInt', () => {
  it('accepts what int() accepts', () => {
    expect(pyInt(' 1_0 ')).toBe(10);
    expect(pyInt('+5')).toBe(5);
    expect(pyInt('-7')).toBe(-7);
    expect(pyInt('010')).toBe(10);
    expect(pyParseInt('0o17', 8)).toBe(15);
    expect(pyParseInt(' 17 ', 8)).toBe(15);
  });

  it.each(['abc', '', '1.5', '0x10', '1__0', '_1', '1_'])('rejects %j with int()\'s message', (text) => {
    expect(() => pyInt(text)).toThrow(`invalid literal for int() with base 10: ${pyRepr(text)}`);
  });
});
