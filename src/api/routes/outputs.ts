// GET /api/tasks/:id/outputs/:n: a kept output (src/processor/keep.ts put it in the output store),
// with its content type, a strong ETag (its SHA-256), single byte ranges and long-lived cache headers
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
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
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

export const outputRoutes: FastifyPluginAsyncZod<RouteDeps & { outputDir: string }> = async (app, { pool, outputDir }) => {
  app.get(
    '/tasks/:id/outputs/:n',
    {
      schema: {
        summary: 'A kept output file of a SUCCESS task',
        description: 'The bytes as kept from RunningHub (outputs[n].url of the task). ETag, Range (one range: 206, beyond the end: 416), If-None-Match (304).',
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
      reply
        .header('content-type', kept.data.contentType)
        .header('etag', etag)
        .header('cache-control', 'private, max-age=31536000, immutable')
        .header('accept-ranges', 'bytes');
      const ifNoneMatch = request.headers['if-none-match'];
      if (ifNoneMatch !== undefined && ifNoneMatch.split(',').some((tag) => tag.trim() === etag || tag.trim() === '*')) {
        return reply.code(304).send();
      }
      const ifRange = request.headers['if-range'];
      const range = ifRange === undefined || ifRange === etag ? parseRange(request.headers.range, size) : null;
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
