// The control server's wire layer over a real unix socket and a real TCP port: auth, routing,
// faults, limits, streaming. SupervisorControl is an in-memory stand-in here (this tests the
// codec and dispatch only; test/supervisor/ctl/*.test.ts prove compatibility with the real core).
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFile, lstat, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { connect, createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RpcFault, RpcProtocolError, XmlRpcClient } from '../../../src/supervisor/ctl/index.js';
import { ALREADY_LISTENING, encodeCall, startControlServers, type ControlServers } from '../../../src/supervisor/rpc/index.js';
import {
  FaultCode,
  ProcessState,
  SupervisorFault,
  SupervisordState,
  type ProcessInfo,
  type SupervisorControl,
  type SupervisordConfig,
} from '../../../src/supervisor/types.js';
import { waitFor } from '../../support/wait.js';
import { supervisordConfig } from '../fixtures.js';

const LIST_METHODS = [
  'supervisor.addProcessGroup',
  'supervisor.clearAllProcessLogs',
  'supervisor.clearLog',
  'supervisor.clearProcessLog',
  'supervisor.clearProcessLogs',
  'supervisor.getAPIVersion',
  'supervisor.getAllConfigInfo',
  'supervisor.getAllProcessInfo',
  'supervisor.getIdentification',
  'supervisor.getPID',
  'supervisor.getProcessInfo',
  'supervisor.getState',
  'supervisor.getSupervisorVersion',
  'supervisor.getVersion',
  'supervisor.readLog',
  'supervisor.readMainLog',
  'supervisor.readProcessLog',
  'supervisor.readProcessStderrLog',
  'supervisor.readProcessStdoutLog',
  'supervisor.reloadConfig',
  'supervisor.removeProcessGroup',
  'supervisor.restart',
  'supervisor.sendProcessStdin',
  'supervisor.sendRemoteCommEvent',
  'supervisor.shutdown',
  'supervisor.signalAllProcesses',
  'supervisor.signalProcess',
  'supervisor.signalProcessGroup',
  'supervisor.startAllProcesses',
  'supervisor.startProcess',
  'supervisor.startProcessGroup',
  'supervisor.stopAllProcesses',
  'supervisor.stopProcess',
  'supervisor.stopProcessGroup',
  'supervisor.tailProcessLog',
  'supervisor.tailProcessStderrLog',
  'supervisor.tailProcessStdoutLog',
  'system.listMethods',
  'system.methodHelp',
  'system.methodSignature',
  'system.multicall',
];

/** In-memory processes: start/stop flip states at once; the log files are real files. */
class FakeControl implements SupervisorControl {
  readonly identification = 'supervisor';
  readonly pid = 4242;
  mood = SupervisordState.RUNNING;
  signals: Array<[string, string]> = [];
  stdin: Array<[string, string]> = [];
  private infos: ProcessInfo[];

  constructor(
    private readonly dir: string,
    private readonly baseConfig: SupervisordConfig,
  ) {
    const info = (name: string, group: string, state: ProcessState, pid: number): ProcessInfo => ({
      name,
      group,
      start: state === ProcessState.RUNNING ? 1_700_000_000 : 0,
      stop: 0,
      now: 1_700_000_322,
      state,
      spawnerr: '',
      exitstatus: 0,
      stdoutLogfile: path.join(dir, `${name}.out.log`),
      stderrLogfile: path.join(dir, `${name}.err.log`),
      pid,
      priority: 999,
    });
    this.infos = [
      info('api', 'api', ProcessState.RUNNING, 11),
      info('worker', 'worker', ProcessState.STOPPED, 0),
      info('g1', 'grp', ProcessState.RUNNING, 12),
      info('g2', 'grp', ProcessState.STOPPED, 0),
    ];
  }

  state(): SupervisordState {
    return this.mood;
  }
  config(): SupervisordConfig {
    return this.baseConfig;
  }
  processes(): ProcessInfo[] {
    return this.infos.map((i) => ({ ...i }));
  }
  private find(name: string): ProcessInfo {
    const found = this.infos.find((i) => (i.group === i.name ? i.name : `${i.group}:${i.name}`) === name);
    if (!found) throw new SupervisorFault(FaultCode.BAD_NAME, name);
    return found;
  }
  processInfo(name: string): ProcessInfo {
    return { ...this.find(name) };
  }
  async startProcess(name: string): Promise<void> {
    const info = this.find(name);
    info.state = ProcessState.RUNNING;
    info.pid = 100 + this.infos.indexOf(info);
    info.start = info.now;
  }
  async stopProcess(name: string): Promise<void> {
    const info = this.find(name);
    info.state = ProcessState.STOPPED;
    info.pid = 0;
    info.stop = info.now;
  }
  signalProcess(name: string, signal: string): void {
    this.signals.push([name, signal]);
  }
  sendProcessStdin(name: string, chars: string): void {
    this.stdin.push([name, chars]);
  }
  async clearProcessLogs(name: string): Promise<void> {
    await writeFile(this.find(name).stdoutLogfile, '');
  }
  mainLogfile(): string {
    return path.join(this.dir, 'supervisord.log');
  }
  async clearMainLog(): Promise<void> {
    await writeFile(this.mainLogfile(), '');
  }
  async reloadConfig(): Promise<{ added: string[]; changed: string[]; removed: string[] }> {
    return { added: ['newgroup'], changed: [], removed: ['worker'] };
  }
  async addProcessGroup(name: string): Promise<void> {
    throw new SupervisorFault(FaultCode.BAD_NAME, name);
  }
  async removeProcessGroup(name: string): Promise<void> {
    throw new SupervisorFault(FaultCode.STILL_RUNNING, name);
  }
  shutdown(): void {
    this.mood = SupervisordState.SHUTDOWN;
  }
  restart(): void {
    this.mood = SupervisordState.RESTARTING;
  }
  reopenLogs(): void {}
  readonly remoteEvents: { type: string; data: string }[] = [];
  sendRemoteCommEvent(type: string, data: string): void {
    this.remoteEvents.push({ type, data });
  }
}

function config(dir: string, overrides: Partial<SupervisordConfig> = {}): SupervisordConfig {
  return {
    ...supervisordConfig(dir, []),
    unixHttpServer: { file: path.join(dir, 'sock'), chmod: 0o700, chown: null, auth: null },
    ...overrides,
  };
}

const quietLog = { info: () => undefined, warn: () => undefined, critical: () => undefined };

/** A raw HTTP exchange on the unix socket (for what no well-behaved client sends). */
function rawRequest(
  socketPath: string,
  options: { method?: string; path?: string; body?: string | Buffer; headers?: Record<string, string> },
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath, method: options.method ?? 'POST', path: options.path ?? '/RPC2', agent: false, headers: options.headers ?? {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('control server (in-memory SupervisorControl)', () => {
  let dir: string;
  let control: FakeControl;
  let servers: ControlServers;
  let client: XmlRpcClient;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'rpc-server-'));
    const cfg = config(dir, { inetHttpServer: { host: '127.0.0.1', port: 0, auth: null } });
    control = new FakeControl(dir, cfg);
    await writeFile(path.join(dir, 'api.out.log'), 'line one\nline two\n');
    await writeFile(path.join(dir, 'supervisord.log'), 'main log line\n');
    servers = await startControlServers(control, cfg, quietLog);
    client = new XmlRpcClient({ kind: 'unix', path: path.join(dir, 'sock') }, { username: null, password: null });
  });

  afterAll(async () => {
    await servers.close();
    await rm(dir, { recursive: true, force: true });
  });

  afterEach(() => {
    control.mood = SupervisordState.RUNNING;
  });

  it('answers getState, getPID and the versions', async () => {
    expect(await client.call('supervisor.getState')).toEqual({ statecode: 1, statename: 'RUNNING' });
    expect(await client.call('supervisor.getPID')).toBe(4242);
    expect(await client.call('supervisor.getVersion')).toBe('3.0');
    expect(await client.call('supervisor.getAPIVersion')).toBe('3.0');
    expect(await client.call('supervisor.getSupervisorVersion')).toBe('4.2.5');
    expect(await client.call('supervisor.getIdentification')).toBe('supervisor');
  });

  it('lists exactly supervisord 4.2.5’s 41 methods and their signatures', async () => {
    expect(await client.call('system.listMethods')).toEqual(LIST_METHODS);
    expect(await client.call('system.methodSignature', ['supervisor.readProcessStdoutLog'])).toEqual(['string', 'string', 'int', 'int']);
    expect(await client.call('system.methodSignature', ['supervisor.startProcess'])).toEqual(['boolean', 'string', 'boolean']);
    expect(await client.call('system.methodHelp', ['supervisor.getPID'])).toContain('@return int');
    await expect(client.call('system.methodHelp', ['nope.nope'])).rejects.toMatchObject({ faultCode: FaultCode.SIGNATURE_UNSUPPORTED });
  });

  it('serves the process-info struct with supervisord’s fields and description', async () => {
    const info = await client.call('supervisor.getProcessInfo', ['api']);
    expect(Object.keys(info as object)).toEqual([
      'name',
      'group',
      'start',
      'stop',
      'now',
      'state',
      'statename',
      'spawnerr',
      'exitstatus',
      'logfile',
      'stdout_logfile',
      'stderr_logfile',
      'pid',
      'description',
    ]);
    expect(info).toMatchObject({ name: 'api', statename: 'RUNNING', pid: 11, description: 'pid 11, uptime 0:05:22' });
    expect(await client.call('supervisor.getProcessInfo', ['api:api'])).toMatchObject({ name: 'api' });
    const all = (await client.call('supervisor.getAllProcessInfo')) as Array<{ group: string; name: string; description: string }>;
    expect(all.map((i) => `${i.group}:${i.name}`)).toEqual(['api:api', 'grp:g1', 'grp:g2', 'worker:worker']);
    expect(all.find((i) => i.name === 'worker')?.description).toBe('Not started');
  });

  it('returns supervisord’s faults for unknown names, methods and bad arguments', async () => {
    await expect(client.call('supervisor.getProcessInfo', ['nosuch'])).rejects.toMatchObject({ faultCode: 10, faultString: 'BAD_NAME: nosuch' });
    await expect(client.call('supervisor.bogus')).rejects.toMatchObject({ faultCode: 1, faultString: 'UNKNOWN_METHOD' });
    await expect(client.call('supervisor.getState.__class__')).rejects.toMatchObject({ faultCode: 1 });
    await expect(client.call('supervisor._private')).rejects.toMatchObject({ faultCode: 1 });
    await expect(client.call('supervisor.getProcessInfo', [])).rejects.toMatchObject({ faultCode: FaultCode.INCORRECT_PARAMETERS });
    await expect(client.call('supervisor.getPID', [1])).rejects.toMatchObject({ faultCode: FaultCode.INCORRECT_PARAMETERS });
    await expect(client.call('supervisor.startProcess', ['api', 'yes'])).rejects.toMatchObject({ faultCode: FaultCode.INCORRECT_PARAMETERS });
    await expect(client.call('system.multicall', ['not an array'])).rejects.toMatchObject({ faultCode: FaultCode.INCORRECT_PARAMETERS });
    const wrongType = client.call('supervisor.getProcessInfo', [42]);
    await expect(wrongType).rejects.toBeInstanceOf(RpcFault);
    await expect(wrongType).rejects.toMatchObject({ faultCode: FaultCode.INCORRECT_PARAMETERS });
    await expect(client.call('supervisor.readLog', [0, -5])).rejects.toMatchObject({ faultCode: 3, faultString: 'BAD_ARGUMENTS' });
    await expect(client.call('supervisor.signalProcess', ['api', 'BOGUS'])).rejects.toMatchObject({ faultString: 'BAD_SIGNAL: BOGUS' });
    await expect(client.call('supervisor.startProcess', ['api'])).rejects.toMatchObject({ faultString: 'ALREADY_STARTED: api' });
    await expect(client.call('supervisor.stopProcess', ['worker'])).rejects.toMatchObject({ faultString: 'NOT_RUNNING: worker' });
  });

  it('composes group and all operations into result structs', async () => {
    expect(await client.call('supervisor.startProcessGroup', ['grp'])).toEqual([
      { name: 'g2', group: 'grp', status: FaultCode.SUCCESS, description: 'OK' },
    ]);
    expect(await client.call('supervisor.stopProcess', ['grp:*'])).toEqual([
      { name: 'g1', group: 'grp', status: 80, description: 'OK' },
      { name: 'g2', group: 'grp', status: 80, description: 'OK' },
    ]);
    await expect(client.call('supervisor.startProcessGroup', ['nogrp'])).rejects.toMatchObject({ faultString: 'BAD_NAME: nogrp' });
    const signalled = (await client.call('supervisor.signalAllProcesses', ['HUP'])) as Array<{ name: string }>;
    expect(signalled.map((r) => r.name)).toEqual(['api']);
    expect(control.signals).toContainEqual(['api', 'HUP']);
    expect(await client.call('supervisor.signalProcess', ['api', '10'])).toBe(true);
    expect(control.signals).toContainEqual(['api', 'USR1']);
    expect(await client.call('supervisor.reloadConfig')).toEqual([[['newgroup'], [], ['worker']]]);
  });

  it('runs system.multicall in order, with faults inline and no recursion', async () => {
    const results = await client.call('system.multicall', [
      [
        { methodName: 'supervisor.getPID', params: [] },
        { methodName: 'supervisor.getProcessInfo', params: ['nosuch'] },
        { methodName: 'system.multicall', params: [[]] },
        { methodName: 'supervisor.sendProcessStdin', params: ['api', 'hello\n'] },
      ],
    ]);
    expect(results).toEqual([
      4242,
      { faultCode: 10, faultString: 'BAD_NAME: nosuch' },
      { faultCode: 2, faultString: 'INCORRECT_PARAMETERS: Recursive system.multicall forbidden' },
      true,
    ]);
    expect(control.stdin).toEqual([['api', 'hello\n']]);
  });

  it('reads and tails logs with supervisord’s offset rules', async () => {
    expect(await client.call('supervisor.readProcessStdoutLog', ['api', -9, 0])).toBe('line two\n');
    expect(await client.call('supervisor.readProcessStdoutLog', ['api', 0, 4])).toBe('line');
    expect(await client.call('supervisor.tailProcessStdoutLog', ['api', 0, 5])).toEqual([' two\n', 18, true]);
    expect(await client.call('supervisor.tailProcessStdoutLog', ['api', 18, 100])).toEqual(['', 18, false]);
    expect(await client.call('supervisor.tailProcessStderrLog', ['api', 0, 100])).toEqual(['', 0, false]);
    await expect(client.call('supervisor.readProcessStderrLog', ['api', -100, 0])).rejects.toMatchObject({ faultCode: FaultCode.NO_FILE });
    expect(await client.call('supervisor.readLog', [-14, 0])).toBe('main log line\n');
  });

  it('faults every supervisor.* call with SHUTDOWN_STATE while shutting down, system.* still answer', async () => {
    expect(await client.call('supervisor.shutdown')).toBe(true);
    await expect(client.call('supervisor.getState')).rejects.toMatchObject({ faultCode: 6, faultString: 'SHUTDOWN_STATE' });
    await expect(client.call('supervisor.shutdown')).rejects.toMatchObject({ faultCode: 6 });
    expect(await client.call('system.listMethods')).toHaveLength(41);
  });

  it('answers malformed requests with 4xx and keeps serving', async () => {
    const socketPath = path.join(dir, 'sock');
    const badXml = await rawRequest(socketPath, { body: '<methodCall><methodName>x' });
    expect(badXml.status).toBe(400);
    expect(badXml.body).toContain('<p>Error code 400.');
    expect((await rawRequest(socketPath, { body: '<methodCall><methodName></methodName></methodCall>' })).status).toBe(400);
    expect((await rawRequest(socketPath, { method: 'GET' })).status).toBe(400);
    expect((await rawRequest(socketPath, { path: '/nothing-here' })).status).toBe(404);
    const huge = Buffer.alloc(3 * 1024 * 1024, 'a');
    const tooLarge = await rawRequest(socketPath, { body: huge }).catch((error: unknown) => error);
    // Either the 413 arrives or the server cut the upload short: never a crash.
    if (!(tooLarge instanceof Error)) expect((tooLarge as { status: number }).status).toBe(413);
    const bomb = `<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "${'x'.repeat(100)}"><!ENTITY b "&a;&a;&a;&a;">]><methodCall><methodName>&b;</methodName></methodCall>`;
    expect((await rawRequest(socketPath, { body: bomb })).status).toBe(400);
    expect(await client.call('supervisor.getPID')).toBe(4242);
  });

  it('survives a few hundred randomly corrupted requests: only 200 (result or fault) or 400', async () => {
    const valid = encodeCall('supervisor.startProcessGroup', ['grp', true]);
    let seed = 12345;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const statuses = new Set<number>();
    for (let i = 0; i < 300; i += 1) {
      const bytes = Buffer.from(valid);
      for (let j = 0; j <= random(4); j += 1) {
        const at = random(bytes.length);
        if (random(2) === 0) bytes[at] = random(256);
        else bytes.copyWithin(at, random(bytes.length));
      }
      const reply = await rawRequest(path.join(dir, 'sock'), { body: random(5) === 0 ? bytes.subarray(0, random(bytes.length)) : bytes });
      statuses.add(reply.status);
      if (reply.status === 200) expect(reply.body).toMatch(/^<\?xml version='1.0'\?>\n<methodResponse>\n/);
    }
    expect([...statuses].every((status) => status === 200 || status === 400)).toBe(true);
    expect(statuses.has(400)).toBe(true);
    expect(await client.call('supervisor.getPID')).toBe(4242);
  });

  it('replies with supervisord’s header set', async () => {
    const reply = await rawRequest(path.join(dir, 'sock'), {
      body: "<?xml version='1.0'?>\n<methodCall>\n<methodName>supervisor.getPID</methodName>\n<params>\n</params>\n</methodCall>\n",
      headers: { 'Content-Type': 'text/xml' },
    });
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('text/xml');
    expect(reply.headers.server).toBe('Medusa/1.12');
    expect(reply.headers['content-length']).toBe(String(Buffer.byteLength(reply.body)));
    expect(reply.body).toBe("<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><int>4242</int></value>\n</param>\n</params>\n</methodResponse>\n");
  });

  it('serves the same interface on the inet port', async () => {
    expect(servers.inetPort).toBeGreaterThan(0);
    const tcp = new XmlRpcClient({ kind: 'http', host: '127.0.0.1', port: servers.inetPort ?? 0 }, { username: null, password: null });
    expect(await tcp.call('supervisor.getPID')).toBe(4242);
  });

  it('chmods the socket to the configured mode (default 0700)', async () => {
    expect((await stat(path.join(dir, 'sock'))).mode & 0o777).toBe(0o700);
  });

  it('streams /logtail from the last 1024 bytes and follows appended output', async () => {
    const log = path.join(dir, 'api.out.log');
    await writeFile(log, `${'x'.repeat(2000)}END-OF-OLD\n`);
    const received: string[] = [];
    const req = request({ socketPath: path.join(dir, 'sock'), path: '/logtail/api/stdout', agent: false });
    const response = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
      req.on('response', resolve);
      req.on('error', reject);
      req.end();
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['transfer-encoding']).toBe('chunked');
    response.on('data', (chunk: Buffer) => received.push(chunk.toString()));
    await waitFor('the tail of the old content', () => received.join('').includes('END-OF-OLD'));
    expect(received.join('').length).toBe(1024);
    await appendFile(log, 'fresh line\n');
    await waitFor('the appended line', () => received.join('').endsWith('fresh line\n'));
    response.destroy();
    expect((await rawRequest(path.join(dir, 'sock'), { method: 'GET', path: '/logtail/nosuch/stdout' })).status).toBe(404);
    expect((await rawRequest(path.join(dir, 'sock'), { method: 'GET', path: '/logtail/api/stderr' })).status).toBe(404);
    const main = await new Promise<number>((resolve, reject) => {
      const r = request({ socketPath: path.join(dir, 'sock'), path: '/mainlogtail', agent: false }, (res) => {
        resolve(res.statusCode ?? 0);
        res.destroy();
      });
      r.on('error', reject);
      r.end();
    });
    expect(main).toBe(200);
  });
});

describe('control server start-up and auth', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'rpc-auth-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['a plain password', 'secret'],
    ['a {SHA} password', `{SHA}${createHash('sha1').update('secret').digest('hex')}`],
  ])('refuses a missing or wrong password with 401 before any method runs (%s)', async (_what, stored) => {
    const cfg = config(dir, { unixHttpServer: { file: path.join(dir, 'auth.sock'), chmod: 0o700, chown: null, auth: { username: 'user', password: stored } } });
    const control = new FakeControl(dir, cfg);
    const servers = await startControlServers(control, cfg, quietLog);
    try {
      const target = { kind: 'unix' as const, path: path.join(dir, 'auth.sock') };
      const good = new XmlRpcClient(target, { username: 'user', password: 'secret' });
      expect(await good.call('supervisor.getPID')).toBe(4242);
      for (const credentials of [
        { username: 'user', password: 'wrong' },
        { username: 'other', password: 'secret' },
        { username: null, password: null },
      ]) {
        const attempt = new XmlRpcClient(target, credentials).call('supervisor.shutdown');
        await expect(attempt).rejects.toBeInstanceOf(RpcProtocolError);
        await expect(attempt).rejects.toMatchObject({ status: 401 });
      }
      expect(control.mood).toBe(SupervisordState.RUNNING);
      const raw = await rawRequest(target.path, { body: '' });
      expect(raw.status).toBe(401);
      expect(raw.headers['www-authenticate']).toBe('Basic realm="default"');
      expect(raw.body.length).toBe(137);
    } finally {
      await servers.close();
    }
  });

  it('replaces a stale socket file, refuses a live one, and removes its socket on close', async () => {
    const file = path.join(dir, 'stale.sock');
    const stale = createServer();
    await new Promise<void>((resolve) => stale.listen(file, resolve));
    // A live listener: supervisord refuses to start.
    const cfg = config(dir, { unixHttpServer: { file, chmod: 0o660, chown: null, auth: null } });
    await expect(startControlServers(new FakeControl(dir, cfg), cfg, quietLog)).rejects.toThrow(ALREADY_LISTENING);
    await new Promise<void>((resolve) => stale.close(() => resolve()));
    // A crashed owner: a process that bound the socket and was SIGKILLed leaves the file behind.
    const owner = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(file)}, () => console.log('up'))`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve) => owner.stdout.once('data', () => resolve()));
    const gone = new Promise<void>((resolve) => owner.once('exit', () => resolve()));
    owner.kill('SIGKILL');
    await gone;
    expect((await lstat(file)).isSocket()).toBe(true);
    const servers = await startControlServers(new FakeControl(dir, cfg), cfg, quietLog);
    expect((await stat(file)).mode & 0o777).toBe(0o660);
    const client = new XmlRpcClient({ kind: 'unix', path: file }, { username: null, password: null });
    expect(await client.call('supervisor.getPID')).toBe(4242);
    await servers.close();
    await expect(stat(file)).rejects.toThrow();
  });

  it('closes with a connection accepted before the request handler was loaded (the handler loads on the first connection)', async () => {
    const file = path.join(dir, 'first.sock');
    const cfg = config(dir, { unixHttpServer: { file, chmod: 0o700, chown: null, auth: null } });
    const servers = await startControlServers(new FakeControl(dir, cfg), cfg, quietLog);
    // Connected, nothing sent: the close must end this connection too, not wait for the client.
    const idle = connect(file);
    await new Promise<void>((resolve) => idle.once('connect', () => resolve()));
    const ended = new Promise<void>((resolve) => idle.once('close', () => resolve()));
    await servers.close();
    await ended;
    await expect(stat(file)).rejects.toThrow();
  });

  it('serves requests sent at once on a fresh connection, before the request handler is loaded, in order', async () => {
    const file = path.join(dir, 'pipelined.sock');
    const cfg = config(dir, { unixHttpServer: { file, chmod: 0o700, chown: null, auth: null } });
    const servers = await startControlServers(new FakeControl(dir, cfg), cfg, quietLog);
    try {
      const body = encodeCall('supervisor.getPID', []);
      const one = `POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
      const socket = connect(file);
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.write(one + one);
      await waitFor('both replies', () => Buffer.concat(chunks).toString('latin1').match(/<int>4242<\/int>/g)?.length === 2);
      expect(Buffer.concat(chunks).toString('latin1').match(/^HTTP\/1\.1 200 OK/gm)).toHaveLength(2);
      socket.destroy();
    } finally {
      await servers.close();
    }
  });

  it('chowns the socket to [unix_http_server] chown (user, primary group)', async () => {
    const uid = Number(execFileSync('id', ['-u', 'nobody']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'nobody']).toString().trim());
    const file = path.join(dir, 'owned.sock');
    const cfg = config(dir, { unixHttpServer: { file, chmod: 0o770, chown: { user: 'nobody', group: null }, auth: null } });
    const servers = await startControlServers(new FakeControl(dir, cfg), cfg, quietLog);
    try {
      const info = await stat(file);
      expect([info.uid, info.gid, info.mode & 0o777]).toEqual([uid, gid, 0o770]);
    } finally {
      await servers.close();
    }
  });

  it('a socket in a missing directory fails with supervisord’s message', async () => {
    const cfg = config(dir, { unixHttpServer: { file: path.join(dir, 'missing', 'sock'), chmod: 0o700, chown: null, auth: null } });
    await expect(startControlServers(new FakeControl(dir, cfg), cfg, quietLog)).rejects.toThrow(
      'Cannot open an HTTP server: socket.error reported errno.ENOENT (2)',
    );
  });

  it('without [rpcinterface:supervisor] only system.* exists', async () => {
    const cfg = config(dir, { rpcInterfaceEnabled: false, unixHttpServer: { file: path.join(dir, 'norpc.sock'), chmod: 0o700, chown: null, auth: null } });
    const servers = await startControlServers(new FakeControl(dir, cfg), cfg, quietLog);
    try {
      const client = new XmlRpcClient({ kind: 'unix', path: path.join(dir, 'norpc.sock') }, { username: null, password: null });
      await expect(client.call('supervisor.getVersion')).rejects.toMatchObject({ faultCode: FaultCode.UNKNOWN_METHOD });
      expect(await client.call('system.listMethods')).toEqual(LIST_METHODS.filter((m) => m.startsWith('system.')));
    } finally {
      await servers.close();
    }
  });
});
