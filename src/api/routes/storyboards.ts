import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  STORYBOARD_STATUSES,
  cancelStoryboard,
  createStoryboard,
  getStoryboard,
  listStoryboardCallbacks,
  listStoryboards,
  retryStoryboard,
  type StoryboardActionResult,
  type StoryboardWithDetails,
} from '../../db/index.js';
import { profileForTarget, type Profile } from '../../shared/profiles.js';
import { safeText } from '../../shared/text-schema.js';
import { ApiError } from '../errors.js';
import { resolveUploadReferencesOfLists, UPLOAD_FETCH_TIMEOUT_MS, type UploadStore } from '../uploads.js';
import { errorSchema, idempotencyHeadersSchema, toCallbackDeliveryJson } from '../schemas.js';
import {
  createStoryboardBodySchema,
  cursorSchema,
  encodeCursor,
  resolveShots,
  settingsOf,
  storyboardIdParamsSchema,
  storyboardPageSchema,
  storyboardSchema,
  storyboardStatusSchema,
  toStoryboardJson,
  toStoryboardSummaryJson,
} from '../storyboard-schemas.js';
import type { RouteDeps } from './index.js';

export interface StoryboardLimits {
  /** STORYBOARD_MAX_SHOTS: more shots is 422 TOO_MANY_SHOTS. */
  maxShots: number;
  /** STORYBOARD_BODY_LIMIT_BYTES: a larger body is 413 PAYLOAD_TOO_LARGE. */
  bodyLimitBytes: number;
  /** The configured profiles: the names a storyboard may ask for, their default max attempts. */
  profiles: Profile[];
}

const notFound = (id: string) => new ApiError(404, 'STORYBOARD_NOT_FOUND', `no storyboard with id ${id}`);

const listStoryboardsQuerySchema = z.strictObject({
  status: z
    .union([z.string(), z.array(z.string())])
    .transform((given, ctx) => {
      const statuses = (Array.isArray(given) ? given : [given]).flatMap((text) => text.split(',')).map((s) => s.trim().toLowerCase());
      const parsed = z.array(storyboardStatusSchema).safeParse(statuses);
      if (!parsed.success) {
        ctx.addIssue({ code: 'custom', message: `status must be a comma-separated list of ${STORYBOARD_STATUSES.join(', ')}` });
        return z.NEVER;
      }
      return parsed.data;
    })
    .optional()
    .describe(`One status or a comma-separated list: ${STORYBOARD_STATUSES.join(', ')}`),
  entityType: safeText().min(1).max(100).optional(),
  entityId: safeText().min(1).max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: cursorSchema.optional().describe('nextCursor of the previous page'),
});

function afterAction(id: string, result: StoryboardActionResult, nothing: string): StoryboardWithDetails {
  if (result.outcome === 'not_found') throw notFound(id);
  if (result.outcome === 'nothing_to_do') {
    throw new ApiError(409, 'NOTHING_TO_DO', nothing, { status: result.storyboard.status });
  }
  return result.storyboard;
}

export const storyboardRoutes: FastifyPluginAsyncZod<RouteDeps & { limits: StoryboardLimits; uploads: UploadStore }> = async (app, { pool, limits, uploads }) => {
  const profileNames = new Map(limits.profiles.map((p) => [p.name, p]));

  app.post(
    '/storyboards',
    {
      bodyLimit: limits.bodyLimitBytes,
      // A declared length over the limit is refused before the body is read, with the limit named.
      preParsing: async (request) => {
        const declared = Number(request.headers['content-length'] ?? 0);
        if (declared > limits.bodyLimitBytes) {
          throw new ApiError(
            413,
            'PAYLOAD_TOO_LARGE',
            `a storyboard body may be at most ${limits.bodyLimitBytes} bytes (STORYBOARD_BODY_LIMIT_BYTES); this one is ${declared}`,
            { limitBytes: limits.bodyLimitBytes },
          );
        }
      },
      schema: {
        summary: 'Create a storyboard: its shots in one transaction (all or none)',
        tags: ['storyboards'],
        headers: idempotencyHeadersSchema,
        body: createStoryboardBodySchema,
        response: {
          201: storyboardSchema,
          200: storyboardSchema.describe('Idempotent replay: the storyboard the first request made'),
          409: errorSchema,
          413: errorSchema,
          415: errorSchema.describe('A shot\'s `upload:https://…` is not a PNG, JPEG or WebP image'),
          422: errorSchema,
        },
      },
    },
    async (request, reply) => {
      const body = request.body;
      if (body.shots.length > limits.maxShots) {
        throw new ApiError(
          422,
          'TOO_MANY_SHOTS',
          `a storyboard may have at most ${limits.maxShots} shots (STORYBOARD_MAX_SHOTS); this one has ${body.shots.length}`,
          { maxShots: limits.maxShots, shots: body.shots.length },
        );
      }
      let profile: Profile | undefined;
      if (body.profile !== undefined) {
        profile = profileNames.get(body.profile);
        if (!profile) {
          const known = [...profileNames.keys()];
          throw new ApiError(
            422,
            'UNKNOWN_PROFILE',
            `no profile named ${body.profile} (configured: ${known.length > 0 ? known.join(', ') : 'none'})`,
            { profile: body.profile, known },
          );
        }
      }
      // A shot without its own maxAttempts takes the storyboard's, then its profile's, then 3.
      const shots = resolveShots(body, 3).map((shot, index) => {
        if (body.shots[index]!.maxAttempts !== undefined || body.maxAttempts !== undefined) return shot;
        const shotProfile = profile ?? profileForTarget(limits.profiles, shot);
        return shotProfile?.maxAttempts !== undefined ? { ...shot, maxAttempts: shotProfile.maxAttempts } : shot;
      });
      // Upload references as for POST /api/tasks, every shot's checked before anything is stored.
      const nodeInfoLists = await resolveUploadReferencesOfLists(
        pool,
        uploads,
        shots.map((shot, index) => ({ nodeInfoList: shot.nodeInfoList, at: { label: `shots[${index}].nodeInfoList`, path: `shots.${index}.nodeInfoList` } })),
        UPLOAD_FETCH_TIMEOUT_MS,
      );
      const resolvedShots = shots.map((shot, index) => ({ ...shot, nodeInfoList: nodeInfoLists[index]! }));
      const result = await createStoryboard(
        pool,
        { name: body.name, entityType: body.entityType, entityId: body.entityId, settings: settingsOf(body), shots: resolvedShots, shotProfile: body.profile ?? null },
        { idempotencyKey: request.headers['idempotency-key'] },
      );
      if (result.outcome === 'conflict') {
        throw new ApiError(409, 'IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was already used with a different request body', {
          storyboardId: result.storyboard.id,
        });
      }
      reply.header('location', `/api/storyboards/${result.storyboard.id}`);
      return reply.code(result.outcome === 'created' ? 201 : 200).send(toStoryboardJson(result.storyboard));
    },
  );

  app.get(
    '/storyboards/:id',
    {
      schema: {
        summary: 'One storyboard: counts by status, derived status, and every shot',
        tags: ['storyboards'],
        params: storyboardIdParamsSchema,
        response: { 200: storyboardSchema, 404: errorSchema },
      },
    },
    async (request) => {
      const storyboard = await getStoryboard(pool, request.params.id);
      if (!storyboard) throw notFound(request.params.id);
      const deliveries = storyboard.settings.callbackUrl === null ? [] : await listStoryboardCallbacks(pool, storyboard.id);
      return { ...toStoryboardJson(storyboard), callbackDeliveries: deliveries.map(toCallbackDeliveryJson) };
    },
  );

  app.get(
    '/storyboards',
    {
      schema: {
        summary: 'Storyboards, newest first, with keyset pagination (without their shots)',
        tags: ['storyboards'],
        querystring: listStoryboardsQuerySchema,
        response: { 200: storyboardPageSchema },
      },
    },
    async (request) => {
      const query = request.query;
      const page = await listStoryboards(pool, {
        statuses: query.status,
        entityType: query.entityType,
        entityId: query.entityId,
        limit: query.limit,
        after: query.cursor,
      });
      return { items: page.items.map(toStoryboardSummaryJson), nextCursor: page.next ? encodeCursor(page.next) : null };
    },
  );

  app.post(
    '/storyboards/:id/cancel',
    {
      schema: {
        summary: 'Cancel every unfinished shot',
        description:
          'PENDING shots become CANCELLED at once; ACTIVE ones get a cancel request that the processor carries out at RunningHub. Cancelling a cancelled storyboard again changes nothing; one whose shots have all finished: 409.',
        tags: ['storyboards'],
        params: storyboardIdParamsSchema,
        response: { 200: storyboardSchema, 404: errorSchema, 409: errorSchema },
      },
    },
    async (request) => {
      const result = await cancelStoryboard(pool, request.params.id);
      return toStoryboardJson(afterAction(request.params.id, result, 'nothing to cancel: every shot of this storyboard has finished'));
    },
  );

  app.post(
    '/storyboards/:id/retry',
    {
      schema: {
        summary: 'Run the FAILED and CANCELLED shots again',
        description: 'Those shots become PENDING with attempts reset to 0; the others are left alone. None to retry: 409.',
        tags: ['storyboards'],
        params: storyboardIdParamsSchema,
        response: { 200: storyboardSchema, 404: errorSchema, 409: errorSchema },
      },
    },
    async (request) => {
      const result = await retryStoryboard(pool, request.params.id);
      return toStoryboardJson(afterAction(request.params.id, result, 'nothing to retry: this storyboard has no FAILED or CANCELLED shot'));
    },
  );
};
