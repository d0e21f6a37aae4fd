// The supervisorctl bundle (built by the test run's global setup) must stay free of zod: ctl/ parses its
// replies by hand (ctl/replies.ts) and imports only zod-free internals of config/ and rpc/ (see
// src/supervisor/index.ts), because zod's set-up is a measurable part of a `supervisorctl status` run.
// Zod names each class when it defines it ("$ZodType", "ZodMiniObject", "ZodObject"), so a minified
// bundle that carries any of it has one of those names.
// And the V8 code cache the build writes beside it must be one Node accepts.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from '../support/programs.js';

it('dist/supervisorctl-bundle.cjs carries no zod', () => {
  const bundle = readFileSync(`${ROOT}dist/supervisorctl-bundle.cjs`, 'utf8');
  expect(bundle).toContain('supervisor.getAllProcessInfo');
  expect(bundle).not.toMatch(/"\$?Zod[A-Za-z]*"/);
});

it("the build's code cache is one this Node accepts (a rejected one would be written again at exit)", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ctl-cache-'));
  try {
    for (const name of ['supervisorctl.cjs', 'supervisorctl-bundle.cjs', 'supervisorctl-bundle.cjs.cache']) copyFileSync(`${ROOT}dist/${name}`, path.join(dir, name));
    const cache = path.join(dir, 'supervisorctl-bundle.cjs.cache');
    const before = readFileSync(cache);
    const run = spawnSync(process.execPath, [path.join(dir, 'supervisorctl.cjs'), 'help'], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('default commands');
    expect(readFileSync(cache).equals(before)).toBe(true);
    // The same run with the cache gone writes one: the check above could fail.
    rmSync(cache);
    spawnSync(process.execPath, [path.join(dir, 'supervisorctl.cjs'), 'help']);
    expect(existsSync(cache)).toBe(true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('a closed stdout pipe (`supervisorctl help | head -0`) ends it quietly with status 0, not a stack trace', async () => {
  const child = spawn(process.execPath, [`${ROOT}dist/supervisorctl.cjs`, 'help'], { stdio: ['ignore', 'pipe', 'pipe'] });
  // The reading end is gone before supervisorctl writes its first byte: that write fails with EPIPE.
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  expect(stderr).toBe('');
  expect(code).toBe(0);
});
