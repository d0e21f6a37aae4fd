// Signal names and numbers as supervisord shows them (`SIGTERM`), from Node's own table.
import { constants } from 'node:os';

const byNumber = new Map<number, string>();
for (const [name, number] of Object.entries(constants.signals)) {
  // The first name listed for a number is the canonical one (SIGABRT before SIGIOT, SIGCHLD before SIGCLD).
  if (!byNumber.has(number)) byNumber.set(number, name);
}

/** `signame()`: `SIGTERM` for 15; `signal 99` for an unknown number, as supervisord prints it. */
export function signalName(signal: number | NodeJS.Signals): string {
  if (typeof signal === 'string') return signal;
  return byNumber.get(signal) ?? `signal ${signal}`;
}

/** `TERM`, `SIGTERM`, `sigterm` or `15` → 15; undefined when it is not a signal. */
export function signalNumber(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) {
    const number = Number(trimmed);
    return byNumber.has(number) ? number : undefined;
  }
  const upper = trimmed.toUpperCase();
  const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  const signals: Record<string, number | undefined> = constants.signals;
  return signals[name];
}
