// The supervisorctl bundle (built by the test run's global setup) must stay free of zod: ctl/ parses its
// replies by hand (ctl/replies.ts) and imports only zod-free internals of config/ and rpc/ (see
// src/supervisor/index.ts), because zod's set-up is a measurable part of a `supervisorctl status` run.
// Zod names each class when it defines it ("$ZodType", "ZodMiniObject", "ZodObject"), so a minified
// bundle that carries any of it has one of those names.
// And the V8 code cache the build writes beside it must be one Node accepts.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, copyFileSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/programs.js';
import { waitFor } from '../support/wait.js';
import { bigLogProgram, startDaemon, states, waitForWholeLog, type Daemon } from './ctl/harness.js';

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

it("a serverurl it cannot use: Python's error line and status 1 for a command that needs the server, and `help` still works", () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [`${ROOT}bin/supervisorctl.cjs`, '-s', 'bogus://x', ...args], { encoding: 'utf8' });
  const status = run('status');
  expect(status.stdout).toBe("error: <class 'ValueError'>, Unknown protocol for serverurl bogus://x: file: /usr/lib/python3/dist-packages/supervisor/xmlrpc.py line: 505\n");
  expect(status.stderr).toBe('');
  expect(status.status).toBe(1);
  const help = run('help');
  expect(help.status).toBe(0);
  expect(help.stdout).toContain('default commands');
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

// A `status` run reaches supervisord through libuv's handles and writes with fs.writeSync (ctl/connection.ts,
// supervisorctl-main.ts), so node:net is never loaded: the point of both (~4-5 ms, npm run bench:ctl).
describe('supervisorctl against our daemon: output straight to the descriptors, node:net not loaded', () => {
  const BIG_LOG_BYTES = 200_000;
  let daemon: Daemon;
  let scratch: string;

  beforeAll(async () => {
    scratch = mkdtempSync(path.join(os.tmpdir(), 'ctl-main-'));
    writeFileSync(
      path.join(scratch, 'modules.cjs'),
      "process.on('exit', () => require('node:fs').writeFileSync(process.env.MODULES_OUT, process.moduleLoadList.join('\\n')));\n",
    );
    daemon = await startDaemon('ours', {
      programs: `[program:a]\ncommand=sleep infinity\nstartsecs=0\n\n${bigLogProgram('big', BIG_LOG_BYTES)}`,
    });
    await waitFor('both programs running', async () => Object.values(await states(daemon.client)).every((state) => state === 'RUNNING'));
  });

  afterAll(async () => {
    await daemon.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  /** `status` with our client, stdout a pipe or a file; returns its output and the built-in modules it loaded. */
  function status(options: { stdout: 'pipe' | 'file'; nodeOptions?: string; nodeFlags?: string[] }) {
    const modulesOut = path.join(scratch, 'modules.txt');
    const outFile = path.join(scratch, 'out.txt');
    const fd = options.stdout === 'file' ? openSync(outFile, 'w') : undefined;
    try {
      const args = [...(options.nodeFlags ?? []), '-r', path.join(scratch, 'modules.cjs'), `${ROOT}dist/supervisorctl.cjs`, '-c', daemon.conf, 'status'];
      const run = spawnSync(process.execPath, args, {
        encoding: 'utf8',
        stdio: ['ignore', fd ?? 'pipe', 'pipe'],
        env: { ...process.env, MODULES_OUT: modulesOut, NODE_OPTIONS: options.nodeOptions ?? '' },
      });
      const stdout = fd === undefined ? run.stdout : readFileSync(outFile, 'utf8');
      return { stdout, stderr: run.stderr, status: run.status, modules: readFileSync(modulesOut, 'utf8').split('\n') };
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  it('through a pipe and into a file: the listing, and node:net never loaded', () => {
    for (const stdout of ['pipe', 'file'] as const) {
      const run = status({ stdout });
      expect(run.stderr, stdout).toBe('');
      expect(run.status, stdout).toBe(0);
      expect(run.stdout, stdout).toMatch(/^a {32}RUNNING {3}pid \d+, uptime [\d:]+\nbig {30}RUNNING {3}pid \d+, uptime [\d:]+\n$/);
      expect(run.modules, stdout).toContain('NativeModule fs');
      expect(run.modules.filter((m) => m === 'NativeModule net' || m === 'NativeModule stream'), stdout).toEqual([]);
    }
  });

  it('with --pending-deprecation, however spelt: node:net instead of the handles, and no deprecation warning', () => {
    for (const nodeOptions of ['--pending-deprecation', '--pending_deprecation', '--pending-deprecation=true']) {
      const run = status({ stdout: 'pipe', nodeOptions });
      expect(run.stderr, nodeOptions).toBe('');
      expect(run.status, nodeOptions).toBe(0);
      expect(run.stdout, nodeOptions).toMatch(/^a {32}RUNNING/);
      expect(run.modules, nodeOptions).toContain('NativeModule net');
    }
  });

  it("under Node's permission model (process.binding refused): node:net, and the same listing", () => {
    const run = status({ stdout: 'pipe', nodeFlags: ['--experimental-permission', '--allow-fs-read=*', '--allow-fs-write=*'] });
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^a {32}RUNNING/);
    // Node warns that the permission model is experimental; nothing else.
    expect(run.stderr.split('\n').filter((line) => line !== '' && !/ExperimentalWarning|--trace-warnings/.test(line))).toEqual([]);
    expect(run.modules).toContain('NativeModule net');
  });

  it('a non-blocking stdout pipe that is full: the rest waits in process.stdout, and every byte arrives', async () => {
    await waitForWholeLog(daemon, 'big', BIG_LOG_BYTES);
    // Python makes the pipe, sets O_NONBLOCK on the end supervisorctl writes to, and reads nothing until the
    // pipe is full (so the next direct write fails with EAGAIN), then everything.
    const reader = `
import array, fcntl, os, subprocess, sys, termios, time
r, w = os.pipe()
fcntl.fcntl(w, fcntl.F_SETFL, fcntl.fcntl(w, fcntl.F_GETFL) | os.O_NONBLOCK)
capacity = fcntl.fcntl(w, 1032)  # F_GETPIPE_SZ
child = subprocess.Popen(sys.argv[1:], stdout=w)
os.close(w)
queued = array.array('i', [0])
deadline = time.monotonic() + 30
while time.monotonic() < deadline and child.poll() is None:
    fcntl.ioctl(r, termios.FIONREAD, queued)
    if queued[0] >= capacity:
        break
    time.sleep(0.005)
full = queued[0] >= capacity
data = b''
while True:
    chunk = os.read(r, 65536)
    if not chunk:
        break
    data += chunk
print(full, len(data), data.count(b'x'), child.wait())
`;
    const run = spawnSync('/usr/bin/python3', ['-c', reader, process.execPath, `${ROOT}dist/supervisorctl.cjs`, '-c', daemon.conf, 'tail', `-${BIG_LOG_BYTES}`, 'big'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe(`True ${BIG_LOG_BYTES + 1} ${BIG_LOG_BYTES} 0\n`);
  });
});
