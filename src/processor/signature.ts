// The signature of a result callback (README: Callbacks). Pure, so receivers' verification can be tested
// against exactly what the processor sends.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const CALLBACK_HEADERS = {
  /** Unix time in seconds when the attempt was signed: receivers refuse old ones (replays). */
  timestamp: 'x-storyboard-timestamp',
  /** `sha256=` + hex HMAC-SHA256 of `<timestamp>.<body>` with the shared secret. */
  signature: 'x-storyboard-signature',
  /** The delivery's id: the same on every attempt of one delivery, so a receiver can drop a repeat. */
  delivery: 'x-storyboard-delivery',
} as const;

export function signCallback(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** What a receiver does: recompute, compare in constant time, and refuse a timestamp too far from now. */
export function verifyCallback(
  secret: string,
  input: { timestamp: string | undefined; signature: string | undefined; body: string },
  options: { nowSeconds?: number; toleranceSeconds?: number } = {},
): boolean {
  const timestamp = Number(input.timestamp);
  if (!Number.isInteger(timestamp) || input.signature === undefined) return false;
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - timestamp) > (options.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(signCallback(secret, timestamp, input.body));
  const given = Buffer.from(input.signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
