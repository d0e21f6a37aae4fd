// The dashboard's read routes: the Queue page's data, failure groups, and what the caller's token may do.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { getQueueOverview, listFailureGroups, listLiveProcessors, listProcessorErrors } from '../../db/index.js';
import { accessOf } from '../auth.js';
import { accessSchema, failuresQuerySchema, failuresSchema, queueSchema, toFailuresJson, toQueueJson } from '../dashboard-schemas.js';
import type { RouteDeps } from './index.js';

export const queueRoutes: FastifyPluginAsyncZod<RouteDeps & { supervisorConsoleUrl?: string | undefined }> = async (app, { pool, supervisorConsoleUrl }) => {
  app.get(
    '/queue',
    {
      schema: {
        summary: "RunningHub slots and their holders (and an account's pause), the backlog, the last hour's throughput, live processors",
        tags: ['dashboard'],
        response: { 200: queueSchema },
      },
    },
    async () => {
      const [overview, processors] = await Promise.all([getQueueOverview(pool), listLiveProcessors(pool)]);
      return toQueueJson(overview, processors, supervisorConsoleUrl);
    },
  );

  app.get(
    '/failures',
    {
      schema: {
        summary: 'Failures grouped by error code and message, with counts and first/last seen',
        tags: ['dashboard'],
        querystring: failuresQuerySchema,
        response: { 200: failuresSchema },
      },
    },
    async (request) => {
      const { sinceHours, limit } = request.query;
      const [tasks, processorErrors] = await Promise.all([
        listFailureGroups(pool, { sinceHours, limit }),
        listProcessorErrors(pool, { sinceHours, limit }),
      ]);
      return toFailuresJson(sinceHours, tasks, processorErrors);
    },
  );

  app.get(
    '/access',
    { schema: { summary: "What the caller's token may do (the dashboard hides actions for read)", tags: ['dashboard'], response: { 200: accessSchema } } },
    async (request) => ({ access: accessOf(request) }),
  );
};
