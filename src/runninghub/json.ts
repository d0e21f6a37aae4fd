import { assertJsonNesting } from '../shared/json-nesting.js';
import { replaceUnsafeTextIn } from '../shared/text.js';

// RunningHub's schema declares task ids as int64 although the examples send strings. A 19-digit id sent
// as a JSON number would be rounded by JSON.parse (Node 20 has no access to a number's source text in a
// reviver), so integer literals too large for a double are turned into strings before parsing.

/**
 * JSON.parse, except that integer literals outside ±(2^53 - 1) come back as their exact decimal strings.
 * Everything else, including small numbers and numbers inside strings, is what JSON.parse gives.
 */
export function parseJsonKeepingBigIntegers(text: string): unknown {
  // Deeper than any reply of RunningHub's: refused as not JSON we read (src/shared/json-nesting.ts).
  assertJsonNesting(text);
  return JSON.parse(quoteUnsafeIntegers(text));
}

function quoteUnsafeIntegers(text: string): string {
  let out: string[] | undefined;
  let copiedUpTo = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const ch = text.charCodeAt(i);
    if (ch === 0x22 /* " */) {
      // Skip a string literal, honouring backslash escapes.
      i++;
      while (i < n) {
        const c = text.charCodeAt(i);
        if (c === 0x5c /* \ */) i += 2;
        else if (c === 0x22) break;
        else i++;
      }
      i++;
      continue;
    }
    if (ch === 0x2d /* - */ || (ch >= 0x30 && ch <= 0x39)) {
      const start = i;
      i++;
      while (i < n && isNumberChar(text.charCodeAt(i))) i++;
      const literal = text.slice(start, i);
      if (/^-?\d+$/.test(literal) && !Number.isSafeInteger(Number(literal))) {
        out ??= [];
        out.push(text.slice(copiedUpTo, start), `"${literal}"`);
        copiedUpTo = i;
      }
      continue;
    }
    i++;
  }
  if (!out) return text;
  out.push(text.slice(copiedUpTo));
  return out.join('');
}

function isNumberChar(c: number): boolean {
  // digits, '.', 'e', 'E', '+', '-'
  return (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d;
}

/**
 * RunningHub's JSON (a reply, a webhook, a JSON string inside one) as we keep it: big integers as
 * strings, and text that cannot be stored (U+0000, lone surrogates; src/shared/text.ts) replaced by
 * U+FFFD, because a task must not be lost over a character in an error message. `onRepaired` gets
 * the paths of the strings that were, for a note in the log.
 */
export function parseRunningHubJson(text: string, onRepaired?: (paths: string[]) => void): unknown {
  const { value, repairedPaths } = replaceUnsafeTextIn(parseJsonKeepingBigIntegers(text));
  if (repairedPaths.length > 0) onRepaired?.(repairedPaths);
  return value;
}
