// What the three listener programs share: the channel on stdin/stdout, a log line format like
// supervisord's own (`2026-12-02 16:00:00,123 INFO memmon: ...`) on stderr, and the idle loop of a
// listener that is switched off (supervisord still wants it to answer every event it subscribed to).
import { ListenerChannel, runListener } from './protocol.js';

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** supervisord's asctime: local time, `YYYY-MM-DD HH:MM:SS,mmm`. */
export function asctime(date = new Date()): string {
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())},${pad(date.getMilliseconds(), 3)}`
  );
}

export type ListenerLog = (level: 'INFO' | 'WARN' | 'ERRO', message: string) => void;

/** Lines on the listener's stderr; the config sends that to supervisord's stdout (README). */
export function stderrLog(name: string, stream: NodeJS.WritableStream = process.stderr): ListenerLog {
  return (level, message) => {
    stream.write(`${asctime()} ${level} ${name}: ${message}\n`);
  };
}

export function stdioChannel(): ListenerChannel {
  return new ListenerChannel(process.stdin, process.stdout);
}

/** A switched-off listener: acknowledges everything until supervisord stops it. */
export async function idle(channel: ListenerChannel): Promise<void> {
  await runListener(channel, () => 'OK');
}

/** Runs a listener program's main, reporting a startup error the way a command line does. */
export function runMain(name: string, main: () => Promise<number>): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${name}: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 2;
    },
  );
}
