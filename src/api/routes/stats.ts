import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { getSystemStats } from '../../db/index.js';
import { statsSchema } from '../schemas.js';
import type { RouteDeps } from './index.js';

export const statsRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { pool }) => {
  app.get(
    '/stats',
    { schema: { summary: 'Queue statistics', tags: ['stats'], response: { 200: statsSchema } } },
    // getSystemStats (src/db) is where other components add their sections.
    async () => getSystemStats(pool),
  );
};
