// One HTTP exchange with RunningHub, shared by both API generations: POST a JSON body, read the reply
// as text we can store, parse it as RunningHub JSON (big ids kept). What the reply means (v1's
// {code, msg, data} envelope, v2's flat task object) is for the generation's client to decide.
// Sent with httpExchange (keep-alive, not fetch: see src/shared/http-exchange.ts). Redirects are not
// followed: RunningHub's API answers where it is asked (fetch would have turned a redirected POST into a GET).
import { httpExchange, keepAliveAgents } from '../shared/http-exchange.js';
import { JsonTooDeepError } from '../shared/json-nesting.js';
import type { Logger } from '../shared/logger.js';
import { decodeUtf8Replacing } from '../shared/text.js';
import { RunningHubError } from './errors.js';
import { parseRunningHubJson } from './json.js';

export interface TransportOptions {
  baseUrl: string;
  /** Sent as `Authorization: Bearer` (v2 reads only this; v1's newer docs list it too). */
  apiKey: string;
  timeoutMs: number;
  logger: Logger | undefined;
  /** Removes the key from any text that reaches an error. */
  scrub: (text: string) => string;
}

export interface TransportReply {
  status: number;
  text: string;
  /** The parsed JSON, or undefined when the body is not JSON (then `problem` says so). */
  json: unknown;
  problem: string | undefined;
  /** Log the call's debug line with the code the caller made of the reply. */
  done(code: string): void;
}

export interface TransportRequest {
  signal?: AbortSignal | undefined;
  /** POST (the default) sends `body` as JSON; GET (v2 queue/status) sends none. */
  method?: 'GET' | 'POST' | undefined;
}

export type Transport = (operation: string, path: string, body: Record<string, unknown>, request: TransportRequest | undefined) => Promise<TransportReply>;

export function createTransport(options: TransportOptions): Transport {
  const { baseUrl, apiKey, timeoutMs, logger, scrub } = options;
  return async (operation, path, body, request) => {
    const started = performance.now();
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = request?.signal ? AbortSignal.any([timeout, request.signal]) : timeout;
    let status: number;
    let bytes: Uint8Array;
    try {
      ({ status, bytes } = await exchange(`${baseUrl}${path}`, request?.method === 'GET' ? undefined : JSON.stringify(body), apiKey, signal));
    } catch (error) {
      const failure = transportFailure(operation, error, timeout, timeoutMs, scrub);
      logger?.debug({ event: 'runninghub.call', operation, code: failure.code, ms: elapsed(started) }, 'RunningHub call failed');
      throw failure;
    }

    // Text we cannot store is replaced, not refused: the reply still says what happened to the task.
    const { text, repaired: undecodable } = decodeUtf8Replacing(bytes);
    const repairedFields: string[] = undecodable ? ['(bytes that are not UTF-8)'] : [];
    let json: unknown;
    let problem: string | undefined;
    try {
      json = parseRunningHubJson(text, (paths) => repairedFields.push(...paths));
    } catch (error) {
      problem = error instanceof JsonTooDeepError ? error.message : `not JSON: ${JSON.stringify(scrub(text.slice(0, 200)))}`;
    }
    if (repairedFields.length > 0) {
      logger?.warn(
        { event: 'runninghub.text_replaced', operation, httpStatus: status, fields: repairedFields },
        'RunningHub reply held text that cannot be stored (NUL, lone surrogates or bytes that are not UTF-8): replaced with U+FFFD',
      );
    }
    return {
      status,
      text,
      json,
      problem,
      done: (code) => logger?.debug({ event: 'runninghub.call', operation, httpStatus: status, code, ms: elapsed(started) }, 'RunningHub call'),
    };
  };
}

/**
 * Connections kept open between calls. An idle one is closed after 4 s, as undici's fetch did: a server
 * closing its end of a long-idle connection just as a call reuses it would fail that call.
 */
const agents = keepAliveAgents({ idleTimeoutMs: 4_000 });

/** One request; resolves with the status and the whole body once it has all arrived. */
async function exchange(url: string, json: string | undefined, apiKey: string, signal: AbortSignal): Promise<{ status: number; bytes: Uint8Array }> {
  const headers = { accept: 'application/json', authorization: `Bearer ${apiKey}`, ...(json === undefined ? {} : { 'content-type': 'application/json' }) };
  const reply = await httpExchange(url, { agents, headers, body: json, signal });
  return { status: reply.status, bytes: reply.body };
}

function transportFailure(operation: string, error: unknown, timeout: AbortSignal, timeoutMs: number, scrub: (text: string) => string): RunningHubError {
  const name = error instanceof Error ? error.name : '';
  if (timeout.aborted && (name === 'TimeoutError' || name === 'AbortError')) {
    return new RunningHubError({ operation, code: 'TIMEOUT', remoteMessage: `no complete reply within ${timeoutMs} ms`, cause: error });
  }
  if (name === 'AbortError' || name === 'TimeoutError') {
    return new RunningHubError({ operation, code: 'ABORTED', remoteMessage: 'aborted by the caller', cause: error });
  }
  // node:http's socket errors carry their errno name (ECONNREFUSED, ECONNRESET for "socket hang up").
  const detail = error instanceof Error ? `${(error as NodeJS.ErrnoException).code ?? error.name}: ${error.message}` : String(error);
  return new RunningHubError({ operation, code: 'NETWORK', remoteMessage: scrub(detail), cause: error });
}

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}
