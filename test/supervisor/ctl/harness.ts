// Real peers for the compatibility tests: Debian's Python supervisord/supervisorctl and ours
// (dist/), each daemon in its own temp dir with its own socket (never /var/run/supervisor.sock).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { expect } from 'vitest';
import { XmlRpcClient } from '../../../src/supervisor/ctl/index.js';
import { killQuietly } from '../../support/processes.js';
import { waitFor } from '../../support/wait.js';
import { describeWithPeers, REAL_SUPERVISORCTL, REAL_SUPERVISORD, supervisorctlCommand, supervisordCommand, type Peer } from '../fixtures.js';

export type { Peer } from '../fixtures.js';

/** `describe` for the four-way suites: real supervisord and supervisorctl must be installed (skipped, or failed in CI). */
export const describeWithRealPeers = describeWithPeers([REAL_SUPERVISORD, REAL_SUPERVISORCTL]);

export interface Daemon {
  kind: Peer;
  dir: string;
  conf: string;
  socket: string;
  client: XmlRpcClient;
  child: ChildProcess;
  /** Rewrites the config file (for reread/update). */
  writeConfig(body: string): Promise<void>;
  stop(): Promise<void>;
}

export interface DaemonOptions {
  /** Program sections etc.; `%(here)s` is the daemon's dir. */
  programs: string;
  /** `password` as written in the config (plain or {SHA}); `plain` is what clients send (defaults to password). */
  auth?: { username: string; password: string; plain?: string };
  /** Extra lines for [supervisorctl] (e.g. username/password). */
  ctlSection?: string;
  /** Adds [inet_http_server] on 127.0.0.1:port. */
  inetPort?: number;
  chmod?: string;
}

export function configText(options: DaemonOptions): string {
  const auth = options.auth ? `username=${options.auth.username}\npassword=${options.auth.password}\n` : '';
  return [
    '[unix_http_server]',
    'file=%(here)s/sock',
    options.chmod ? `chmod=${options.chmod}` : '',
    auth,
    options.inetPort !== undefined ? `[inet_http_server]\nport=127.0.0.1:${options.inetPort}\n${auth}` : '',
    '[supervisord]',
    'logfile=%(here)s/supervisord.log',
    'pidfile=%(here)s/supervisord.pid',
    'childlogdir=%(here)s',
    '',
    '[rpcinterface:supervisor]',
    'supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface',
    '',
    '[supervisorctl]',
    'serverurl=unix://%(here)s/sock',
    options.ctlSection ?? '',
    '',
    options.programs,
    '',
  ].join('\n');
}

export async function startDaemon(kind: Peer, options: DaemonOptions): Promise<Daemon> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `ctl-${kind}-`));
  const conf = path.join(dir, 'supervisord.conf');
  const socket = path.join(dir, 'sock');
  await writeFile(conf, configText(options));
  const [command, args] = supervisordCommand(kind, ['-n', '-c', conf]);
  const child = spawn(command, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const credentials = options.auth ? { username: options.auth.username, password: options.auth.plain ?? options.auth.password } : { username: null, password: null };
  const client = new XmlRpcClient({ kind: 'unix', path: socket }, credentials);
  await waitFor(`${kind} supervisord to serve ${socket}`, async () => {
    if (child.exitCode !== null) throw new Error(`supervisord exited with ${child.exitCode}: ${stderr}`);
    const state = (await client.call('supervisor.getState')) as { statename?: string };
    return state.statename === 'RUNNING';
  });
  return {
    kind,
    dir,
    conf,
    socket,
    client,
    child,
    writeConfig: (body) => writeFile(conf, body),
    async stop() {
      // Children the daemon cannot stop politely (a TERM-ignoring one) are killed first.
      const pids = await childPids(client).catch(() => []);
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const stopped = await Promise.race([exited.then(() => true), delay(15_000).then(() => false)]);
        if (!stopped) {
          for (const pid of pids) killQuietly(pid);
          child.kill('SIGKILL');
          await exited;
        }
      }
      for (const pid of pids) killQuietly(pid);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Starts one daemon per kind; if any fails to come up, stops the others before rethrowing. */
export async function startDaemons(kinds: readonly Peer[], options: (kind: Peer, index: number) => DaemonOptions): Promise<Daemon[]> {
  const settled = await Promise.allSettled(kinds.map((kind, i) => startDaemon(kind, options(kind, i))));
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  const started = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  if (failure) {
    await Promise.all(started.map((d) => d.stop()));
    throw failure.reason;
  }
  return started;
}

async function childPids(client: XmlRpcClient): Promise<number[]> {
  const infos = (await client.call('supervisor.getAllProcessInfo')) as Array<{ pid: number }>;
  return infos.map((info) => info.pid).filter((pid) => pid > 0);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

export interface CtlResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export async function runCtl(kind: Peer, args: string[], options: { input?: string; env?: Record<string, string> } = {}): Promise<CtlResult> {
  const [command, argv] = supervisorctlCommand(kind, args);
  const result = await execa(command, argv, {
    reject: false,
    stripFinalNewline: false,
    timeout: 60_000,
    input: options.input ?? '',
    env: options.env,
  });
  return { stdout: String(result.stdout), stderr: String(result.stderr), exitCode: result.exitCode ?? -1 };
}

/** Pids, uptimes, stop dates, the daemon's dir, program paths: what legitimately differs between runs. */
export function normalize(text: string, dirs: string[] = []): string {
  let out = text;
  for (const dir of dirs) out = out.split(dir).join('<DIR>');
  return out
    .replace(/pid \d+, uptime [\d:, a-z]+/g, 'pid <PID>, uptime <UPTIME>')
    .replace(/[A-Z][a-z]{2} \d{2} \d{2}:\d{2} [AP]M/g, '<DATE>')
    .replace(/^[1-9]\d*$/gm, '<NUMBER>');
}

/**
 * Runs `supervisorctl args…` with the real client and ours (as `asUser` through runuser when given) and
 * requires the same output and exit code: returns that text, normalised, with `[rc=N]` appended.
 */
export async function bothClients(args: string[], dirs: string[] = [], options: { asUser?: string } = {}): Promise<string> {
  const texts: string[] = [];
  for (const client of ['real', 'ours'] as const) {
    let result;
    if (options.asUser) {
      const [command, argv] = supervisorctlCommand(client, args);
      result = await runAs(options.asUser, command, argv);
    } else {
      result = await runCtl(client, args);
    }
    texts.push(`${normalize(result.stdout + result.stderr, dirs)}[rc=${result.exitCode}]`);
  }
  expect(texts[1], `our supervisorctl vs the real one for ${JSON.stringify(args)}`).toBe(texts[0]);
  return texts[0] ?? '';
}

function runAs(user: string, command: string, args: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn('runuser', ['-u', user, '--', command, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ stdout, stderr, exitCode: code ?? -1 }));
  });
}

/** A status listing as `name state` pairs, for polling until processes settle. */
export async function states(client: XmlRpcClient): Promise<Record<string, string>> {
  const infos = (await client.call('supervisor.getAllProcessInfo')) as Array<{ name: string; group: string; statename: string }>;
  return Object.fromEntries(infos.map((i) => [i.group === i.name ? i.name : `${i.group}:${i.name}`, i.statename]));
}

/** A program section whose program writes `bytes` of `x` to its stdout log, then sleeps: output larger than a pipe. */
export function bigLogProgram(name: string, bytes: number): string {
  return `[program:${name}]\ncommand=sh -c 'head -c ${bytes} /dev/zero | tr "\\0" x; exec sleep infinity'\nstartsecs=0\n`;
}

/** Until the daemon's stdout log of `name` holds all `bytes` (written by bigLogProgram's program). */
export async function waitForWholeLog(daemon: Daemon, name: string, bytes: number): Promise<void> {
  await waitFor(`the whole log of ${name}`, async () => {
    const log = await daemon.client.call('supervisor.readProcessStdoutLog', [name, 0, 0]);
    return typeof log === 'string' && log.length === bytes;
  });
}
