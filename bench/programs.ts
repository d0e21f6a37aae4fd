// Shared by the benchmarks that run the real programs (dist/api.js, dist/task-processor.js): start them,
// stop them, and wait for a condition with a deadline.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** Every program started here, so a bench's `finally` can stop (or kill) what is left. */
export const children: ChildProcess[] = [];

/** `dist`: another build's folder (bench:processor's BENCH_BEFORE_DIST compares two builds in one run). */
export function startProgram(name: 'api' | 'task-processor', env: Record<string, string>, dist = path.join(ROOT, 'dist')): ChildProcess {
  const child = spawn(process.execPath, [path.join(dist, `${name}.js`)], {
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  return child;
}

export async function stopProgram(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

export async function until<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 300_000, everyMs = 5): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
