// One error shape for every reply that is not a success: {error: {code, message, details}}.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import type { Socket } from 'node:net';
import { isDatabaseUnavailable, isUnsafeTextParameter } from '../db/index.js';

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details: unknown = null,
  ) {
    super(message);
  }
}

export interface ErrorBody {
  error: { code: string; message: string; details: unknown };
}

export function errorBody(code: string, message: string, details: unknown = null): ErrorBody {
  return { error: { code, message, details } };
}

// Fastify's own 4xx errors, by code, with the name clients see.
const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INVALID_CONTENT_LENGTH',
};

/** Fastify says only "Unsupported Media Type": name the type that came and the ones that are taken. */
function unsupportedMediaTypeMessage(request: FastifyRequest): string {
  const given = request.headers['content-type'];
  const got = given === undefined || given === '' ? 'a body without content-type' : `content-type ${JSON.stringify(given.slice(0, 100))}`;
  return `${request.method} ${request.url.split('?')[0]} does not take ${got}: bodies are application/json (POST /api/uploads: multipart/form-data)`;
}

function isFastifyError(error: unknown): error is FastifyError {
  return error instanceof Error && typeof (error as { code?: unknown }).code === 'string';
}

export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof ApiError) {
      return reply.code(error.statusCode).send(errorBody(error.code, error.message, error.details));
    }
    if (hasZodFastifySchemaValidationErrors(error)) {
      const where = error.validationContext ?? 'request';
      const issues = error.validation.map((issue) => ({
        location: where,
        path: issue.instancePath.replace(/^\//, '').replaceAll('/', '.'),
        message: issue.message,
      }));
      const summary = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
      return reply.code(400).send(errorBody('VALIDATION_ERROR', `invalid ${where}: ${summary}`, issues));
    }
    if (isDatabaseUnavailable(error)) {
      request.log.warn({ event: 'http.database_unavailable', err: error }, 'database unavailable');
      return reply
        .code(503)
        .header('retry-after', '1')
        .send(errorBody('DATABASE_UNAVAILABLE', 'the database is not reachable right now; retry shortly'));
    }
    if (isFastifyError(error) && error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      const code = FASTIFY_CODES[error.code] ?? error.code.replace(/^FST_ERR_/, '');
      const message = error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? unsupportedMediaTypeMessage(request) : error.message;
      return reply.code(error.statusCode).send(errorBody(code, message));
    }
    if (isUnsafeTextParameter(error)) {
      // The database refused text that every boundary should have refused first (text-boundary.ts):
      // a bug on our side, not the client's, so a 500 with its own code that tests look for.
      request.log.error({ err: error, event: 'text.unchecked' }, 'text that breaks the text rule reached the database');
      return reply.code(500).send(errorBody('UNCHECKED_TEXT', 'internal error: text was not checked before the database (see the API log)'));
    }
    request.log.error({ event: 'http.request_failed', err: error }, 'request failed');
    return reply.code(500).send(errorBody('INTERNAL_ERROR', 'internal error (see the API log)'));
  });

  app.setNotFoundHandler((request, reply) => {
    return reply.code(404).send(errorBody('ROUTE_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`));
  });
}

/**
 * Fastify's clientErrorHandler: a request Node's HTTP parser refused (a NUL or another control
 * character in a header, a malformed request line) gets our error shape instead of Fastify's.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, reason, body] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'Request Timeout', errorBody('REQUEST_TIMEOUT', 'the request did not arrive in time')]
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large', errorBody('HEADERS_TOO_LARGE', 'the request headers are too large')]
        : [400, 'Bad Request', errorBody('MALFORMED_REQUEST', `malformed HTTP request (${error.code ?? 'parse error'}), e.g. a header holding a control character such as NUL`)];
  const text = JSON.stringify(body);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Length: ${Buffer.byteLength(text)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${text}`,
    );
  }
  socket.destroy(error);
}
