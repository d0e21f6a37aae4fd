// GET /metrics of our supervisord: Prometheus text that promtool accepts, behind the RPC interface's
// credentials, with per-process state, starts, exits, uptime and memory, and supervisord's own figures.
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { XmlRpcClient } from '../../../src/supervisor/index.js';
import { waitFor } from '../../support/wait.js';
import { launcher, supervisordCommand, tempDirForFile } from '../fixtures.js';

const PROMTOOL = '/usr/bin/promtool';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function get(options: { port?: number; socketPath?: string; auth?: string }): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: options.port, socketPath: options.socketPath, path: '/metrics', auth: options.auth }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The value of one sample line `name{labels} value`, matched by a label subset. */
function sample(body: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of body.split('\n')) {
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = new Map([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => have.get(key) === value)) return Number(match[3]);
  }
  return undefined;
}

describe('supervisord /metrics', () => {
  const dir = tempDirForFile('metrics');
  const launch = launcher();

  it('serves per-process and supervisord metrics that promtool accepts, behind the RPC credentials', async () => {
    const port = await freePort();
    const socket = dir.file('sup.sock');
    const conf = dir.file('supervisord.conf');
    writeFileSync(
      conf,
      `[supervisord]
logfile=${dir.file('main.log')}
pidfile=${dir.file('supervisord.pid')}
childlogdir=${dir.dir}
nodaemon=true

[unix_http_server]
file=${socket}
username=scrape
password=s3cret

[inet_http_server]
port=127.0.0.1:${port}
username=scrape
password=s3cret

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[program:steady]
command=${process.execPath} -e "setInterval(() => {}, 1 << 30)"
startsecs=0

[program:flaky]
command=/bin/sh -c "sleep 0.2; exit 3"
startsecs=0
autorestart=true
exitcodes=0

[program:done]
command=/bin/sh -c "exit 0"
startsecs=0
autorestart=false
`,
    );
    const [command, args] = supervisordCommand('ours', ['-c', conf]);
    launch(command, args);
    const client = new XmlRpcClient({ kind: 'unix', path: socket }, { username: 'scrape', password: 's3cret' });
    await waitFor('supervisord answering', async () => (await client.call('supervisor.getState')) !== null);
    await waitFor('flaky restarted twice', async () => {
      const body = (await get({ port, auth: 'scrape:s3cret' })).body;
      return (sample(body, 'supervisor_process_exits_total', { name: 'flaky', reason: 'unexpected' }) ?? 0) >= 2;
    });
    await client.call('supervisor.stopProcess', ['steady', true]);
    await client.call('supervisor.startProcess', ['steady', true]);

    expect((await get({ port })).status).toBe(401);
    expect((await get({ port, auth: 'scrape:wrong' })).status).toBe(401);
    const { status, type, body } = await get({ port, auth: 'scrape:s3cret' });
    expect(status).toBe(200);
    expect(type).toBe('text/plain; version=0.0.4; charset=utf-8');
    // The unix socket serves the same document (behind its own credentials).
    expect((await get({ socketPath: socket })).status).toBe(401);
    expect((await get({ socketPath: socket, auth: 'scrape:s3cret' })).body).toContain('supervisor_process_up{name="steady",group="steady"} 1');

    if (existsSync(PROMTOOL)) {
      // Prometheus's own parser and linter: exits non-zero on a malformed or badly named metric.
      expect(execFileSync(PROMTOOL, ['check', 'metrics'], { input: body, encoding: 'utf8' })).toBe('');
    } else if (process.env.CI) {
      throw new Error(`${PROMTOOL} missing (Debian package prometheus)`);
    }

    expect(sample(body, 'supervisor_process_state', { name: 'steady', state: 'RUNNING' })).toBe(1);
    expect(sample(body, 'supervisor_process_state', { name: 'steady', state: 'STOPPED' })).toBe(0);
    expect(sample(body, 'supervisor_process_state', { name: 'done', state: 'EXITED' })).toBe(1);
    expect(sample(body, 'supervisor_process_starts_total', { name: 'steady' })).toBe(2);
    expect(sample(body, 'supervisor_process_exits_total', { name: 'steady', reason: 'stopped' })).toBe(1);
    expect(sample(body, 'supervisor_process_exits_total', { name: 'done', reason: 'expected' })).toBe(1);
    expect(sample(body, 'supervisor_process_exits_total', { name: 'done', reason: 'unexpected' })).toBe(0);
    const flakyStarts = sample(body, 'supervisor_process_starts_total', { name: 'flaky' }) ?? 0;
    const flakyExits = sample(body, 'supervisor_process_exits_total', { name: 'flaky', reason: 'unexpected' }) ?? 0;
    expect(flakyExits).toBeGreaterThanOrEqual(2);
    expect(flakyStarts - flakyExits).toBeGreaterThanOrEqual(0);
    expect(flakyStarts - flakyExits).toBeLessThanOrEqual(1);
    // A running node child holds some megabytes; a stopped one none.
    expect(sample(body, 'supervisor_process_resident_memory_bytes', { name: 'steady' })).toBeGreaterThan(1024 * 1024);
    expect(sample(body, 'supervisor_process_resident_memory_bytes', { name: 'done' })).toBe(0);
    expect(sample(body, 'supervisor_process_uptime_seconds', { name: 'steady' })).toBeGreaterThanOrEqual(0);
    expect(sample(body, 'supervisord_running', {})).toBe(1);
    expect(sample(body, 'supervisord_resident_memory_bytes', {})).toBeGreaterThan(1024 * 1024);
    expect(sample(body, 'supervisord_uptime_seconds', {})).toBeGreaterThan(0);
  });
});
