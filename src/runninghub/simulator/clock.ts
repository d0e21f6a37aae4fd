// Time for the task state machine. The real clock uses timers; the manual one moves only when a test
// calls advance(), so a test can hold tasks QUEUED or RUNNING as long as it likes and then step them on.

export type CancelTimer = () => void;

export interface SimulatorClock {
  now(): number;
  after(ms: number, run: () => void): CancelTimer;
}

export const realClock: SimulatorClock = {
  now: () => Date.now(),
  after(ms, run) {
    const timer = setTimeout(run, ms);
    // The server keeps the program alive; a pending transition must not keep a stopped one alive.
    timer.unref();
    return () => clearTimeout(timer);
  },
};

interface Pending {
  at: number;
  seq: number;
  run: () => void;
  cancelled: boolean;
}

export class ManualClock implements SimulatorClock {
  private current = Date.now();
  private seq = 0;
  private pending: Pending[] = [];

  now(): number {
    return this.current;
  }

  after(ms: number, run: () => void): CancelTimer {
    const entry: Pending = { at: this.current + Math.max(0, ms), seq: this.seq++, run, cancelled: false };
    this.pending.push(entry);
    return () => {
      entry.cancelled = true;
    };
  }

  /** Move time forward by `ms`, running everything that falls due, in order (including what those schedule). */
  advance(ms: number): void {
    const target = this.current + Math.max(0, ms);
    for (;;) {
      this.pending = this.pending.filter((p) => !p.cancelled);
      let next: Pending | undefined;
      for (const p of this.pending) {
        if (p.at <= target && (!next || p.at < next.at || (p.at === next.at && p.seq < next.seq))) next = p;
      }
      if (!next) break;
      next.cancelled = true;
      this.current = next.at;
      next.run();
    }
    this.current = target;
  }
}
