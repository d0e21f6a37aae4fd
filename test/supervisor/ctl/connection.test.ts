// Reaching the server: auth on and off (plain and {SHA} passwords), wrong or missing credentials,
// a missing socket, a stale socket, a refused TCP port, socket permissions, -s/-u/-p/-c handling.
// Every case runs our client and the real one and requires the same output and exit code.
import { createHash } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort } from '../../../src/db/index.js';
import { bothClients, describeWithRealPeers, runCtl, startDaemons, type Daemon, type Peer } from './harness.js';

const PROGRAMS = '[program:a]\ncommand=sleep infinity\nstartsecs=0\n';
const AUTH_ERROR =
  "Server requires authentication\nerror: <class 'xmlrpc.client.ProtocolError'>, <ProtocolError for 127.0.0.1/RPC2: 401 Unauthorized>: file: /usr/lib/python3/dist-packages/supervisor/xmlrpc.py line: 539\n";

describeWithRealPeers('supervisorctl connection handling (ours vs real)', () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(path.join(os.tmpdir(), 'ctl-conn-'));
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('a missing socket: "no such file" (status rc 4, start rc 7, avail/shutdown as supervisorctl)', async () => {
    const url = `unix://${scratch}/nosock`;
    expect(await bothClients(['-s', url, 'status'], [scratch])).toBe('unix://<DIR>/nosock no such file\n[rc=4]');
    expect(await bothClients(['-s', url, 'start', 'a'], [scratch])).toBe('unix://<DIR>/nosock no such file\n[rc=7]');
    expect(await bothClients(['-s', url, 'avail'], [scratch])).toBe(
      "error: <class 'FileNotFoundError'>, [Errno 2] No such file or directory: file: /usr/lib/python3/dist-packages/supervisor/xmlrpc.py line: 557\n[rc=1]",
    );
    expect(await bothClients(['-s', url, 'shutdown'], [scratch])).toBe('ERROR: unix://<DIR>/nosock no such file (already shut down?)\n[rc=1]');
    for (const command of ['update', 'reread', 'reload', 'version', 'pid', 'tail a', 'maintail', 'clear a', 'signal HUP a']) {
      await bothClients(['-s', url, ...command.split(' ')], [scratch]);
    }
  });

  it('a stale socket and a closed TCP port: "refused connection" (rc 4)', async () => {
    // A process that bound the socket and died leaves the file without a listener.
    const stale = path.join(scratch, 'stale.sock');
    const owner = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(stale)}, () => console.log('up'))`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve) => owner.stdout.once('data', () => resolve()));
    const gone = new Promise<void>((resolve) => owner.once('exit', () => resolve()));
    owner.kill('SIGKILL');
    await gone;
    expect(await bothClients(['-s', `unix://${stale}`, 'status'], [scratch])).toBe('unix://<DIR>/stale.sock refused connection\n[rc=4]');
    expect(await bothClients(['-s', `unix://${stale}`, 'shutdown'], [scratch])).toBe(
      'ERROR: unix://<DIR>/stale.sock refused connection (already shut down?)\n[rc=1]',
    );
    const port = await findFreePort();
    expect(await bothClients(['-s', `http://127.0.0.1:${port}`, 'status'])).toBe(`http://127.0.0.1:${port} refused connection\n[rc=4]`);
    // An IPv6 address in the URL: both clients connect to it (no name lookup of "[::1]").
    expect(await bothClients(['-s', `http://[::1]:${port}`, 'status'])).toBe(`http://[::1]:${port} refused connection\n[rc=4]`);
    expect(await bothClients(['-s', `http://127.0.0.1:${port}`, 'avail'])).toBe(
      "error: <class 'ConnectionRefusedError'>, [Errno 111] Connection refused: file: /usr/lib/python3.11/socket.py line: 836\n[rc=1]",
    );
  });

  it('the request head is the real client\'s, byte for byte but the length (IPv4 and IPv6 servers)', async () => {
    for (const host of ['127.0.0.1', '::1']) {
      // A server that keeps the first request's head and closes: each client then reports an error, unread here.
      const heads: string[] = [];
      const server = net.createServer((socket) => {
        let got = '';
        socket.on('data', (chunk: Buffer) => {
          got += chunk.toString('latin1');
          const end = got.indexOf('\r\n\r\n');
          if (end >= 0) {
            heads.push(got.slice(0, end));
            socket.destroy();
          }
        });
      });
      await new Promise<void>((resolve) => server.listen(0, host, () => resolve()));
      const { port } = server.address() as net.AddressInfo;
      const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
      try {
        for (const client of ['real', 'ours'] as const) await runCtl(client, ['-s', url, 'status']);
      } finally {
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
      // The real client's first call is getVersion, ours a multicall of it and getAllProcessInfo: only the length differs.
      const [real, ours] = heads.map((head) => head.replace(/^Content-Length: \d+$/m, 'Content-Length: <N>'));
      expect(real).toContain(`Host: ${host.includes(':') ? `[${host}]` : host}:${port}\r\n`);
      expect(ours, url).toBe(real);
    }
  });

  it('command-line and config errors: usage message on stderr, rc 2', async () => {
    const noCtl = path.join(scratch, 'noctl.conf');
    await writeFile(noCtl, '[supervisord]\n');
    for (const args of [['-c', path.join(scratch, 'missing.conf'), 'status'], ['-c', noCtl, 'status'], ['--bogus'], ['-x'], ['-s', 'nonsense', 'status'], ['-c']]) {
      const texts = await Promise.all(['real', 'ours'].map((client) => runCtl(client as Peer, args)));
      const [real, ours] = texts;
      if (!real || !ours) throw new Error('missing result');
      expect(ours.exitCode, JSON.stringify(args)).toBe(2);
      expect(real.exitCode).toBe(2);
      // The program path in the last line differs (/usr/bin/supervisorctl vs dist/supervisorctl.cjs).
      const firstLine = (text: string): string => text.split('\n')[0] ?? '';
      expect(firstLine(ours.stderr), JSON.stringify(args)).toBe(firstLine(real.stderr));
      expect(ours.stderr).toMatch(/\nFor help, use .*supervisorctl\.cjs -h\n$/);
    }
  });

  describe.each([
    ['a plain password', 'secret'],
    ['a {SHA} password', `{SHA}${createHash('sha1').update('secret').digest('hex')}`],
  ])('auth with %s', (_what, stored) => {
    const daemons: Daemon[] = [];
    beforeAll(async () => {
      daemons.push(...(await startDaemons(['real', 'ours'], () => ({ programs: PROGRAMS, auth: { username: 'user', password: stored, plain: 'secret' } }))));
      // The client's config file has no credentials; they come from -u/-p or a second config.
    });
    afterAll(async () => {
      await Promise.all(daemons.map((d) => d.stop()));
    });

    it('right credentials via -u/-p or [supervisorctl]: works on both daemons with both clients', async () => {
      for (const daemon of daemons) {
        expect(await bothClients(['-c', daemon.conf, '-u', 'user', '-p', 'secret', 'status'], [daemon.dir])).toBe(
          'a                                RUNNING   pid <PID>, uptime <UPTIME>\n[rc=0]',
        );
        const withCredentials = path.join(daemon.dir, 'ctl.conf');
        await writeFile(withCredentials, `[supervisorctl]\nserverurl=unix://%(here)s/sock\nusername=user\npassword=secret\n`);
        expect(await bothClients(['-c', withCredentials, 'pid', 'a'], [daemon.dir])).toBe('<NUMBER>\n[rc=0]');
      }
    });

    it('wrong or missing credentials: "Server requires authentication", rc 1, nothing runs', async () => {
      for (const daemon of daemons) {
        expect(await bothClients(['-c', daemon.conf, '-u', 'user', '-p', 'wrong', 'stop', 'a'], [daemon.dir])).toBe(`${AUTH_ERROR}[rc=1]`);
        expect(await bothClients(['-c', daemon.conf, 'shutdown'], [daemon.dir])).toBe(`${AUTH_ERROR}[rc=1]`);
        expect(await bothClients(['-c', daemon.conf, '-u', 'nobody', '-p', 'secret', 'status'], [daemon.dir])).toBe(`${AUTH_ERROR}[rc=1]`);
        // Still running: the refused stop and shutdown did nothing.
        const state = (await daemon.client.call('supervisor.getProcessInfo', ['a'])) as { statename: string };
        expect(state.statename).toBe('RUNNING');
      }
    });
  });

  describe('socket permissions', () => {
    const daemons: Daemon[] = [];
    beforeAll(async () => {
      daemons.push(...(await startDaemons(['real', 'ours'], () => ({ programs: PROGRAMS }))));
      // Let the unprivileged user reach the socket's directory and the config; the socket itself stays 0700 root.
      for (const daemon of daemons) {
        await chmod(daemon.dir, 0o755);
        await chmod(daemon.conf, 0o644);
      }
    });
    afterAll(async () => {
      await Promise.all(daemons.map((d) => d.stop()));
    });

    it('a user without access to the 0700 socket gets "Permission denied" from both clients', async () => {
      for (const daemon of daemons) {
        expect(await bothClients(['-c', daemon.conf, 'status'], [daemon.dir], { asUser: 'nobody' })).toBe(
          "error: <class 'PermissionError'>, [Errno 13] Permission denied: file: /usr/lib/python3/dist-packages/supervisor/xmlrpc.py line: 557\n[rc=1]",
        );
        // root still can.
        expect(await bothClients(['-c', daemon.conf, 'status', 'a'], [daemon.dir])).toBe(
          'a                                RUNNING   pid <PID>, uptime <UPTIME>\n[rc=0]',
        );
      }
    });
  });
});
