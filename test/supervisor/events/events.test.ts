// The event system end to end, ours against Debian's supervisord 4.2.5: the same config with two
// listeners, one written against Python's supervisor.childutils and one small Node listener, run
// under both daemons; each listener records what it receives. Both listeners must run unchanged
// under both daemons and receive the same events (pids and serials normalised), per process and
// channel (the order between processes, or between a process's two pipes, is the OS's).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { waitFor } from '../../support/wait.js';
import { describeWithPeers, launcher, REAL_SUPERVISORCTL, REAL_SUPERVISORD, supervisordCommand, tempDirForFile, type Peer } from '../fixtures.js';

const PYTHON = '/usr/bin/python3';
const tmp = tempDirForFile('events');
const launch = launcher();

/** A childutils listener: records each event as a JSON line, answers OK (or as told). */
const PY_LISTENER = `import json, sys
from supervisor import childutils
record, mode = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else 'ok')
seen = 0
while True:
    headers, payload = childutils.listener.wait(sys.stdin, sys.stdout)
    seen += 1
    with open(record, 'a') as out:
        out.write(json.dumps({'headers': headers, 'payload': payload}) + '\\n')
    if mode == 'fail-odd' and seen % 2 == 1:
        childutils.listener.fail(sys.stdout)
    else:
        childutils.listener.ok(sys.stdout)
`;

/** The same in Node, reading the protocol by hand (len counts characters, as supervisord writes it). */
const NODE_LISTENER = `import { appendFileSync } from 'node:fs';
const record = process.argv[2];
let buffer = '';
let header = null;
process.stdin.setEncoding('utf8');
process.stdout.write('READY\\n');
process.stdin.on('data', (chunk) => {
  buffer += chunk;
  for (;;) {
    if (header === null) {
      const newline = buffer.indexOf('\\n');
      if (newline === -1) return;
      header = Object.fromEntries(buffer.slice(0, newline).split(' ').map((pair) => pair.split(':')));
      buffer = buffer.slice(newline + 1);
    }
    const chars = [...buffer];
    const length = Number(header.len);
    if (chars.length < length) return;
    const payload = chars.slice(0, length).join('');
    buffer = chars.slice(length).join('');
    appendFileSync(record, JSON.stringify({ headers: header, payload }) + '\\n');
    header = null;
    process.stdout.write('RESULT 2\\nOKREADY\\n');
  }
});
`;

const RPC = `import sys, xmlrpc.client
from supervisor.xmlrpc import SupervisorTransport
proxy = xmlrpc.client.ServerProxy('http://127.0.0.1', transport=SupervisorTransport(None, None, 'unix://' + sys.argv[1]))
method, args = sys.argv[2], sys.argv[3:]
print(getattr(proxy.supervisor, method)(*args))
`;

const EVENTS = 'PROCESS_STATE,PROCESS_LOG,PROCESS_COMMUNICATION,PROCESS_GROUP,SUPERVISOR_STATE_CHANGE,REMOTE_COMMUNICATION';

function config(dir: string, scripts: { py: string; node: string }, extra = ''): string {
  return `[supervisord]
logfile=${dir}/main.log
pidfile=${dir}/supervisord.pid
childlogdir=${dir}
nodaemon=true
silent=true

[unix_http_server]
file=${dir}/s.sock

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[eventlistener:py]
command=${PYTHON} ${scripts.py} ${dir}/py.jsonl
events=${EVENTS}
buffer_size=100

[eventlistener:node]
command=${process.execPath} ${scripts.node} ${dir}/node.jsonl
events=${EVENTS}
buffer_size=100

[program:talker]
command=sh -c 'echo out-line; echo err-line >&2; printf "<!--XSUPERVISOR:BEGIN-->comm data<!--XSUPERVISOR:END-->\\n"; exec sleep 100'
stdout_events_enabled=true
stderr_events_enabled=true
stdout_capture_maxbytes=1KB
stopsignal=KILL

[program:quitter]
command=sh -c 'sleep 1.5; exit 3'
autorestart=false
${extra}`;
}

interface Received {
  headers: Record<string, string>;
  payload: string;
}

function readRecords(file: string): Received[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Received);
}

/** Events by what orders them: one process's states, one process's channel, supervisord's own. */
function byStream(records: Received[]): Record<string, string[]> {
  const streams: Record<string, string[]> = {};
  for (const { headers, payload } of records) {
    const name = headers.eventname ?? '';
    const process = /processname:(\S+)/u.exec(payload)?.[1];
    const channel = name.endsWith('_STDOUT') ? 'stdout' : 'stderr';
    const key = name.startsWith('PROCESS_LOG') || name.startsWith('PROCESS_COMMUNICATION') ? `${process}:${channel}` : (process ?? 'supervisord');
    (streams[key] ??= []).push(`${name} ${payload.replace(/pid:\d+/gu, 'pid:N')}`);
  }
  return streams;
}

/**
 * What a listener received before the shutdown began: after it, what reaches listeners that are
 * themselves being stopped depends on timing (supervisord stops them last, between two loop passes).
 */
function beforeShutdown(records: Received[]): Received[] {
  const end = records.findIndex((r) => r.headers.eventname === 'SUPERVISOR_STATE_CHANGE_STOPPING');
  return end === -1 ? records : records.slice(0, end);
}

/** Serials grow, pool serials count up from 0 without a gap (nothing discarded), len is the payload's. */
function checkHeaders(records: Received[], pool: string): void {
  let lastSerial = -1;
  records.forEach(({ headers, payload }, index) => {
    expect(headers.ver).toBe('3.0');
    expect(headers.server).toBe('supervisor');
    expect(headers.pool).toBe(pool);
    expect(Number(headers.poolserial)).toBe(index);
    expect(Number(headers.serial)).toBeGreaterThan(lastSerial);
    lastSerial = Number(headers.serial);
    expect(Number(headers.len)).toBe([...payload].length);
  });
}

function rpc(dir: string, method: string, ...args: string[]): string {
  const script = tmp.file('rpc.py');
  if (!existsSync(script)) writeFileSync(script, RPC);
  const result = spawnSync(PYTHON, [script, `${dir}/s.sock`, method, ...args], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${method}: ${result.stderr}`);
  return result.stdout.trim();
}

async function run(peer: Peer): Promise<{ py: Received[]; node: Received[]; mainLog: string; status: string }> {
  const dir = tmp.file(peer);
  mkdirSync(dir);
  const scripts = { py: tmp.file('listener.py'), node: tmp.file('listener.mjs') };
  writeFileSync(scripts.py, PY_LISTENER);
  writeFileSync(scripts.node, NODE_LISTENER);
  writeFileSync(`${dir}/supervisord.conf`, config(dir, scripts));
  const daemon = launch(...supervisordCommand(peer, ['-c', `${dir}/supervisord.conf`]));
  const records = (): { py: Received[]; node: Received[] } => ({ py: readRecords(`${dir}/py.jsonl`), node: readRecords(`${dir}/node.jsonl`) });
  const both = (test: (r: Received) => boolean) => () => {
    const { py, node } = records();
    return py.some(test) && node.some(test);
  };
  await waitFor(`${peer}: quitter's exit reaches both listeners`, both((r) => r.headers.eventname === 'PROCESS_STATE_EXITED'), { timeoutMs: 30_000 });
  await waitFor(`${peer}: talker RUNNING`, both((r) => r.headers.eventname === 'PROCESS_STATE_RUNNING' && r.payload.includes('talker')));
  expect(rpc(dir, 'sendRemoteCommEvent', 'greeting', 'hello from rpc é')).toBe('True');
  await waitFor(`${peer}: the remote event`, both((r) => r.headers.eventname === 'REMOTE_COMMUNICATION'));
  // What supervisorctl shows for listeners: their process state, as for programs.
  const status = spawnSync(REAL_SUPERVISORCTL, ['-s', `unix://${dir}/s.sock`, 'status'], { encoding: 'utf8' }).stdout;
  rpc(dir, 'stopProcess', 'talker');
  await waitFor(`${peer}: talker stopped`, both((r) => r.headers.eventname === 'PROCESS_STATE_STOPPED'));
  daemon.child.kill('SIGTERM');
  expect(await daemon.exited).toBe(0);
  return { ...records(), mainLog: readFileSync(`${dir}/main.log`, 'utf8'), status };
}

describeWithPeers([REAL_SUPERVISORD, REAL_SUPERVISORCTL, PYTHON])('event listeners: ours vs the real supervisord', () => {
  it('a childutils listener and a Node listener receive the same events under both daemons', async () => {
    const real = await run('real');
    const ours = await run('ours');

    for (const [peer, result] of Object.entries({ real, ours })) {
      checkHeaders(result.py, 'py');
      checkHeaders(result.node, 'node');
      // Within one daemon the two pools see the same events, but for the group added before the
      // `py` pool existed (pools are created in priority/name order and subscribe when created).
      const node = byStream(beforeShutdown(result.node));
      expect(node.supervisord?.shift()).toBe('PROCESS_GROUP_ADDED groupname:node\n');
      expect(node, `${peer}: node vs py`).toEqual(byStream(beforeShutdown(result.py)));
      expect(result.mainLog, peer).not.toMatch(/overflowed|UNKNOWN|rejected/u);
    }
    const normalised = (status: string): string => status.replace(/pid \d+, uptime \d+:\d\d:\d\d/gu, 'pid N, uptime T').replace(/ +\w{3} \d\d \d\d:\d\d [AP]M/gu, ' DATE');
    expect(normalised(ours.status)).toEqual(normalised(real.status));
    expect(normalised(ours.status)).toMatch(/^node +RUNNING +pid N, uptime T$/mu);
    expect(byStream(beforeShutdown(ours.py))).toEqual(byStream(beforeShutdown(real.py)));
    expect(byStream(beforeShutdown(ours.node))).toEqual(byStream(beforeShutdown(real.node)));

    // What the comparison covers, spelled out once.
    const streams = byStream(beforeShutdown(ours.py));
    expect(streams.supervisord?.slice(0, 4)).toEqual([
      'PROCESS_GROUP_ADDED groupname:py\n',
      'PROCESS_GROUP_ADDED groupname:quitter\n',
      'PROCESS_GROUP_ADDED groupname:talker\n',
      'SUPERVISOR_STATE_CHANGE_RUNNING ',
    ]);
    expect(streams.supervisord).toContain('REMOTE_COMMUNICATION type:greeting\nhello from rpc é');
    expect(streams.quitter).toEqual([
      'PROCESS_STATE_STARTING processname:quitter groupname:quitter from_state:STOPPED tries:0',
      'PROCESS_STATE_RUNNING processname:quitter groupname:quitter from_state:STARTING pid:N',
      'PROCESS_STATE_EXITED processname:quitter groupname:quitter from_state:RUNNING expected:0 pid:N',
    ]);
    expect(streams['talker:stdout']).toEqual([
      'PROCESS_LOG_STDOUT processname:talker groupname:talker pid:N channel:stdout\nout-line\n',
      'PROCESS_LOG_STDOUT processname:talker groupname:talker pid:N channel:stdout\ncomm data',
      'PROCESS_COMMUNICATION_STDOUT processname:talker groupname:talker pid:N\ncomm data',
    ]);
    expect(streams['talker:stderr']).toEqual(['PROCESS_LOG_STDERR processname:talker groupname:talker pid:N channel:stderr\nerr-line\n']);
    expect(streams.talker?.slice(-2)).toEqual([
      'PROCESS_STATE_STOPPING processname:talker groupname:talker from_state:RUNNING pid:N',
      'PROCESS_STATE_STOPPED processname:talker groupname:talker from_state:STOPPING pid:N',
    ]);
  }, 90_000);

  it('BACKOFF, FATAL, PROCESS_GROUP_REMOVED, stderr capture and TICK_5 the same under both daemons', async () => {
    const results: Record<Peer, Received[]> = { real: [], ours: [] };
    for (const peer of ['real', 'ours'] as const) {
      const dir = tmp.file(`second-${peer}`);
      mkdirSync(dir);
      writeFileSync(tmp.file('listener.py'), PY_LISTENER);
      const scripts = { py: tmp.file('listener.py'), node: tmp.file('listener.mjs') };
      const text = config(dir, scripts)
        .replace(/\[eventlistener:node\][^[]*/u, '')
        .replace(/\[program:talker\][^[]*/u, '')
        .replace(/\[program:quitter\][^[]*/u, '')
        .replace(`events=${EVENTS}`, 'events=PROCESS_STATE,PROCESS_GROUP,PROCESS_COMMUNICATION,TICK_5,SUPERVISOR_STATE_CHANGE');
      writeFileSync(
        `${dir}/supervisord.conf`,
        `${text}
[program:failing]
command=sh -c 'exit 1'
startretries=1
; Exits at once; a long startsecs keeps a loaded machine's slow fork from reaching RUNNING (either daemon).
startsecs=10

[program:stderrcomm]
command=sh -c 'echo -n "<!--XSUPERVISOR:BEGIN-->on stderr<!--XSUPERVISOR:END-->and some more after it" >&2; exec sleep 100'
stderr_capture_maxbytes=100
stopsignal=KILL
`,
      );
      const daemon = launch(...supervisordCommand(peer, ['-c', `${dir}/supervisord.conf`]));
      const records = (): Received[] => readRecords(`${dir}/py.jsonl`);
      await waitFor(`${peer}: failing FATAL`, () => records().some((r) => r.headers.eventname === 'PROCESS_STATE_FATAL'), { timeoutMs: 30_000 });
      expect(rpc(dir, 'removeProcessGroup', 'failing')).toBe('True');
      await waitFor(`${peer}: group removed`, () => records().some((r) => r.headers.eventname === 'PROCESS_GROUP_REMOVED'));
      await waitFor(`${peer}: a TICK_5`, () => records().some((r) => r.headers.eventname === 'TICK_5'), { timeoutMs: 15_000 });
      daemon.child.kill('SIGTERM');
      expect(await daemon.exited).toBe(0);
      results[peer] = records();
    }
    const withoutTicks = (records: Received[]): Received[] => beforeShutdown(records).filter((r) => r.headers.eventname !== 'TICK_5');
    for (const records of Object.values(results)) {
      checkHeaders(records, 'py');
      for (const tick of records.filter((r) => r.headers.eventname === 'TICK_5')) {
        expect(Number(/^when:(\d+)$/u.exec(tick.payload)?.[1]) % 5).toBe(0);
      }
    }
    const ours = byStream(withoutTicks(results.ours));
    expect(ours).toEqual(byStream(withoutTicks(results.real)));
    expect(ours.failing).toEqual([
      'PROCESS_STATE_STARTING processname:failing groupname:failing from_state:STOPPED tries:0',
      'PROCESS_STATE_BACKOFF processname:failing groupname:failing from_state:STARTING tries:1',
      'PROCESS_STATE_STARTING processname:failing groupname:failing from_state:BACKOFF tries:1',
      'PROCESS_STATE_BACKOFF processname:failing groupname:failing from_state:STARTING tries:2',
      'PROCESS_STATE_FATAL processname:failing groupname:failing from_state:BACKOFF',
    ]);
    expect(ours['stderrcomm:stderr']).toEqual(['PROCESS_COMMUNICATION_STDERR processname:stderrcomm groupname:stderrcomm pid:N\non stderr']);
    expect(ours.supervisord).toContain('PROCESS_GROUP_REMOVED groupname:failing\n');
  }, 90_000);
});
