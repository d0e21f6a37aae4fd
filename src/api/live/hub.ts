// The api process's one LISTEN connection for GET /api/events, shared by every open stream: 1,000
// streams are 1,000 sockets and one PostgreSQL connection. Each notification carries the whole event
// (migration 007), so fan-out costs no query. After a lost connection the hub reads what it missed from
// task_events before it goes on, so live streams do not lose events to a database restart.
import type { FastifyBaseLogger } from 'fastify';
import {
  LIVE_CHANNELS,
  eventMatches,
  parseTaskEventPayload,
  readTaskEventsAfter,
  type Pool,
  type PoolClient,
  type TaskEvent,
  type TaskEventFilter,
} from '../../db/index.js';

export interface EventSubscription {
  /** Resolves once the hub's LISTEN is active: events committed from then on reach `onEvent`. */
  listening: Promise<void>;
  unsubscribe(): void;
}

export interface EventHub {
  subscribe(filter: TaskEventFilter, subscriber: { onEvent(event: TaskEvent): void; onHeartbeat(): void; onClose(): void }): EventSubscription;
  /** Streams open now. */
  size(): number;
  /** Ends every stream and the LISTEN connection (the api's preClose: open streams must not hold shutdown). */
  close(): Promise<void>;
}

interface Subscriber {
  filter: TaskEventFilter;
  onEvent(event: TaskEvent): void;
  onHeartbeat(): void;
  onClose(): void;
}

/** How many missed events one catch-up query reads after a reconnection. */
const CATCH_UP_PAGE = 1000;

export function createEventHub(options: { pool: Pool; logger: FastifyBaseLogger; heartbeatMs: number }): EventHub {
  const { pool, logger } = options;
  const subscribers = new Set<Subscriber>();
  let client: PoolClient | undefined;
  let connecting: Promise<void> | undefined;
  let closed = false;
  let retryDelayMs = 100;
  // The newest event id dispatched, as a bigint: where a catch-up after a reconnection starts.
  let lastId = 0n;
  let heartbeat: NodeJS.Timeout | undefined;

  const dispatch = (event: TaskEvent) => {
    const id = BigInt(event.id);
    if (id > lastId) lastId = id;
    for (const subscriber of subscribers) {
      if (eventMatches(event, subscriber.filter)) subscriber.onEvent(event);
    }
  };

  const connect = (): Promise<void> => {
    connecting ??= (async () => {
      for (;;) {
        if (closed) return;
        try {
          const fresh = await pool.connect();
          const lost = (error?: Error) => {
            if (client !== fresh) return;
            client = undefined;
            connecting = undefined;
            fresh.removeAllListeners('notification');
            fresh.release(error ?? new Error('LISTEN connection ended'));
            if (!closed) {
              logger.warn({ event: 'events.listener_lost', err: error?.message }, 'LISTEN connection lost; reconnecting');
              setTimeout(() => void connect(), retryDelayMs).unref();
              retryDelayMs = Math.min(retryDelayMs * 2, 5_000);
            }
          };
          fresh.on('error', lost);
          fresh.on('end', () => lost());
          fresh.on('notification', (message) => {
            const parsed = parseTaskEventPayload(message.payload ?? '');
            if ('event' in parsed) dispatch(parsed.event);
            else logger.warn({ event: 'events.bad_payload', problem: parsed.problem }, 'unreadable task event notification');
          });
          await fresh.query(`LISTEN ${LIVE_CHANNELS.events}`);
          client = fresh;
          retryDelayMs = 100;
          // Missed while not listening (only after a loss: the first time there is nothing to catch up).
          if (lastId > 0n) {
            for (;;) {
              const missed = await readTaskEventsAfter(pool, lastId.toString(), {}, CATCH_UP_PAGE);
              missed.forEach(dispatch);
              if (missed.length < CATCH_UP_PAGE) break;
            }
          }
          return;
        } catch (error) {
          logger.warn({ event: 'events.listener_lost', err: (error as Error).message }, 'cannot LISTEN for task events; retrying');
          await new Promise((resolve) => setTimeout(resolve, retryDelayMs).unref());
          retryDelayMs = Math.min(retryDelayMs * 2, 5_000);
        }
      }
    })();
    return connecting;
  };

  return {
    subscribe(filter, callbacks) {
      const subscriber: Subscriber = { filter, ...callbacks };
      subscribers.add(subscriber);
      if (!heartbeat) {
        // Comments on an idle stream keep proxies and load balancers from closing it.
        heartbeat = setInterval(() => subscribers.forEach((s) => s.onHeartbeat()), options.heartbeatMs);
        heartbeat.unref();
      }
      return {
        listening: closed ? Promise.resolve() : connect(),
        unsubscribe: () => {
          subscribers.delete(subscriber);
        },
      };
    },
    size: () => subscribers.size,
    async close() {
      closed = true;
      if (heartbeat) clearInterval(heartbeat);
      for (const subscriber of [...subscribers]) subscriber.onClose();
      subscribers.clear();
      const current = client;
      client = undefined;
      if (current) {
        current.removeAllListeners('notification');
        await current.query(`UNLISTEN ${LIVE_CHANNELS.events}`).catch(() => undefined);
        current.release();
      }
    },
  };
}
