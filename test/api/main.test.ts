import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort, startEmbeddedPostgres, type RunningPostgres } from '../../src/db/index.js';
import { distProgram } from '../support/programs.js';
import { waitFor } from '../support/wait.js';
import { validTask } from './support.js';

interface Program {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startApi(env: Record<string, string>): Program {
  const child = spawn(process.execPath, [distProgram('api')], {
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function httpJson(port: number, method: string, url: string, body?: object): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`http://127.0.0.1:${port}${url}`, {
    method,
    ...(body ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
  });
  return { status: response.status, body: await response.json() };
}

describe('the api program (dist/api.js)', () => {
  let tmp: string;
  const running: Program[] = [];
  const servers: RunningPostgres[] = [];

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'storyboard-api-main-'));
    await chmod(tmp, 0o755);
  });
  afterEach(async () => {
    for (const program of running.splice(0)) {
      if (program.child.exitCode === null && program.child.signalCode === null) program.child.kill('SIGKILL');
      await program.exited;
    }
    for (const server of servers.splice(0)) await server.stop();
  });
  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('exits 2 naming the variable when the configuration is wrong', async () => {
    const program = startApi({ PORT: 'eighty', DATABASE_URL: 'postgres://127.0.0.1:1/x' });
    running.push(program);
    expect(await program.exited).toBe(2);
    expect(program.output()).toMatch(/PORT: .*\(got "eighty"\)/);
  });

  it('stays up until the database comes, migrates, serves, and on SIGTERM finishes the request in flight and exits 0', async () => {
    const [dbPort, apiPort] = [await findFreePort(), await findFreePort()];
    const program = startApi({
      DATABASE_URL: `postgresql://postgres:postgres@127.0.0.1:${dbPort}/postgres`,
      PORT: String(apiPort),
      DATABASE_CONNECT_TIMEOUT: '1s',
    });
    running.push(program);

    // No database yet: alive, not ready, /api says 503.
    await waitFor('the api to listen', async () => (await httpJson(apiPort, 'GET', '/healthz')).status === 200);
    expect((await httpJson(apiPort, 'GET', '/readyz')).status).toBe(503);
    const early = await httpJson(apiPort, 'POST', '/api/tasks', validTask);
    expect(early).toMatchObject({ status: 503, body: { error: { code: 'DATABASE_UNAVAILABLE' } } });

    servers.push(await startEmbeddedPostgres({ dataDir: path.join(tmp, 'late-db'), port: dbPort, ephemeral: true }));
    await waitFor('migrations to run once the database is up', async () => (await httpJson(apiPort, 'GET', '/readyz')).status === 200, {
      timeoutMs: 30_000,
    });
    // The log line and the readiness come from one process over two channels (stdout, HTTP): either may arrive first.
    await waitFor('the migrations to be logged', () => /migrations applied/.test(program.output()));
    expect((await httpJson(apiPort, 'POST', '/api/tasks', validTask)).status).toBe(201);

    // A request whose headers the server has read (it answered 100-continue) but whose body is not sent yet.
    const payload = JSON.stringify({ ...validTask, entityId: 'in-flight' });
    const inFlight = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1',
        port: apiPort,
        method: 'POST',
        path: '/api/tasks',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), expect: '100-continue' },
      });
      req.on('error', reject);
      req.on('response', (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('continue', () => {
        program.child.kill('SIGTERM');
        waitFor('the api to begin shutting down', () => program.output().includes('shutting down'))
          .then(() => req.end(payload))
          .catch(reject);
      });
      req.flushHeaders();
    });
    const finished = await inFlight;
    expect(finished.status).toBe(201);
    expect(JSON.parse(finished.body)).toMatchObject({ entityId: 'in-flight', status: 'PENDING' });
    expect(await program.exited).toBe(0);
    await expect(fetch(`http://127.0.0.1:${apiPort}/healthz`)).rejects.toThrow();
  });

  it('stops at once on SIGTERM while still waiting for the database', async () => {
    const [dbPort, apiPort] = [await findFreePort(), await findFreePort()];
    const program = startApi({ DATABASE_URL: `postgresql://postgres:postgres@127.0.0.1:${dbPort}/postgres`, PORT: String(apiPort) });
    running.push(program);
    await waitFor('the api to listen', async () => (await httpJson(apiPort, 'GET', '/healthz').catch(() => ({ status: 0 }))).status === 200);
    await waitFor('a failed migration attempt', () => program.output().includes('migrations failed; retrying'));
    program.child.kill('SIGTERM');
    expect(await program.exited).toBe(0);
  });

  it('exits 1 when its port is taken, and leaves no embedded PostgreSQL behind', async () => {
    const blocker = http.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
    const address = blocker.address();
    if (typeof address !== 'object' || address === null) throw new Error('no address');
    const dataDir = path.join(tmp, 'port-taken');
    try {
      const program = startApi({ EMBEDDED_DATABASE_DIR: dataDir, PORT: String(address.port) });
      running.push(program);
      expect(await program.exited).toBe(1);
      expect(program.output()).toMatch(/EADDRINUSE/);
      expect(existsSync(path.join(dataDir, 'PG_VERSION'))).toBe(true);
      expect(existsSync(path.join(dataDir, 'postmaster.pid'))).toBe(false);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('without DATABASE_URL starts an embedded PostgreSQL, and stops it on SIGTERM', async () => {
    const apiPort = await findFreePort();
    const dataDir = path.join(tmp, 'embedded');
    const program = startApi({ EMBEDDED_DATABASE_DIR: dataDir, PORT: String(apiPort) });
    running.push(program);
    await waitFor('the api with its embedded database to be ready', async () => (await httpJson(apiPort, 'GET', '/readyz').catch(() => ({ status: 0 }))).status === 200, {
      timeoutMs: 45_000,
    });
    expect(existsSync(path.join(dataDir, 'PG_VERSION'))).toBe(true);
    expect(existsSync(path.join(dataDir, 'postmaster.pid'))).toBe(true);
    expect((await httpJson(apiPort, 'POST', '/api/tasks', validTask)).status).toBe(201);
    program.child.kill('SIGTERM');
    expect(await program.exited).toBe(0);
    // PostgreSQL removes its pid file when it has shut down.
    expect(existsSync(path.join(dataDir, 'postmaster.pid'))).toBe(false);
  });
});
