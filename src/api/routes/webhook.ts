// POST /api/runninghub/webhook: RunningHub's TASK_END callback. RunningHub cannot sign its calls, so
// the processor gives it a callback URL carrying a secret (`?secret=`), checked here. The result is
// recorded once per RunningHub task id, and the task finished with its slot given back in the same
// transaction (src/db recordWebhookResult), which NOTIFYs the processors to claim the slot.
import type { FastifyBaseLogger, FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { recordWebhookResult, type Pool, type RemoteResult } from '../../db/index.js';
import { describeTaskFailure, parseWebhookEvent, type WebhookEvent } from '../../runninghub/index.js';
import { decodeUtf8Replacing } from '../../shared/text.js';
import { secretMatcher } from '../auth.js';
import { errorBody } from '../errors.js';

export const WEBHOOK_PATH = '/api/runninghub/webhook';

export interface WebhookRouteOptions {
  pool: Pool;
  /** Unset: the route answers 404, as if it did not exist (webhooks off, the processor polls). */
  secret: string | undefined;
}

const querySchema = z.object({ secret: z.string().optional() });

function toRemoteResult(outcome: WebhookEvent['outcome']): RemoteResult {
  if (outcome.status === 'SUCCESS') return { kind: 'success', outputs: outcome.outputs };
  return { kind: 'failed', code: outcome.error.code, message: describeTaskFailure(outcome.error) };
}

function noteReplacedText(log: FastifyBaseLogger, fields: string[]): void {
  log.warn(
    { event: 'webhook.text_replaced', fields },
    'RunningHub webhook held text that cannot be stored (NUL, lone surrogates or bytes that are not UTF-8): replaced with U+FFFD',
  );
}

/** Registered at the root (not under the /api bearer-token hook: RunningHub sends no token). */
export const runningHubWebhookRoutes: FastifyPluginAsync<WebhookRouteOptions> = async (app, options) => {
  const isSecret = options.secret === undefined ? undefined : secretMatcher(options.secret);
  // The raw text goes to the parser so that a task id sent as a JSON number keeps all its digits.
  // Content-type parsers are scoped to this plugin: the rest of the API keeps its JSON parser.
  // The body is RunningHub's reply, so text we cannot store is replaced, not refused (as for the
  // outputs poll: the stored result is the same either way), with a note in the log.
  for (const type of ['application/json', 'text/plain']) if (app.hasContentTypeParser(type)) app.removeContentTypeParser(type);
  app.addContentTypeParser(['application/json', 'text/plain'], { parseAs: 'buffer' }, (request, body, done) => {
    const { text, repaired } = typeof body === 'string' ? { text: body, repaired: false } : decodeUtf8Replacing(body);
    if (repaired) noteReplacedText(request.log, ['(bytes that are not UTF-8)']);
    done(null, text);
  });

  app.post(WEBHOOK_PATH, { schema: { hide: true } }, async (request, reply) => {
    if (isSecret === undefined) {
      return reply.code(404).send(errorBody('ROUTE_NOT_FOUND', 'webhooks are not configured (RUNNINGHUB_WEBHOOK_SECRET is unset)'));
    }
    const query = querySchema.safeParse(request.query);
    const given = query.success ? query.data.secret : undefined;
    if (given === undefined || !isSecret(given)) {
      return reply.code(401).send(errorBody('UNAUTHORIZED', 'missing or wrong webhook secret (?secret=)'));
    }
    let event: WebhookEvent;
    try {
      event = parseWebhookEvent(typeof request.body === 'string' ? request.body : JSON.stringify(request.body ?? null), {
        onTextReplaced: (fields) => noteReplacedText(request.log, fields),
      });
    } catch (error) {
      // 400: RunningHub retries a non-2xx reply; a body we cannot read will not improve, but the log shows it.
      request.log.warn({ event: 'webhook.invalid', err: (error as Error).message }, 'unreadable RunningHub webhook');
      return reply.code(400).send(errorBody('INVALID_WEBHOOK', (error as Error).message));
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
