// How deep JSON we read may nest. JSON.parse itself takes thousands of levels, but what walks the value
// afterwards (the text rule's checks, src/shared/text.ts; pg's and pino's JSON.stringify) recurses once
// per level: about 5,000 nested arrays in a request body overflowed the stack, and a 500 answered bad
// input. No body of our API or reply of RunningHub comes near the limit (they nest 3 to 6 levels).

export const MAX_JSON_NESTING = 256;

/** JSON text whose arrays and objects nest deeper than allowed. A SyntaxError: it is not JSON we read. */
export class JsonTooDeepError extends SyntaxError {
  override name = 'JsonTooDeepError';
  constructor(readonly limit: number) {
    super(`JSON nested deeper than ${limit} levels of arrays and objects`);
  }
}

/**
 * Throws JsonTooDeepError when `text` opens more than `limit` arrays and objects at once. Brackets inside
 * strings do not count. One pass over the text, before JSON.parse; text that is not JSON passes here and
 * fails there.
 */
export function assertJsonNesting(text: string, limit = MAX_JSON_NESTING): void {
  let depth = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      // Skip the string, honouring backslash escapes.
      for (i++; i < n; i++) {
        const s = text.charCodeAt(i);
        if (s === 0x5c /* \ */) i++;
        else if (s === 0x22) break;
      }
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > limit) throw new JsonTooDeepError(limit);
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth--;
    }
  }
}
