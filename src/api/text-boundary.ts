// The rule of src/shared/text.ts at the API's boundaries, applied where each part of a request is
// parsed, for every route at once: the JSON body parser decodes bytes strictly and checks every
// string (keys too), the querystring parser percent-decodes to bytes and decodes them strictly, and
// one preValidation hook checks what the router decoded (path parameters, the query) and the
// headers we store. A request breaking the rule gets 400 INVALID_TEXT naming the field.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  decodeUtf8Marking,
  describeInvalidUtf8,
  findUnsafeTextIn,
  formatTextPath,
  replaceUnsafeText,
  type UnsafeTextIssue,
  type InvalidUtf8,
} from '../shared/text.js';
import { assertJsonNesting, JsonTooDeepError } from '../shared/json-nesting.js';
import { ApiError } from './errors.js';

export type TextLocation = 'body' | 'querystring' | 'params' | 'headers';

/** Headers whose value is stored (and so must be the client's text, decoded as UTF-8). */
export const STORED_HEADERS = ['idempotency-key'] as const;

export interface TextIssueDetail {
  location: TextLocation;
  path: string;
  message: string;
}

/** 400 INVALID_TEXT, with the same `details` shape as VALIDATION_ERROR: [{location, path, message}]. */
export function invalidTextError(location: TextLocation, issues: readonly UnsafeTextIssue[]): ApiError {
  const details: TextIssueDetail[] = issues.map((issue) => ({ location, path: formatTextPath(issue.path), message: issue.message }));
  const summary = details.map((d) => (d.path ? `${d.path}: ${d.message}` : d.message)).join('; ');
  return new ApiError(400, 'INVALID_TEXT', `invalid ${location}: ${summary}`, details);
}

const invalidUtf8Message = (bytes: Uint8Array, invalid: InvalidUtf8) => `is not valid UTF-8 (${describeInvalidUtf8(bytes, invalid)})`;

/**
 * Text of a body, form field or file name given as bytes, or an ApiError naming `what`. Parsers of
 * other content types (multipart) use this and `checkParsedText` so that they follow the same rule.
 */
export function checkParsedText(location: TextLocation, value: unknown, bytes?: Uint8Array, invalid?: InvalidUtf8 | null): void {
  const issues = findUnsafeTextIn(value);
  if (issues.length === 0) return;
  if (bytes !== undefined && invalid) {
    // The bad bytes were decoded as the marker (a lone surrogate): say what they really were.
    throw invalidTextError(
      location,
      issues.map((issue) => (issue.message.includes('U+DFFF') ? { ...issue, message: invalidUtf8Message(bytes, invalid) } : issue)),
    );
  }
  throw invalidTextError(location, issues);
}

/** JSON body: bytes → strictly decoded text → JSON.parse → every string checked. */
export function parseJsonBodyStrictly(bytes: Uint8Array, parseJson: (text: string) => unknown): unknown {
  const { text, invalid } = decodeUtf8Marking(bytes);
  if (text.trim() === '') return undefined;
  try {
    assertJsonNesting(text);
  } catch (error) {
    if (!(error instanceof JsonTooDeepError)) throw error;
    throw new ApiError(400, 'JSON_TOO_DEEP', `the JSON body nests deeper than ${error.limit} levels of arrays and objects`);
  }
  let value: unknown;
  try {
    value = parseJson(text);
  } catch (error) {
    // Bad bytes where JSON has no string (between tokens): the body as a whole is named.
    if (invalid) throw invalidTextError('body', [{ path: [], message: invalidUtf8Message(bytes, invalid) }]);
    throw error;
  }
  checkParsedText('body', value, bytes, invalid);
  return value;
}

// --- the querystring -------------------------------------------------------------------------------

const queryIssues = new WeakMap<object, UnsafeTextIssue[]>();

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x37;
  if (code >= 0x61 && code <= 0x66) return code - 0x57;
  return -1;
}

/**
 * `a=1&b=%C3%A9+x` → bytes → UTF-8. The request line reaches Node as latin1, so a character below
 * U+0100 is one byte; `+` is a space; a `%` not followed by two hex digits stays as it is (as in
 * fast-querystring, Fastify's default parser).
 */
function percentDecodeToBytes(raw: string): Uint8Array {
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const code = raw.charCodeAt(i);
    if (code === 0x25 /* % */) {
      const high = hexValue(raw.charCodeAt(i + 1));
      const low = hexValue(raw.charCodeAt(i + 2));
      if (high >= 0 && low >= 0) {
        bytes.push(high * 16 + low);
        i += 2;
        continue;
      }
    }
    if (code === 0x2b /* + */) bytes.push(0x20);
    else if (code < 0x100) bytes.push(code);
    else bytes.push(...Buffer.from(String.fromCharCode(code), 'utf8'));
  }
  return Uint8Array.from(bytes);
}

/**
 * Fastify's querystringParser: like fast-querystring (repeated keys become arrays), but strict about
 * UTF-8; problems are kept for the preValidation hook, which answers 400 (a parser cannot).
 */
export function parseQuerystringStrictly(query: string): Record<string, string | string[]> {
  const result: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  if (query.length === 0) return result;
  const issues: UnsafeTextIssue[] = [];
  const decode = (raw: string, keyForPath: string | null): string => {
    const bytes = percentDecodeToBytes(raw);
    const { text, invalid } = decodeUtf8Marking(bytes);
    if (invalid) {
      const path = keyForPath === null ? [replaceUnsafeText(text).text] : [keyForPath];
      issues.push({ path, message: `${keyForPath === null ? 'parameter name ' : ''}${invalidUtf8Message(bytes, invalid)}` });
    }
    return text;
  };
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    const key = decode(equals === -1 ? pair : pair.slice(0, equals), null);
    const value = decode(equals === -1 ? '' : pair.slice(equals + 1), replaceUnsafeText(key).text);
    const existing = result[key];
    if (existing === undefined) result[key] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else result[key] = [existing, value];
  }
  if (issues.length > 0) queryIssues.set(result, issues);
  return result;
}

// --- the hook ---------------------------------------------------------------------------------------

function checkRequestText(request: FastifyRequest): void {
  const query = request.query as object | undefined;
  if (query !== undefined && query !== null) {
    const issues = queryIssues.get(query) ?? [];
    // Undecodable bytes were recorded (and marked) by the parser; NUL and %ED%A0%80-style surrogates
    // cannot come out of strict UTF-8, so anything else found here is a NUL.
    const marked = new Set(issues.map((issue) => String(issue.path[0])));
    const others = findUnsafeTextIn(query).filter((issue) => !marked.has(String(issue.path[0])));
    if (issues.length + others.length > 0) throw invalidTextError('querystring', [...issues, ...others]);
  }
  const params = findUnsafeTextIn(request.params ?? {});
  if (params.length > 0) throw invalidTextError('params', params);
  for (const name of STORED_HEADERS) {
    const raw = request.headers[name];
    if (typeof raw !== 'string') continue;
    // Node gives header values as latin1: the bytes the client sent, each as one character.
    const bytes = Buffer.from(raw, 'latin1');
    const { text, invalid } = decodeUtf8Marking(bytes);
    if (invalid) throw invalidTextError('headers', [{ path: [name], message: invalidUtf8Message(bytes, invalid) }]);
    const issues = findUnsafeTextIn(text, [name]);
    if (issues.length > 0) throw invalidTextError('headers', issues);
    request.headers[name] = text;
  }
}

/** The API's text boundary for every route registered on `app` (call before registering routes). */
export function installTextBoundary(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    checkRequestText(request);
  });
}
