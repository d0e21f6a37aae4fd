import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { cancelTask, createTask, getTask, listTaskCallbacks, listTasks, retryTask, type AiTask, type TransitionResult } from '../../db/index.js';
import { ApiError } from '../errors.js';
import {
  createTaskBodySchema,
  encodeCursor,
  errorSchema,
  idempotencyHeadersSchema,
  listTasksQuerySchema,
  taskIdParamsSchema,
  taskPageSchema,
  taskSchema,
  toCallbackDeliveryJson,
  toTaskJson,
} from '../schemas.js';
import { resolveUploadReferences, UPLOAD_FETCH_TIMEOUT_MS, type UploadStore } from '../uploads.js';
import type { RouteDeps } from './index.js';

const notFound = (id: string) => new ApiError(404, 'TASK_NOT_FOUND', `no task with id ${id}`);

function transitioned(id: string, result: TransitionResult, action: string, allowed: string): AiTask {
  if (result.outcome === 'not_found') throw notFound(id);
  if (result.outcome === 'conflict') {
    throw new ApiError(409, 'INVALID_TRANSITION', `cannot ${action} a task that is ${result.task.status} (only ${allowed})`, {
      status: result.task.status,
    });
  }
  return result.task;
}

export const taskRoutes: FastifyPluginAsyncZod<RouteDeps & { uploads: UploadStore }> = async (app, { pool, checkNodeInfo, uploads }) => {
  app.post(
    '/tasks',
    {
      schema: {
        summary: 'Create an image-generation task',
        tags: ['tasks'],
        headers: idempotencyHeadersSchema,
        body: createTaskBodySchema,
        response: {
          201: taskSchema,
          200: taskSchema.describe('Idempotent replay: the task the first request made'),
          409: errorSchema,
          413: errorSchema,
          415: errorSchema,
          422: errorSchema.describe('A fieldValue `upload:<id>` names no upload, `upload:https://…` names (or redirects to) a host not in UPLOAD_URL_ALLOWED_HOSTS, or could not be fetched'),
        },
      },
    },
    async (request, reply) => {
      const body = request.body;
      // Before anything is stored: a wrong node or field is the caller's to fix, named in the 422.
      if (checkNodeInfo && body.workflowId !== undefined) await checkNodeInfo(body.workflowId, body.nodeInfoList);
      const nodeInfoList = await resolveUploadReferences(pool, uploads, body.nodeInfoList, UPLOAD_FETCH_TIMEOUT_MS);
      const result = await createTask(
        pool,
        {
          entityType: body.entityType,
          entityId: body.entityId,
          entityName: body.entityName,
          workflowId: body.workflowId ?? null,
          webappId: body.webappId ?? null,
          nodeInfoList,
          priority: body.priority,
          maxAttempts: body.maxAttempts,
          callbackUrl: body.callbackUrl ?? null,
          instanceType: body.instanceType ?? null,
        },
        { idempotencyKey: request.headers['idempotency-key'] },
      );
      if (result.outcome === 'conflict') {
        throw new ApiError(
          409,
          'IDEMPOTENCY_KEY_REUSED',
          'this Idempotency-Key was already used with a different request body',
          { taskId: result.task.id },
        );
      }
      reply.header('location', `/api/tasks/${result.task.id}`);
      return reply.code(result.outcome === 'created' ? 201 : 200).send(toTaskJson(result.task));
    },
  );

  app.get(
    '/tasks/:id',
    {
      schema: { summary: 'One task', tags: ['tasks'], params: taskIdParamsSchema, response: { 200: taskSchema, 404: errorSchema } },
    },
    async (request) => {
      const task = await getTask(pool, request.params.id);
      if (!task) throw notFound(request.params.id);
      const deliveries = task.callbackUrl === null ? [] : await listTaskCallbacks(pool, task.id);
      return { ...toTaskJson(task), callbackDeliveries: deliveries.map(toCallbackDeliveryJson) };
    },
  );

  app.get(
    '/tasks',
    {
      schema: {
        summary: 'Tasks, newest first, with keyset pagination',
        tags: ['tasks'],
        querystring: listTasksQuerySchema,
        response: { 200: taskPageSchema },
      },
    },
    async (request) => {
      const query = request.query;
      const page = await listTasks(pool, {
        statuses: query.status,
        entityType: query.entityType,
        entityId: query.entityId,
        storyboardId: query.storyboardId,
        limit: query.limit,
        after: query.cursor,
      });
      return { items: page.items.map(toTaskJson), nextCursor: page.next ? encodeCursor(page.next) : null };
    },
  );

  app.post(
    '/tasks/:id/cancel',
    {
      schema: {
        summary: 'Cancel a task',
        description:
          'PENDING becomes CANCELLED at once. ACTIVE stays ACTIVE with cancelRequested=true until the processor cancels it at RunningHub. Cancelling a CANCELLED task changes nothing. SUCCESS and FAILED: 409.',
        tags: ['tasks'],
        params: taskIdParamsSchema,
        response: { 200: taskSchema, 404: errorSchema, 409: errorSchema },
      },
    },
    async (request) => {
      const result = await cancelTask(pool, request.params.id);
      return toTaskJson(transitioned(request.params.id, result, 'cancel', 'PENDING or ACTIVE tasks can be cancelled'));
    },
  );

  app.post(
    '/tasks/:id/retry',
    {
      schema: {
        summary: 'Run a FAILED or CANCELLED task again',
        description: 'The task becomes PENDING with attempts reset to 0; other statuses: 409.',
        tags: ['tasks'],
        params: taskIdParamsSchema,
        response: { 200: taskSchema, 404: errorSchema, 409: errorSchema },
      },
    },
    async (request) => {
      const result = await retryTask(pool, request.params.id);
      return toTaskJson(transitioned(request.params.id, result, 'retry', 'FAILED or CANCELLED tasks can be retried'));
    },
  );
};
