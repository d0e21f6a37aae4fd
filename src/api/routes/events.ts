// GET /api/events: Server-Sent Events, one per change of a task (task_events, migration 007), filtered by
// task, storyboard or entity. Live events come from the api's one LISTEN connection (live/hub.ts); a client
// reconnecting with Last-Event-ID first gets what it missed, read from the database.
import type { ServerResponse } from 'node:http';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { readTaskEventsAfter, type TaskEvent, type TaskEventFilter } from '../../db/index.js';
import type { EventHub } from '../live/hub.js';
import { safeText } from '../../shared/text-schema.js';
import { ApiError } from '../errors.js';
import type { RouteDeps } from './index.js';

const EVENT_ID_MESSAGE = 'an event id is the decimal `id:` of an event this API sent';
/** Event ids are PostgreSQL bigints (task_events.id): beyond the largest, no event has it and the replay's query would fail. */
const MAX_EVENT_ID = 9_223_372_036_854_775_807n;
const eventId = z.string().refine((id) => /^[0-9]{1,19}$/.test(id) && BigInt(id) <= MAX_EVENT_ID, EVENT_ID_MESSAGE);

/** The stream's headers, for GET and for HEAD (which gets them and no stream). */
const STREAM_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  // nginx would otherwise buffer the stream.
  'x-accel-buffering': 'no',
};

export const eventsQuerySchema = z.strictObject({
  taskId: z.uuid({ error: 'task ids are UUIDs' }).optional(),
  storyboardId: z.uuid({ error: 'storyboard ids are UUIDs' }).optional(),
  entityType: safeText().min(1).max(100).optional(),
  entityId: safeText().min(1).max(200).optional(),
  lastEventId: eventId.optional().describe('Same as the Last-Event-ID header, for clients that cannot set headers'),
});

/** A stream that falls this far behind (a client not reading) is closed: it reconnects with Last-Event-ID. */
const MAX_BUFFERED_BYTES = 1024 * 1024;
/** Missed events are read in pages of this many. */
const REPLAY_PAGE = 500;

function frame(event: TaskEvent): string {
  return `id: ${event.id}\ndata: ${JSON.stringify(event)}\n\n`;
}

export const eventRoutes: FastifyPluginAsyncZod<RouteDeps & { hub: EventHub }> = async (app, { pool, hub }) => {
  app.get(
    '/events',
    {
      schema: {
        summary: 'Follow task changes as Server-Sent Events (text/event-stream)',
        description:
          'One event per change (kind: created, claimed, submitted, queued, running, cancel_requested, succeeded, failed, retrying, cancelled, output_kept); `id:` is the event id. Reconnect with Last-Event-ID to get what was missed.',
        tags: ['events'],
        querystring: eventsQuerySchema,
        headers: z.object({ 'last-event-id': eventId.optional() }),
      },
    },
    async (request, reply) => {
      const { lastEventId: queryLastId, ...filter } = request.query;
      if (filter.entityId !== undefined && filter.entityType === undefined) {
        throw new ApiError(400, 'VALIDATION_ERROR', 'entityId needs entityType (an entity is the pair)', { field: 'entityType' });
      }
      // HEAD (Fastify's, from this GET): the headers a GET would get, then the end; a stream never ends.
      if (request.method === 'HEAD') return reply.code(200).headers(STREAM_HEADERS).send();
      const lastEventId = request.headers['last-event-id'] ?? queryLastId;
      const res: ServerResponse = reply.raw;
      reply.hijack();
      res.writeHead(200, STREAM_HEADERS);
      res.write('retry: 2000\n\n');

      let ended = false;
      // While the missed events are read, live ones wait here (then go out unless already sent).
      let pending: TaskEvent[] | null = lastEventId === undefined ? null : [];
      const send = (text: string) => {
        if (ended) return;
        res.write(text);
        if (res.writableLength > MAX_BUFFERED_BYTES) end();
      };
      const subscription = hub.subscribe(filter satisfies TaskEventFilter, {
        onEvent: (event) => (pending ? pending.push(event) : send(frame(event))),
        onHeartbeat: () => send(': keep-alive\n\n'),
        onClose: () => end(),
      });
      function end() {
        if (ended) return;
        ended = true;
        subscription.unsubscribe();
        res.end();
      }
      res.on('close', end);
      await subscription.listening;
      // From here on every committed change reaches this stream: a client (or a test) may rely on it.
      if (lastEventId === undefined || ended) {
        send(': ready\n\n');
        return;
      }
      const replayed = new Set<string>();
      try {
        for (let after = lastEventId; !ended; ) {
          const missed = await readTaskEventsAfter(pool, after, filter, REPLAY_PAGE);
          for (const event of missed) {
            replayed.add(event.id);
            send(frame(event));
          }
          if (missed.length < REPLAY_PAGE) break;
          after = missed[missed.length - 1]!.id;
        }
      } catch (error) {
        request.log.warn({ event: 'events.replay_failed', err: (error as Error).message }, 'could not read missed events');
        end();
        return;
      }
      const waiting = pending ?? [];
      pending = null;
      for (const event of waiting) if (!replayed.has(event.id)) send(frame(event));
      send(': ready\n\n');
    },
  );
};
