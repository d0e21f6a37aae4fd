import { describe, expect, it } from 'vitest';
import { nonPosixTokens, splitCommand } from '../../../src/supervisor/config/shlex.js';

describe('splitCommand (shlex.split)', () => {
  // Expected values produced by CPython 3.11 shlex.split.
  it.each([
    ['a "b c" d', ['a', 'b c', 'd']],
    ["a 'b\\\\c' d", ['a', 'b\\\\c', 'd']],
    ['a\\ b', ['a b']],
    ['x "a\\"b" "a\\nb"', ['x', 'a"b', 'a\\nb']],
    ['a\nb', ['a', 'b']],
    ['', []],
    ['  ', []],
    ['a "" b', ['a', '', 'b']],
    ["sh -c 'exit 3'", ['sh', '-c', 'exit 3']],
    ['/bin/echo # not a comment', ['/bin/echo', '#', 'not', 'a', 'comment']],
  ])('%j → %j', (command, argv) => {
    expect(splitCommand(command)).toEqual(argv);
  });

  it('fails on an open quote or a trailing backslash', () => {
    expect(() => splitCommand("it's")).toThrow('No closing quotation');
    expect(() => splitCommand('a \\')).toThrow('No escaped character');
  });
});

describe('non-POSIX shlex tokens (environment=)', () => {
  it('keeps quotes on tokens and splits punctuation into single tokens', () => {
    expect(nonPosixTokens('KEY=val,K2="v, w"', '/.+-():')).toEqual(['KEY', '=', 'val', ',', 'K2', '=', '"v, w"']);
    expect(nonPosixTokens('A=a@b', '/.+-():')).toEqual(['A', '=', 'a', '@', 'b']);
  });

  it('lets # swallow the rest of its line without ending the word', () => {
    expect(nonPosixTokens('A=x#y\nB=2', '/.+-():')).toEqual(['A', '=', 'xB', '=', '2']);
  });

  it('fails on an unclosed quote', () => {
    expect(() => nonPosixTokens('A="x', '')).toThrow('No closing quotation');
  });
});
