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

/**
 * What a caller of /api may do: `open` (no token configured), `write` (API_TOKEN: everything) or
 * `read` (API_READ_TOKEN: GET and HEAD only). The dashboard asks GET /api/access which buttons to show.
 */
export type ApiAccess = 'open' | 'read' | 'write';

const accessByRequest = new WeakMap<FastifyRequest, ApiAccess>();

/** The access the token hook granted this request; `open` when /api has no token. */
export function accessOf(request: FastifyRequest): ApiAccess {
  return accessByRequest.get(request) ?? 'open';
}

/** Methods that change nothing: all a read-only token may call. */
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * An onRequest hook that lets a request through only with `Authorization: Bearer <token>`: the
 * write token for everything, the read-only token (when configured) for reads only (403 otherwise,
 * so hiding the dashboard's buttons is not the only thing that stops a read-only user).
 */
export function bearerTokenHook(token: string, readToken?: string) {
  const isToken = secretMatcher(token);
  const isReadToken = readToken === undefined ? () => false : secretMatcher(readToken);
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
    const given = match[1]!;
    if (isToken(given)) {
      accessByRequest.set(request, 'write');
      return;
    }
    if (isReadToken(given)) {
      if (!READ_METHODS.has(request.method)) {
        await reply
          .code(403)
          .send(errorBody('READ_ONLY_TOKEN', `the read-only token (API_READ_TOKEN) cannot ${request.method} ${request.url.split('?')[0]}; use API_TOKEN`));
        return reply;
      }
      accessByRequest.set(request, 'read');
      return;
    }
    await reply.code(401).header('www-authenticate', 'Bearer error="invalid_token"').send(errorBody('UNAUTHORIZED', 'wrong API token'));
    return reply;
  };
}
