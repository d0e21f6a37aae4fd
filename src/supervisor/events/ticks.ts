// TICK_5 / TICK_60 / TICK_3600 (supervisord.py tick()): an event when the wall clock enters a new
// period, `when` being the period's start. supervisord looks once per main-loop pass (≤ 1 s late);
// a timer set for the next 5 s boundary does the same on time. The first periods are only noted.
import { TICK_PERIODS, tickEvent, type SupervisorEvent, type TickPeriod } from './types.js';

/** Python's timeslice(period, when): the start of the period `when` falls in, in whole seconds. */
export function timeslice(period: number, nowSeconds: number): number {
  return Math.trunc(nowSeconds - (nowSeconds % period));
}

/** Start ticking; returns the function that stops it. The timer never keeps the process alive. */
export function startTicks(publish: (event: SupervisorEvent) => void, clock: () => number = Date.now): () => void {
  const last = new Map<TickPeriod, number>();
  const startSeconds = clock() / 1000;
  for (const period of TICK_PERIODS) last.set(period, timeslice(period, startSeconds));
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const schedule = (): void => {
    if (stopped) return;
    const nowMs = clock();
    const next = (timeslice(5, nowMs / 1000) + 5) * 1000;
    timer = setTimeout(onTimer, Math.max(1, next - nowMs + 2));
    timer.unref();
  };
  const onTimer = (): void => {
    const nowSeconds = clock() / 1000;
    for (const period of TICK_PERIODS) {
      const slice = timeslice(period, nowSeconds);
      if (slice !== last.get(period)) {
        last.set(period, slice);
        publish(tickEvent(period, slice));
      }
    }
    schedule();
  };
  schedule();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
