// POST /api/uploads: a reference image (multipart, field `file`), checked by content (PNG, JPEG, WebP),
// at most UPLOAD_MAX_BYTES, written to a temporary file and renamed: nothing half-written stays.
import fastifyMultipart, { type Multipart, type MultipartFile } from '@fastify/multipart';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ApiError } from '../errors.js';
import { errorSchema } from '../schemas.js';
import type { Upload } from '../../db/index.js';
import { storeUploadedStream, UPLOAD_REFERENCE_PREFIX, type UploadStore } from '../uploads.js';
import type { RouteDeps } from './index.js';

const uploadSchema = z
  .object({
    id: z.uuid(),
    reference: z.string().describe('Put this in a nodeInfoList fieldValue (e.g. a LoadImage node\'s "image")'),
    sha256: z.string(),
    size: z.int(),
    contentType: z.string(),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'Upload' });

/** A multipart body busboy cannot read (no boundary, a bad part header, cut short): 400, named. */
function unreadableBody(error: unknown): unknown {
  // Fastify's own multipart errors (limits) carry their status: the error handler answers them.
  if (error instanceof ApiError || (error instanceof Error && 'statusCode' in error)) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new ApiError(400, 'INVALID_MULTIPART', `the multipart/form-data body cannot be read: ${reason}`);
}

/** The next file part, fields skipped; undefined at the end of the body. */
async function nextFile(parts: AsyncIterableIterator<Multipart>): Promise<MultipartFile | undefined> {
  for (;;) {
    let next: IteratorResult<Multipart>;
    try {
      next = await parts.next();
    } catch (error) {
      throw unreadableBody(error);
    }
    if (next.done === true) return undefined;
    if (next.value.type === 'file') return next.value;
  }
}

export const uploadRoutes: FastifyPluginAsyncZod<RouteDeps & { uploads: UploadStore }> = async (app, { pool, uploads }) => {
  // Scoped to this plugin: only this route parses multipart bodies. One file (a second one is seen, and
  // refused by name, rather than dropped by the limit); the size limit is ours.
  await app.register(fastifyMultipart, { limits: { files: 2, fields: 10, fileSize: uploads.uploadMaxBytes, parts: 20 }, throwFileSizeLimit: false });

  app.post(
    '/uploads',
    {
      schema: {
        summary: 'Upload a reference image',
        description: `multipart/form-data with one file in the field "file" (a second file: 400 TOO_MANY_FILES; an unreadable body: 400 INVALID_MULTIPART): PNG, JPEG or WebP by content (415 otherwise), at most UPLOAD_MAX_BYTES (413). Refer to it in a task as fieldValue "${UPLOAD_REFERENCE_PREFIX}<id>".`,
        tags: ['uploads'],
        response: { 201: uploadSchema, 400: errorSchema, 413: errorSchema, 415: errorSchema },
      },
    },
    async (request, reply) => {
      if (!request.isMultipart()) throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the image as multipart/form-data in the field "file"');
      const parts = request.parts();
      const part = await nextFile(parts);
      if (!part) throw new ApiError(400, 'NO_FILE', 'the multipart body holds no file: send the image in the field "file"');
      if (part.fieldname !== 'file') {
        part.file.resume();
        throw new ApiError(400, 'NO_FILE', `the file came in the field ${JSON.stringify(part.fieldname)}: send it in the field "file"`);
      }
      // A body cut short (or malformed) fails the file's stream: the client's fault, not ours.
      let bodyError: Error | undefined;
      part.file.once('error', (error: Error) => {
        bodyError = error;
      });
      let upload: Upload;
      try {
        // The file is kept only once the whole body has been read: well formed, and no second file.
        upload = await storeUploadedStream(pool, uploads, part.file, part.filename, async () => {
          const another = await nextFile(parts);
          if (another) {
            another.file.resume();
            throw new ApiError(400, 'TOO_MANY_FILES', `one image per upload: a second file came in the field ${JSON.stringify(another.fieldname)}`);
          }
        });
      } catch (error) {
        throw bodyError !== undefined && !(error instanceof ApiError) ? unreadableBody(bodyError) : error;
      }
      reply.header('location', `/api/uploads/${upload.id}`);
      return reply.code(201).send({
        id: upload.id,
        reference: `${UPLOAD_REFERENCE_PREFIX}${upload.id}`,
        sha256: upload.sha256,
        size: upload.size,
        contentType: upload.contentType,
        createdAt: upload.createdAt.toISOString(),
      });
    },
  );
};
