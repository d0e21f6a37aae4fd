// GET /api/tasks/:id/outputs/:n: a kept output (src/processor/keep.ts put it in the output store),
// with its content type, a strong ETag (its SHA-256), Last-Modified, the conditional requests of RFC 9110,
// single byte ranges and long-lived cache headers
// (a SUCCESS task's outputs never change: SUCCESS is an end without a retry).
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { getTask, keptOutputSchema } from '../../db/index.js';
import { outputFilePath } from '../../store/index.js';
import { ApiError, errorBody } from '../errors.js';
import type { RouteDeps } from './index.js';

const outputParamsSchema = z.object({
  id: z.uuid({ error: 'task ids are UUIDs' }),
  n: z
    .string()
    .regex(/^(0|[1-9][0-9]{0,5})$/, 'n is the output number: 0, 1, 2 …')
    .transform(Number),
});

/** A single byte range of a file of `size` bytes, or 'unsatisfiable', or null (no or unsupported Range: send all). */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | null {
  if (header === undefined) return null;
  // The unit is case-insensitive (RFC 9110 §14.1).
  const match = /^bytes=(\d*)-(\d*)$/i.exec(header.trim());
  // Several ranges, or another unit: RFC 9110 lets us ignore the header and send the whole file.
  if (!match || (match[1] === '' && match[2] === '')) return null;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

/** The entity-tags of an If-Match / If-None-Match list (`*` stays `*`), each with whether it is weak. */
function entityTags(header: string): { tag: string; weak: boolean }[] {
  return header
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => (part.startsWith('W/') ? { tag: part.slice(2), weak: true } : { tag: part, weak: false }));
}

/** An HTTP-date (IMF-fixdate and the two obsolete forms Date.parse reads) in whole seconds, or null. */
function httpDateSeconds(value: string | undefined): number | null {
  if (value === undefined) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : Math.floor(ms / 1000);
}

/**
 * RFC 9110 §13.2.2's order for a GET or HEAD of a file with a strong ETag and a Last-Modified: If-Match
 * (strong comparison) or else If-Unmodified-Since can fail with 412; then If-None-Match (weak comparison) or
 * else If-Modified-Since answer 304. 'proceed': send the file (Range and If-Range are looked at next).
 */
export function evaluatePreconditions(
  headers: { 'if-match'?: string | undefined; 'if-none-match'?: string | undefined; 'if-modified-since'?: string | undefined; 'if-unmodified-since'?: string | undefined },
  etag: string,
  lastModifiedSeconds: number,
): 'proceed' | 'not-modified' | 'precondition-failed' {
  const ifMatch = headers['if-match'];
  if (ifMatch !== undefined) {
    if (!entityTags(ifMatch).some(({ tag, weak }) => tag === '*' || (!weak && tag === etag))) return 'precondition-failed';
  } else {
    const unmodifiedSince = httpDateSeconds(headers['if-unmodified-since']);
    if (unmodifiedSince !== null && lastModifiedSeconds > unmodifiedSince) return 'precondition-failed';
  }
  const ifNoneMatch = headers['if-none-match'];
  if (ifNoneMatch !== undefined) {
    if (entityTags(ifNoneMatch).some(({ tag }) => tag === '*' || tag === etag)) return 'not-modified';
  } else {
    const modifiedSince = httpDateSeconds(headers['if-modified-since']);
    if (modifiedSince !== null && lastModifiedSeconds <= modifiedSince) return 'not-modified';
  }
  return 'proceed';
}

const EXTENSIONS: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/webp': 'webp', 'image/gif': 'gif', 'video/mp4': 'mp4' };

/**
 * The file's name when it is saved (RFC 6266): "<task name> <n + 1>.<ext>", so that frames saved from a
 * storyboard are told apart ("Harbour at dawn #2 1.png"), not all called "0". An ASCII `filename` for old
 * clients (other characters as _) and the UTF-8 one in `filename*` (RFC 8187).
 */
export function contentDisposition(entityName: string, n: number, contentType: string, fileType: string | null | undefined): string {
  const extension = EXTENSIONS[contentType.split(';')[0]!.trim().toLowerCase()] ?? (fileType && /^[a-z0-9]{1,8}$/i.test(fileType) ? fileType.toLowerCase() : 'bin');
  // No path separators, quotes or control characters in a file name, and not too long for a file system.
  const base = [...entityName].map((c) => (c.charCodeAt(0) < 0x20 || c === '\u007f' || c === '/' || c === '\\' || c === '"' ? '_' : c)).join('').trim();
  const name = `${[...base].slice(0, 120).join('') || 'output'} ${n + 1}.${extension}`;
  const ascii = name.replace(/[^\x20-\x7e]/g, '_');
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `inline; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

export const outputRoutes: FastifyPluginAsyncZod<RouteDeps & { outputDir: string }> = async (app, { pool, outputDir }) => {
  app.get(
    '/tasks/:id/outputs/:n',
    {
      schema: {
        summary: 'A kept output file of a SUCCESS task',
        description:
          'The bytes as kept from RunningHub (outputs[n].url of the task). ETag and Last-Modified; Range (one range: 206, beyond the end: 416) with If-Range; If-None-Match and If-Modified-Since (304); If-Match and If-Unmodified-Since (412).',
        tags: ['tasks'],
        params: outputParamsSchema,
        // No response schemas: the body is a file stream (errors have the usual {error} shape).
      },
    },
    async (request, reply) => {
      const { id, n } = request.params;
      const task = await getTask(pool, id);
      if (!task) throw new ApiError(404, 'TASK_NOT_FOUND', `no task with id ${id}`);
      if (task.status !== 'SUCCESS') {
        throw new ApiError(404, 'OUTPUT_NOT_FOUND', `task ${id} is ${task.status}: only a SUCCESS task has kept outputs`, { status: task.status });
      }
      const count = task.outputs?.length ?? 0;
      const kept = keptOutputSchema.safeParse(task.outputs?.[n]);
      if (n >= count || !kept.success) {
        throw new ApiError(404, 'OUTPUT_NOT_FOUND', n >= count ? `task ${id} has ${count} output(s): no output ${n}` : `output ${n} of task ${id} was not kept`, {
          outputs: count,
        });
      }
      const file = outputFilePath(outputDir, id, n);
      const size = await stat(file).then(
        (s) => s.size,
        () => null,
      );
      if (size === null) {
        request.log.error({ event: 'outputs.file_missing', taskId: id, n }, 'a kept output file is missing from the output store');
        throw new ApiError(404, 'OUTPUT_FILE_MISSING', `output ${n} of task ${id} is recorded but its file is not in the output store`);
      }
      const etag = `"${kept.data.sha256}"`;
      // Kept before the task read SUCCESS, and never changed after (SUCCESS is an end without a retry).
      const lastModified = task.finishedAt ?? task.updatedAt;
      reply
        .header('content-type', kept.data.contentType)
        .header('content-disposition', contentDisposition(task.entityName, n, kept.data.contentType, kept.data.fileType))
        .header('etag', etag)
        .header('last-modified', lastModified.toUTCString())
        .header('cache-control', 'private, max-age=31536000, immutable')
        .header('accept-ranges', 'bytes');
      const preconditions = evaluatePreconditions(request.headers, etag, Math.floor(lastModified.getTime() / 1000));
      if (preconditions === 'precondition-failed') {
        return reply
          .code(412)
          .header('content-type', 'application/json; charset=utf-8')
          .send(errorBody('PRECONDITION_FAILED', `output ${n} of task ${id} is ${etag}, not what If-Match or If-Unmodified-Since asks for`, { etag }));
      }
      if (preconditions === 'not-modified') return reply.code(304).send();
      // Range is for GET alone (RFC 9110 §14.2): a HEAD gets the whole file's headers.
      const ifRange = request.headers['if-range'];
      const range = request.method === 'GET' && (ifRange === undefined || ifRange === etag) ? parseRange(request.headers.range, size) : null;
      if (range === 'unsatisfiable') {
        return reply
          .code(416)
          .header('content-type', 'application/json; charset=utf-8')
          .header('content-range', `bytes */${size}`)
          .send(errorBody('RANGE_NOT_SATISFIABLE', `the file has ${size} bytes`, { size }));
      }
      if (range) {
        return reply
          .code(206)
          .header('content-range', `bytes ${range.start}-${range.end}/${size}`)
          .header('content-length', range.end - range.start + 1)
          .send(createReadStream(file, { start: range.start, end: range.end }));
      }
      return reply.header('content-length', size).send(createReadStream(file));
    },
  );
};
