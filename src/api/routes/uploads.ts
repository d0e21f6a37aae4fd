// POST /api/uploads: a reference image (multipart, field `file`), checked by content (PNG, JPEG, WebP),
// at most UPLOAD_MAX_BYTES, written to a temporary file and renamed: nothing half-written stays.
import fastifyMultipart from '@fastify/multipart';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ApiError } from '../errors.js';
import { errorSchema } from '../schemas.js';
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

export const uploadRoutes: FastifyPluginAsyncZod<RouteDeps & { uploads: UploadStore }> = async (app, { pool, uploads }) => {
  // Scoped to this plugin: only this route parses multipart bodies. One file; the size limit is ours.
  await app.register(fastifyMultipart, { limits: { files: 1, fields: 10, fileSize: uploads.uploadMaxBytes, parts: 20 }, throwFileSizeLimit: false });

  app.post(
    '/uploads',
    {
      schema: {
        summary: 'Upload a reference image',
        description: `multipart/form-data with one file in the field "file": PNG, JPEG or WebP by content (415 otherwise), at most UPLOAD_MAX_BYTES (413). Refer to it in a task as fieldValue "${UPLOAD_REFERENCE_PREFIX}<id>".`,
        tags: ['uploads'],
        response: { 201: uploadSchema, 400: errorSchema, 413: errorSchema, 415: errorSchema },
      },
    },
    async (request, reply) => {
      if (!request.isMultipart()) throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the image as multipart/form-data in the field "file"');
      const part = await request.file();
      if (!part) throw new ApiError(400, 'NO_FILE', 'the multipart body holds no file: send the image in the field "file"');
      if (part.fieldname !== 'file') {
        part.file.resume();
        throw new ApiError(400, 'NO_FILE', `the file came in the field ${JSON.stringify(part.fieldname)}: send it in the field "file"`);
      }
      const upload = await storeUploadedStream(pool, uploads, part.file, part.filename);
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
