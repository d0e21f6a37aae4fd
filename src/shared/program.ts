// The entry of every program (dist/api.js, dist/task-processor.js, …): run `main`, and when it fails,
// write ONE line naming the cause to stderr (supervisord's `<program>.err.log`, the first thing an
// operator reads) instead of a stack trace, then exit non-zero so supervisord restarts or gives up.
import { ConfigError } from './env.js';

/** `EACCES: permission denied, open '/app/logs/task_processor.log'`, `connect ECONNREFUSED 127.0.0.1:5432`, … */
export function describeFailure(error: unknown): string {
  if (error instanceof AggregateError && error.message === '') {
    // net.connect to several addresses (localhost → ::1 and 127.0.0.1) fails with an empty message.
    const parts = error.errors.map((inner: unknown) => describeFailure(inner));
    const code = (error as NodeJS.ErrnoException).code;
    return [code, ...new Set(parts)].filter((part) => part !== undefined && part !== '').join(': ');
  }
  if (error instanceof Error) return (error.message || error.name).replace(/\s*\n\s*/g, ' ');
  return String(error).replace(/\s*\n\s*/g, ' ');
}

/**
 * Runs a program's `main`. A configuration mistake exits 2 (a restart will not fix it), anything else 1;
 * both after one line `<program>: cannot start: <cause>` (the message names the file or address).
 */
export function runProgram(program: string, main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    if (error instanceof ConfigError) {
      process.stderr.write(`${program}: ${error.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`${program}: cannot start: ${describeFailure(error)}\n`);
    process.exit(1);
  });
}
