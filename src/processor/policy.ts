// Pure rules of the processor: how long to wait after what. Kept apart so they can be unit-tested.
import { createHash } from 'node:crypto';

/** The account's identity in the database: a hash of the API key (the key itself is never stored). */
export function accountFingerprint(apiKey: string): string {
  return createHash('sha256').update(`runninghub-account:${apiKey}`).digest('hex');
}

/** After the n-th consecutive error: n × step, at most `max` (the design's 3 s, 6 s, 9 s … ≤ 30 s). */
export function errorBackoffMs(consecutiveErrors: number, stepMs: number, maxMs: number): number {
  return Math.min(Math.max(1, consecutiveErrors) * stepMs, maxMs);
}

/** Before retry after the n-th failed attempt: base × 2^(n-1), at most `max`. */
export function retryBackoffMs(attempts: number, baseMs: number, maxMs: number): number {
  return Math.min(baseMs * 2 ** Math.max(0, attempts - 1), maxMs);
}

/** ±20 % so processors refused together do not all come back at the same instant. */
export function withJitter(ms: number, random: () => number = Math.random): number {
  return Math.round(ms * (0.8 + 0.4 * random()));
}
