// The version check before a command (supervisorctl's upcheck) and replies that are not what a method
// returns. `status` sends the upcheck's getVersion and its listing together in one system.multicall, where
// the real client makes two calls: whatever the server answers, both clients must print the same thing.
// The servers: Debian's supervisord 4.2.5 without [rpcinterface:supervisor], and small XML-RPC servers of
// our own on a unix socket for what no real supervisord answers (another API version, malformed replies).
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { expect, it } from 'vitest';
import { decodeCall, encodeFault, encodeResult, type XmlRpcValue } from '../../../src/supervisor/rpc/xmlrpc.js';
import { bothClients, describeWithRealPeers, runCtl } from './harness.js';
import { REAL_SUPERVISORD, tempDirForFile } from '../fixtures.js';

const RUNNING_A = { name: 'a', group: 'a', start: 0, stop: 0, now: 0, state: 20, statename: 'RUNNING', spawnerr: '', exitstatus: 0, logfile: '', stdout_logfile: '', stderr_logfile: '', pid: 4242, description: 'pid 4242, uptime 0:00:01' };

const tmp = tempDirForFile('ctl-upcheck');

/** Both clients' output and exit code for `args` against `socket`: they must be the same. */
const againstSocket = (socket: string, args: string[]): Promise<string> => bothClients(['-s', `unix://${socket}`, ...args], [tmp.dir]);

/** An XML-RPC server on a unix socket: `answer` gives each method's result (or throws: UNKNOWN_METHOD). */
async function fakeServer(socket: string, answer: (method: string) => XmlRpcValue, options: { multicall: boolean } = { multicall: true }): Promise<http.Server> {
  const reply = (method: string): { ok: true; value: XmlRpcValue } | { ok: false; faultCode: number; faultString: string } => {
    try {
      return { ok: true, value: answer(method) };
    } catch (error) {
      return { ok: false, faultCode: 1, faultString: `UNKNOWN_METHOD: ${(error as Error).message}` };
    }
  };
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const call = decodeCall(Buffer.concat(chunks));
      let body: string;
      if (call.methodName === 'system.multicall' && options.multicall) {
        const calls = (call.params[0] ?? []) as { methodName: string }[];
        body = encodeResult(
          calls.map((c) => {
            const r = reply(c.methodName);
            return r.ok ? r.value : { faultCode: r.faultCode, faultString: r.faultString };
          }),
        );
      } else {
        const r = reply(call.methodName);
        body = r.ok ? encodeResult(r.value) : encodeFault({ faultCode: r.faultCode, faultString: r.faultString });
      }
      response.writeHead(200, { 'Content-Type': 'text/xml', 'Content-Length': Buffer.byteLength(body) });
      response.end(body);
    });
  });
  server.listen(socket);
  await once(server, 'listening');
  return server;
}

describeWithRealPeers('supervisorctl upcheck and reply shapes (ours vs real)', () => {
  it('supervisord 4.2.5 without [rpcinterface:supervisor]: the same "did not recognize" message and exit codes', async () => {
    const conf = tmp.file('no-rpc.conf');
    const socket = tmp.file('no-rpc.sock');
    await writeFile(
      conf,
      `[unix_http_server]\nfile=${socket}\n[supervisord]\nlogfile=${tmp.dir}/no-rpc.log\npidfile=${tmp.dir}/no-rpc.pid\n[program:a]\ncommand=sleep infinity\nstartsecs=0\n`,
    );
    const daemon: ChildProcess = spawn(REAL_SUPERVISORD, ['-n', '-c', conf], { stdio: 'ignore' });
    try {
      // Served once system.listMethods answers (its system namespace is there without the supervisor one).
      const deadline = Date.now() + 30_000;
      for (;;) {
        const probe = await runCtl('ours', ['-s', `unix://${socket}`, 'status']);
        if (probe.stdout.includes('did not recognize')) break;
        if (Date.now() > deadline) throw new Error(`supervisord did not come up: ${probe.stdout}${probe.stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const text = await againstSocket(socket, ['status']);
      expect(text).toContain('did not recognize the supervisor namespace commands');
      expect(text).toMatch(/\[rc=4\]$/);
      await againstSocket(socket, ['pid']);
    } finally {
      daemon.kill('SIGTERM');
      if (daemon.exitCode === null) await once(daemon, 'exit');
    }
  });

  it('a server of another API version: the same "Sorry, this version of supervisorctl expects" message', async () => {
    const socket = tmp.file('v2.sock');
    const server = await fakeServer(socket, (method) => {
      if (method === 'supervisor.getVersion') return '2.0';
      if (method === 'supervisor.getAllProcessInfo') return [RUNNING_A];
      throw new Error(method);
    });
    try {
      const text = await againstSocket(socket, ['status']);
      expect(text).toContain('expects to talk to a server with API version 3.0, but the remote version is 2.0.');
      await againstSocket(socket, ['pid']);
    } finally {
      server.close();
    }
  });

  it('a listing of the wrong shape: our client names the method, the member and what it got', async () => {
    const socket = tmp.file('bad.sock');
    const server = await fakeServer(socket, (method) => {
      if (method === 'supervisor.getVersion') return '3.0';
      if (method === 'supervisor.getAllProcessInfo') return [RUNNING_A, { ...RUNNING_A, pid: 'none' }];
      throw new Error(method);
    });
    try {
      const result = await runCtl('ours', ['-s', `unix://${socket}`, 'status']);
      expect(result.stdout + result.stderr).toContain('unexpected reply to supervisor.getAllProcessInfo: 1.pid: expected int, received string');
      expect(result.exitCode).not.toBe(0);
    } finally {
      server.close();
    }
  });

  it('a server without system.multicall (a look-alike): our client makes the two calls, the same listing', async () => {
    const socket = tmp.file('no-multicall.sock');
    const server = await fakeServer(
      socket,
      (method) => {
        if (method === 'supervisor.getVersion') return '3.0';
        if (method === 'supervisor.getAllProcessInfo') return [RUNNING_A];
        throw new Error(method);
      },
      { multicall: false },
    );
    try {
      const text = await againstSocket(socket, ['status']);
      expect(text).toBe('a                                RUNNING   pid <PID>, uptime <UPTIME>\n[rc=0]');
    } finally {
      server.close();
    }
  });
});
