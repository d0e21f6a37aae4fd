import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { buildApp, type AppDeps } from '../../src/api/index.js';
import type { Pool } from '../../src/db/index.js';
import { AllowedHosts } from '../../src/store/index.js';

export const silentLogger = pino({ level: 'silent' });

export const validTask = {
  entityType: 'shot',
  entityId: 'shot-1',
  entityName: 'Shot 1: the harbour at dawn',
  workflowId: '1904136902449209346',
  nodeInfoList: [{ nodeId: '6', fieldName: 'text', fieldValue: 'a harbour at dawn' }],
};

/** The real app on a pool, ready for supertest (`request(app.server)`); close() it in afterAll. */
export async function startTestApp(
  pool: Pool,
  options: { apiToken?: string; apiReadToken?: string; bodyLimitBytes?: number; isSchemaReady?: () => boolean; checkNodeInfo?: AppDeps['checkNodeInfo']; outputDir?: string; uploadDir?: string; uploadMaxBytes?: number; uploadUrlAllowedHosts?: string; supervisorConsoleUrl?: string } = {},
): Promise<FastifyInstance> {
  const deps: AppDeps = {
    pool,
    logger: silentLogger,
    config: {
      apiToken: options.apiToken,
      apiReadToken: options.apiReadToken,
      bodyLimitBytes: options.bodyLimitBytes ?? 1024 * 1024,
      ...(options.outputDir !== undefined ? { outputDir: options.outputDir } : {}),
      ...(options.uploadDir !== undefined ? { uploadDir: options.uploadDir } : {}),
      ...(options.uploadMaxBytes !== undefined ? { uploadMaxBytes: options.uploadMaxBytes } : {}),
      ...(options.uploadUrlAllowedHosts !== undefined ? { uploadUrlAllowedHosts: AllowedHosts.parse(options.uploadUrlAllowedHosts) } : {}),
      ...(options.supervisorConsoleUrl !== undefined ? { supervisorConsoleUrl: options.supervisorConsoleUrl } : {}),
    },
    ...(options.isSchemaReady ? { isSchemaReady: options.isSchemaReady } : {}),
    ...(options.checkNodeInfo ? { checkNodeInfo: options.checkNodeInfo } : {}),
  };
  const app = await buildApp(deps);
  await app.ready();
  return app;
}
