import { httpExchange, keepAliveAgents } from '../../shared/http-exchange.js';
import type { Logger } from '../../shared/logger.js';
import type { SimTask, SimulatorCounters } from './engine.js';
import type { SimulatorOptions } from './options.js';

/** Enough of a receiver's reply for getWebhookDetail's `callbackResponse`. */
const CALLBACK_RESPONSE_MAX_CHARS = 1000;

// Delivers TASK_END events the way the reference describes: one POST per finished task, retried with
// backoff on a non-2xx reply, a timeout or a connection error, up to `maxRetries` more times.
//
// Sent with httpExchange over keep-alive agents rather than fetch: undici's fetch cost about 2 ms of
// JavaScript per POST on the 2-core bench machine, on the path between a task's end and the next
// create that bench:processor measures (the simulator stands in for RunningHub there; this shortens
// its part, not ours).

export class WebhookSender {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<AbortController>();
  private stopped = false;
  /** Bumped by clear(): attempts begun before a reset must not touch the new counters. */
  private generation = 0;
  /** One connection kept open per receiver (Node closes an idle one before the receiver's keep-alive timeout). */
  private readonly agents = keepAliveAgents();

  constructor(
    private readonly settings: () => SimulatorOptions['webhook'],
    private readonly counters: () => SimulatorCounters,
    private readonly logger: Logger | undefined,
  ) {}

  send(task: SimTask, body: string): void {
    if (!task.webhookUrl) return;
    void this.attempt(task, task.webhookUrl, body, 0);
  }

  /** retryWebhook: the same event again, to `url` (the task's own webhookUrl unless the caller named another). */
  resend(task: SimTask, body: string, url: string): void {
    void this.attempt(task, url, body, 0);
  }

  private async attempt(task: SimTask, url: string, body: string, retriesDone: number): Promise<void> {
    if (this.stopped) return;
    const generation = this.generation;
    const { timeoutMs, maxRetries, backoffMs } = this.settings();
    const controller = new AbortController();
    this.inFlight.add(controller);
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    timer.unref();
    let ok = false;
    let result: string;
    let reply: string;
    let sentAt: number | undefined;
    try {
      const response = await httpExchange(url, {
        agents: this.agents,
        headers: { 'content-type': 'application/json' },
        body,
        signal: controller.signal,
        keepBodyBytes: CALLBACK_RESPONSE_MAX_CHARS * 4,
        onSent: () => {
          sentAt = performance.timeOrigin + performance.now();
        },
      });
      const text = response.body.toString('utf8').slice(0, CALLBACK_RESPONSE_MAX_CHARS);
      ok = response.status >= 200 && response.status < 300;
      result = String(response.status);
      // As the docs' getWebhookDetail example words it (a Java RestTemplate's messages): the reply body on
      // success, "<status> <reason>: [<body>]" on an error status.
      reply = ok ? text : `${response.status} ${response.statusText}: [${text}]`;
    } catch (error) {
      result = controller.signal.aborted ? `timeout after ${timeoutMs} ms` : String(error);
      reply = `I/O error on POST request for "${url}": ${result}`;
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(controller);
    }
    if (this.stopped || generation !== this.generation) return;
    const counters = this.counters();
    counters.webhookAttempts++;
    task.webhookAttempts.push({ at: Date.now(), ...(sentAt === undefined ? {} : { sentAt }), ok, result, response: reply });
    if (ok) {
      counters.webhooksDelivered++;
      return;
    }
    if (retriesDone >= maxRetries) {
      counters.webhooksAbandoned++;
      this.logger?.warn({ event: 'webhook.abandoned', taskId: task.taskId, attempts: retriesDone + 1, result }, 'webhook given up');
      return;
    }
    const wait = backoffMs[Math.min(retriesDone, backoffMs.length - 1)] ?? 1000;
    this.logger?.info({ event: 'webhook.retrying', taskId: task.taskId, result, waitMs: wait }, 'webhook failed, retrying');
    const retry = setTimeout(() => {
      this.timers.delete(retry);
      void this.attempt(task, url, body, retriesDone + 1);
    }, wait);
    retry.unref();
    this.timers.add(retry);
  }

  /** Drop pending retries (after a reset); keep sending new ones. */
  clear(): void {
    this.generation++;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const controller of this.inFlight) controller.abort();
  }

  stop(): void {
    this.stopped = true;
    this.clear();
    this.agents.http.destroy();
    this.agents.https.destroy();
  }
}
