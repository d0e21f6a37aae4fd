import pg from 'pg';
import type { Logger } from '../shared/logger.js';

export interface NotificationListener {
  /** Resolves once the first connection is listening (or failed: it keeps retrying in the background). */
  ready: Promise<void>;
  close(): Promise<void>;
}

export interface ListenerOptions {
  connectionString: string;
  channels: readonly string[];
  onNotification(channel: string, payload: string): void;
  /** Called after every (re)connection: notifications sent while disconnected are lost, so look now. */
  onConnected(): void;
  logger: Logger;
  applicationName: string;
}

/**
 * A dedicated connection that LISTENs (a pooled one would be handed to queries and lose the
 * registration). It reconnects after a database restart with a growing delay, up to 5 s.
 */
export function listenForNotifications(options: ListenerOptions): NotificationListener {
  let closed = false;
  let current: pg.Client | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let delayMs = 100;
  let resolveReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    resolveReady = resolve;
  });

  const scheduleReconnect = () => {
    if (closed || retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void connect();
    }, delayMs);
    // The poll loop is what keeps the program alive, not a reconnect attempt.
    retryTimer.unref();
    delayMs = Math.min(delayMs * 2, 5_000);
  };

  const connect = async (): Promise<void> => {
    const client = new pg.Client({
      connectionString: options.connectionString,
      application_name: options.applicationName,
      connectionTimeoutMillis: 2_000,
      keepAlive: true,
    });
    let failed = false;
    const lost = (error?: Error) => {
      if (failed) return;
      failed = true;
      if (current === client) current = undefined;
      client.removeAllListeners('notification');
      client.end().catch(() => undefined);
      if (!closed) {
        options.logger.warn({ event: 'processor.listener_lost', err: error?.message }, 'LISTEN connection lost; reconnecting');
        scheduleReconnect();
      }
    };
    client.on('error', lost);
    client.on('end', () => lost());
    client.on('notification', (message) => options.onNotification(message.channel, message.payload ?? ''));
    try {
      await client.connect();
      for (const channel of options.channels) await client.query(`LISTEN "${channel}"`);
    } catch (error) {
      lost(error as Error);
      resolveReady();
      return;
    }
    if (closed) {
      await client.end().catch(() => undefined);
      return;
    }
    current = client;
    delayMs = 100;
    resolveReady();
    options.onConnected();
  };

  void connect();

  return {
    ready,
    async close() {
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      const client = current;
      current = undefined;
      if (client) {
        client.removeAllListeners('end');
        client.removeAllListeners('error');
        client.on('error', () => undefined);
        await client.end().catch(() => undefined);
      }
    },
  };
}
