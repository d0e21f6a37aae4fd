// POST /api/runninghub/webhook: RunningHub's TASK_END callback. RunningHub cannot sign its calls, so
// the processor gives it a callback URL carrying a secret (`?secret=`), checked here. The result is
// recorded once per RunningHub task id, and the task finished with its slot given back in the same
// transaction (src/db recordWebhookResult), which NOTIFYs the processors to claim the slot.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { recordWebhookResult, type Pool, type RemoteResult } from '../../db/index.js';
import { parseWebhookEvent, type WebhookEvent } from '../../runninghub/index.js';
import { parseEnv } from '../../shared/env.js';

export const WEBHOOK_PATH = '/api/runninghub/webhook';

export interface WebhookRouteOptions {
  pool: Pool;
  /** Unset: the route answers 404, as if it did not exist (webhooks off, the processor polls). */
  secret: string | undefined;
}

const webhookEnvSchema = z.object({
  RUNNINGHUB_WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
});

/** The secret from the environment (the same variable the processor reads). */
export function webhookSecretFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return parseEnv(webhookEnvSchema, env).RUNNINGHUB_WEBHOOK_SECRET;
}

const querySchema = z.object({ secret: z.string().optional() });

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

function toRemoteResult(outcome: WebhookEvent['outcome']): RemoteResult {
  if (outcome.status === 'SUCCESS') return { kind: 'success', outputs: outcome.outputs };
  const reason = outcome.error.failedReason;
  const detail = reason ? [reason.nodeName, reason.exceptionType, reason.exceptionMessage].filter(Boolean).join(': ') : '';
  return { kind: 'failed', code: outcome.error.code, message: detail ? `${outcome.error.message} | ${detail}` : outcome.error.message };
}

/** Registered at the root (not under the /api bearer-token hook: RunningHub sends no token). */
export const runningHubWebhookRoutes: FastifyPluginAsync<WebhookRouteOptions> = async (app, options) => {
  const expected = options.secret === undefined ? undefined : digest(options.secret);
  // The raw text goes to the parser so that a task id sent as a JSON number keeps all its digits.
  // Content-type parsers are scoped to this plugin: the rest of the API keeps its JSON parser.
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser(['application/json', 'text/plain'], { parseAs: 'string' }, (_request, body, done) => done(null, body));

  app.post(WEBHOOK_PATH, { schema: { hide: true } }, async (request, reply) => {
    if (expected === undefined) {
      return reply.code(404).send({ error: { code: 'NOT_FOUND', message: 'webhooks are not configured (RUNNINGHUB_WEBHOOK_SECRET)' } });
    }
    const query = querySchema.safeParse(request.query);
    const given = query.success ? query.data.secret : undefined;
    if (given === undefined || !timingSafeEqual(digest(given), expected)) {
      return reply.code(401).send({ error: { code: 'UNAUTHORIZED', message: 'missing or wrong webhook secret' } });
    }
    let event: WebhookEvent;
    try {
      event = parseWebhookEvent(typeof request.body === 'string' ? request.body : JSON.stringify(request.body ?? null));
    } catch (error) {
      // 400: RunningHub retries a non-2xx reply; a body we cannot read will not improve, but the log shows it.
      request.log.warn({ event: 'webhook.invalid', err: (error as Error).message }, 'unreadable RunningHub webhook');
      return reply.code(400).send({ error: { code: 'INVALID_WEBHOOK', message: (error as Error).message } });
    }
    const recorded = await recordWebhookResult(options.pool, event.taskId, toRemoteResult(event.outcome));
    request.log.info(
      {
        event: 'webhook.received',
        runninghubTaskId: event.taskId,
        outcome: event.outcome.status,
        state: recorded.state,
        ...(recorded.state === 'applied' ? { taskId: recorded.task.id, entityName: recorded.task.entityName } : {}),
      },
      'RunningHub webhook',
    );
    return reply.code(200).send({ ok: true, state: recorded.state });
  });
};
