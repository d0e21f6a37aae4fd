// Python's shlex in the two modes supervisord uses:
//  - shlex.split(command) (POSIX mode, whitespace_split) when it spawns a program;
//  - shlex.shlex(text) (non-POSIX, '#' comments, extra word chars) to read `environment=`.
// Their odd corners (quotes kept in non-POSIX tokens, '#' swallowing the rest of a line)
// are what make supervisord accept or reject a value, so they are reproduced, not improved.

import { PyValueError } from './python.js';

const WHITESPACE = ' \t\r\n';
const QUOTES = '\'"';
const ASCII_WORDCHARS = 'abcdfeghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_';

/**
 * Split a command line as supervisord does before exec (`shlex.split`): POSIX quoting and
 * backslash escapes, no comments, newlines separate words. Throws PyValueError
 * (`No closing quotation`, `No escaped character`) as shlex does.
 */
export function splitCommand(command: string): string[] {
  const words: string[] = [];
  let state: 'space' | 'word' | 'single' | 'double' | 'escape' = 'space';
  let escapeReturn: 'word' | 'double' = 'word';
  let token = '';
  let quoted = false;
  const emit = (): void => {
    if (token !== '' || quoted) words.push(token);
    token = '';
    quoted = false;
  };
  for (const ch of command) {
    switch (state) {
      case 'space':
      case 'word':
        if (WHITESPACE.includes(ch)) {
          if (state === 'word') emit();
          state = 'space';
        } else if (ch === '\\') {
          escapeReturn = 'word';
          state = 'escape';
        } else if (ch === "'") state = 'single';
        else if (ch === '"') state = 'double';
        else {
          token += ch;
          state = 'word';
        }
        break;
      case 'single':
        quoted = true;
        if (ch === "'") state = 'word';
        else token += ch;
        break;
      case 'double':
        quoted = true;
        if (ch === '"') state = 'word';
        else if (ch === '\\') {
          escapeReturn = 'double';
          state = 'escape';
        } else token += ch;
        break;
      case 'escape':
        // Inside double quotes only `"` and `\` can be escaped; other backslashes stay.
        if (escapeReturn === 'double' && ch !== '"' && ch !== '\\') token += '\\';
        token += ch;
        state = escapeReturn;
        break;
    }
  }
  if (state === 'single' || state === 'double') throw new PyValueError('No closing quotation');
  if (state === 'escape') throw new PyValueError('No escaped character');
  emit();
  return words;
}

/**
 * The tokens of non-POSIX `shlex.shlex(text)` with `wordchars += extraWordchars`:
 * quoted strings keep their quotes, any other punctuation is a one-character token,
 * and `#` discards the rest of its line (without ending the current word).
 */
export function nonPosixTokens(text: string, extraWordchars: string): string[] {
  const wordchars = ASCII_WORDCHARS + extraWordchars;
  const chars = [...text];
  const tokens: string[] = [];
  let i = 0;
  const skipLine = (): void => {
    while (i < chars.length && chars[i] !== '\n') i += 1;
    if (i < chars.length) i += 1;
  };
  let state: string = 'space'; // 'space', 'word', or the quote character being read
  let token = '';
  while (i <= chars.length) {
    const ch = i < chars.length ? (chars[i] ?? '') : '';
    i += 1;
    if (state === 'space') {
      if (ch === '') break;
      if (WHITESPACE.includes(ch)) {
        if (token !== '') {
          tokens.push(token);
          token = '';
        }
      } else if (ch === '#') skipLine();
      else if (wordchars.includes(ch)) {
        token = ch;
        state = 'word';
      } else if (QUOTES.includes(ch)) {
        token = ch;
        state = ch;
      } else {
        tokens.push(ch);
        token = '';
      }
    } else if (state === 'word') {
      if (ch === '') {
        break;
      } else if (WHITESPACE.includes(ch)) {
        state = 'space';
        tokens.push(token);
        token = '';
      } else if (ch === '#') {
        skipLine();
      } else if (wordchars.includes(ch) || QUOTES.includes(ch)) {
        token += ch;
      } else {
        tokens.push(token);
        tokens.push(ch);
        token = '';
        state = 'space';
      }
    } else {
      // Inside a quoted string opened by `state`.
      if (ch === '') throw new PyValueError('No closing quotation');
      token += ch;
      if (ch === state) {
        tokens.push(token);
        token = '';
        state = 'space';
      }
    }
  }
  if (token !== '') tokens.push(token);
  return tokens;
}
