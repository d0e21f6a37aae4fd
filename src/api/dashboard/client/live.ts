/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// How the page learns that something changed: the api's Server-Sent Events (/api/events, when the api has
// them) read with fetch, because EventSource cannot send the Authorization header; otherwise a poll. Any
// event means "refresh what is shown": the page reads the current state from /api, so it never depends on
// the events' exact shape and a missed event costs nothing but one refresh.
import { authHeaders } from './api.js';

/** Poll period when the api has no /api/events. */
export const POLL_MS = 1000;

export type LiveMode = 'sse' | 'poll';

/** While polling after the stream was lost, how often to try the stream again. */
export const SSE_RETRY_MS = 5000;

export function startLive(onChange: () => void, onMode: (mode: LiveMode) => void): void {
  let pollTimer: number | undefined;
  // A hidden tab does not poll; it refreshes when shown again.
  document.addEventListener('visibilitychange', () => {
    if (pollTimer !== undefined && document.visibilityState === 'visible') onChange();
  });
  const poll = (): void => {
    onMode('poll');
    pollTimer ??= window.setInterval(() => {
      if (document.visibilityState === 'visible') onChange();
    }, POLL_MS);
  };
  const stopPolling = (): void => {
    window.clearInterval(pollTimer);
    pollTimer = undefined;
  };

  const listen = async (reconnect: boolean): Promise<'unavailable' | 'ended'> => {
    const response = await fetch('/api/events', { headers: { ...authHeaders(), accept: 'text/event-stream' }, cache: 'no-store' });
    if (!response.ok || !(response.headers.get('content-type') ?? '').startsWith('text/event-stream') || !response.body) {
      await response.body?.cancel();
      return 'unavailable';
    }
    stopPolling();
    onMode('sse');
    // Whatever happened while the stream was down (the first connection follows the page's first load).
    if (reconnect) onChange();
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return 'ended';
      buffer += value;
      // An event ends with a blank line; a comment-only event (": keep-alive") changes nothing.
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (event.split('\n').some((line) => line.startsWith('data:'))) onChange();
        end = buffer.indexOf('\n\n');
      }
    }
  };

  // attempt 0: the first try. An api without the stream (it answers, but not with one) is polled from
  // then on. A stream that ends is reconnected; after three failed reconnects in a row the page polls,
  // and tries the stream again every SSE_RETRY_MS, going back to it (and off polling) once it answers.
  const run = (attempt: number): void => {
    listen(attempt > 0).then(
      (outcome) => {
        if (outcome === 'ended') window.setTimeout(() => run(1), 1000);
        else if (attempt === 0) poll();
        else retry(attempt);
      },
      () => retry(attempt),
    );
  };
  const retry = (attempt: number): void => {
    if (attempt === 0 || attempt >= 3) poll();
    window.setTimeout(() => run(attempt + 1), attempt === 0 || attempt >= 3 ? SSE_RETRY_MS : 1000);
  };
  run(0);
}
