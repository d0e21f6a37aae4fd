import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from './errors.js';

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/**
 * A constant-time check against `secret`. Both sides are hashed first: timingSafeEqual needs equal
 * lengths, and comparing digests keeps the secret's length from leaking through the time taken.
 */
export function secretMatcher(secret: string): (given: string) => boolean {
  const expected = digest(secret);
  return (given) => timingSafeEqual(digest(given), expected);
}

/** An onRequest hook that lets a request through only with `Authorization: Bearer <token>`. */
export function bearerTokenHook(token: string) {
  const isToken = secretMatcher(token);
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const header = request.headers.authorization;
    const match = header === undefined ? null : /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    if (!match) {
      await reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send(errorBody('UNAUTHORIZED', 'this route needs an Authorization: Bearer <API_TOKEN> header'));
      return reply;
    }
    if (!isToken(match[1]!)) {
      await reply.code(401).header('www-authenticate', 'Bearer error="invalid_token"').send(errorBody('UNAUTHORIZED', 'wrong API token'));
      return reply;
    }
  };
}
