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

export function startLive(onChange: () => void, onMode: (mode: LiveMode) => void): void {
  const poll = (): void => {
    onMode('poll');
    // A hidden tab does not poll; it refreshes when shown again.
    window.setInterval(() => {
      if (document.visibilityState === 'visible') onChange();
    }, POLL_MS);
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') onChange();
    });
  };

  const listen = async (reconnect: boolean): Promise<'unavailable' | 'ended'> => {
    const response = await fetch('/api/events', { headers: { ...authHeaders(), accept: 'text/event-stream' }, cache: 'no-store' });
    if (!response.ok || !(response.headers.get('content-type') ?? '').startsWith('text/event-stream') || !response.body) {
      await response.body?.cancel();
      return 'unavailable';
    }
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

  // attempt 0: the first try (no SSE: poll from now on); after a stream ends, reconnect, and poll
  // after three failed reconnects in a row.
  const run = (attempt: number): void => {
    const failed = (): void => {
      if (attempt === 0 || attempt >= 3) poll();
      else window.setTimeout(() => run(attempt + 1), 1000);
    };
    listen(attempt > 0).then((outcome) => {
      if (outcome === 'ended') window.setTimeout(() => run(1), 1000);
      else failed();
    }, failed);
  };
  run(0);
}
