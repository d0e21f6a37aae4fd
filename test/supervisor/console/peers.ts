// A supervisord (Debian's 4.2.5 or ours, the dist bundle) run as a child process with the web console on
// [inet_http_server] (a free loopback port) behind basic auth, for the console's HTTP and browser tests.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitFor } from '../../support/wait.js';
import { supervisordCommand, type Launched, type Peer, type TempDir } from '../fixtures.js';

export const CONSOLE_USER = 'operator';
export const CONSOLE_PASSWORD = 'c0nsole-pass';
export const AUTH = `${CONSOLE_USER}:${CONSOLE_PASSWORD}`;

/** The programs both peers run: one running, one not started, one that cannot start. */
export const CONSOLE_PROGRAMS = `[program:sleeper]
command=/bin/sh -c 'echo hello from sleeper; echo complaint >&2; exec sleep 1000'
startsecs=1
stopwaitsecs=5

[program:manual]
command=/bin/sleep 1000
autostart=false
startsecs=0

[program:broken]
command=/nonexistent/program
startretries=0
`;

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface HttpReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request to the console (no redirect followed). */
export function http(base: string, path: string, options: { auth?: string | null; method?: string; body?: string; socketPath?: string } = {}): Promise<HttpReply> {
  const url = new URL(path, `${base}/`);
  const target = options.socketPath === undefined ? { host: url.hostname, port: url.port } : { socketPath: options.socketPath };
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = options.body === undefined ? {} : { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': String(Buffer.byteLength(options.body)) };
    const auth = options.auth === undefined ? AUTH : options.auth;
    const req = request(
      // A connection per request: Medusa answers HEAD with a body, which would corrupt a kept-alive socket.
      { ...target, path: `${url.pathname}${url.search}`, method: options.method ?? 'GET', headers, agent: false, ...(auth === null ? {} : { auth }) },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** The message of a redirect after an action: `/?message=…` decoded. */
export function redirectMessage(reply: HttpReply): string {
  const location = String(reply.headers.location ?? '');
  return new URL(location).searchParams.get('message') ?? `(no message in ${location})`;
}

export interface RunningPeer {
  peer: Peer;
  /** `http://127.0.0.1:<port>` */
  base: string;
  launched: Launched;
}

/** Starts a peer in its own sub-directory of `dir`; resolves once its console answers ok.html and sleeper runs. */
export async function startPeer(
  peer: Peer,
  dir: TempDir,
  launch: (command: string, args: readonly string[]) => Launched,
  programs = CONSOLE_PROGRAMS,
  /** More sections for the config (a [unix_http_server], say). */
  moreSections = '',
): Promise<RunningPeer> {
  const port = await freePort();
  const conf = dir.file(`${peer}.conf`);
  // A childlogdir of its own: each supervisord deletes the other's AUTO logs when they share one.
  const logs = dir.file(`${peer}-logs`);
  mkdirSync(logs, { recursive: true });
  writeFileSync(
    conf,
    `[supervisord]
logfile=${logs}/main.log
pidfile=${dir.file(`${peer}.pid`)}
childlogdir=${logs}
identifier=${peer}
nodaemon=true
silent=true

[inet_http_server]
port=127.0.0.1:${port}
username=${CONSOLE_USER}
password=${CONSOLE_PASSWORD}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

${moreSections}

${programs}`,
  );
  const [command, args] = supervisordCommand(peer, ['-c', conf]);
  const launched = launch(command, args);
  const base = `http://127.0.0.1:${port}`;
  await waitFor(`${peer} supervisord's console with sleeper running`, async () => {
    const page = await http(base, 'index.html');
    return page.status === 200 && /running/.test(page.body);
  });
  return { peer, base, launched };
}
