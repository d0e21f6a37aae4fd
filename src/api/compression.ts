// gzip for the larger JSON replies of /api (a storyboard with 200 shots is ~150 KB of JSON, ~15 KB gzipped):
// the dashboard's first load stays small. No @fastify/compress in this build: node:zlib, on replies that
// are already serialised, only when the client accepts gzip; the SSE stream (hijacked) never passes here.
import { gzip } from 'node:zlib';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';

const gzipAsync = promisify(gzip);

/** Below this, gzip's header and the CPU cost more than the bytes saved. */
const MIN_BYTES = 2048;

export function installJsonCompression(app: FastifyInstance): void {
  app.addHook('onSend', async (request, reply, payload) => {
    if (typeof payload !== 'string' || Buffer.byteLength(payload) < MIN_BYTES) return payload;
    if (!/\bgzip\b/.test(request.headers['accept-encoding'] ?? '')) return payload;
    if (reply.hasHeader('content-encoding') || !String(reply.getHeader('content-type') ?? '').startsWith('application/json')) return payload;
    reply.header('content-encoding', 'gzip').header('vary', 'accept-encoding').removeHeader('content-length');
    return gzipAsync(payload, { level: 6 });
  });
}
