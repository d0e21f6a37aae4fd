// Listeners that answer FAIL, crash mid-event, write garbage or hang, under ours and under
// Debian's supervisord 4.2.5: the same outcome and log lines in both, supervisord stays up, and a
// program's log keeps being written while its events overflow a hung listener's buffer.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { waitFor } from '../../support/wait.js';
import { describeWithPeers, launcher, REAL_SUPERVISORD, supervisordCommand, tempDirForFile, type Peer } from '../fixtures.js';

const PYTHON = '/usr/bin/python3';
const tmp = tempDirForFile('misbehaving');
const launch = launcher();

/** childutils listener answering FAIL to every other event it receives. */
const FAILER = `import sys
from supervisor import childutils
seen = 0
while True:
    headers, payload = childutils.listener.wait(sys.stdin, sys.stdout)
    seen += 1
    with open(sys.argv[1], 'a') as out:
        out.write(payload.split('\\n', 1)[1] + '\\n')
    (childutils.listener.fail if seen % 2 == 1 else childutils.listener.ok)(sys.stdout)
`;

/** Node listener: records each event; the first run exits without answering its first event. */
const CRASHER = `import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
const [record, marker] = process.argv.slice(2);
let buffer = '';
process.stdin.setEncoding('utf8');
process.stdout.write('READY\\n');
process.stdin.on('data', (chunk) => {
  buffer += chunk;
  const newline = buffer.indexOf('\\n');
  if (newline === -1) return;
  const length = Number(/len:(\\d+)/.exec(buffer.slice(0, newline))[1]);
  if (buffer.length < newline + 1 + length) return;
  const payload = buffer.slice(newline + 1, newline + 1 + length);
  buffer = buffer.slice(newline + 1 + length);
  appendFileSync(record, payload.split('\\n')[1] + '\\n');
  if (!existsSync(marker)) {
    writeFileSync(marker, '');
    process.exit(1);
  }
  process.stdout.write('RESULT 2\\nOKREADY\\n');
});
`;

const RPC = `import sys, xmlrpc.client
from supervisor.xmlrpc import SupervisorTransport
proxy = xmlrpc.client.ServerProxy('http://127.0.0.1', transport=SupervisorTransport(None, None, 'unix://' + sys.argv[1]))
print(getattr(proxy.supervisor, sys.argv[2])(*sys.argv[3:]))
`;

/**
 * chatty alternates stdout and stderr, so its events do not merge while they wait (ours merges
 * consecutive output of one stream, see events/index.ts) and the hung listener's buffer overflows.
 * Distinct priorities: supervisord compares processes by priority (Subprocess.__eq__), so a rejected
 * event is put back in every pool that has a process of the rejecting listener's priority, not
 * only its own. Ours puts it back in its own pool only; distinct priorities make both agree.
 */
function config(dir: string): string {
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

[eventlistener:failer]
priority=1
command=${PYTHON} ${tmp.file('failer.py')} ${dir}/failer.txt
events=REMOTE_COMMUNICATION

[eventlistener:crasher]
priority=2
command=${process.execPath} ${tmp.file('crasher.mjs')} ${dir}/crasher.txt ${dir}/crashed-once
events=REMOTE_COMMUNICATION

[eventlistener:garbage]
priority=3
command=sh -c 'echo READY; read header; echo garbage; exec sleep 100'
events=REMOTE_COMMUNICATION

[eventlistener:hang]
priority=4
command=sh -c 'echo READY; exec sleep 100'
events=PROCESS_LOG
buffer_size=3

[program:chatty]
command=sh -c 'for i in $(seq 1 100); do echo line $i; echo err $i >&2; sleep 0.01; done; exec sleep 100'
stdout_logfile=${dir}/chatty.log
stdout_events_enabled=true
stderr_events_enabled=true
`;
}

function rpc(dir: string, method: string, ...args: string[]): string {
  const result = spawnSync(PYTHON, [tmp.file('rpc.py'), `${dir}/s.sock`, method, ...args], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${method}: ${result.stderr}`);
  return result.stdout.trim();
}

const lines = (file: string): string[] => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '') : []);

async function run(peer: Peer) {
  const dir = tmp.file(peer);
  mkdirSync(dir);
  writeFileSync(tmp.file('failer.py'), FAILER);
  writeFileSync(tmp.file('crasher.mjs'), CRASHER);
  writeFileSync(tmp.file('rpc.py'), RPC);
  writeFileSync(`${dir}/supervisord.conf`, config(dir));
  const daemon = launch(...supervisordCommand(peer, ['-c', `${dir}/supervisord.conf`]));
  const mainLog = (): string => (existsSync(`${dir}/main.log`) ? readFileSync(`${dir}/main.log`, 'utf8') : '');
  await waitFor(`${peer}: listeners RUNNING`, () =>
    ['failer', 'crasher', 'garbage', 'hang'].every((name) => mainLog().includes(`success: ${name} entered RUNNING state`)),
  );
  rpc(dir, 'sendRemoteCommEvent', 't', 'one');
  await waitFor(`${peer}: 'one' answered`, () => lines(`${dir}/failer.txt`).length >= 2 && lines(`${dir}/crasher.txt`).length >= 2, {
    timeoutMs: 30_000,
  });
  rpc(dir, 'sendRemoteCommEvent', 't', 'two');
  await waitFor(`${peer}: 'two' answered`, () => lines(`${dir}/failer.txt`).length >= 4 && lines(`${dir}/crasher.txt`).length >= 3);
  await waitFor(`${peer}: chatty wrote everything`, () => lines(`${dir}/chatty.log`).length >= 100);
  const garbageState = rpc(dir, 'getProcessInfo', 'garbage');
  daemon.child.kill('SIGTERM');
  const code = await daemon.exited;
  return { code, dir, mainLog: mainLog(), garbageState };
}

describeWithPeers([REAL_SUPERVISORD, PYTHON])('misbehaving listeners: ours vs the real supervisord', () => {
  it.each(['real', 'ours'] as const)('%s: FAIL, crash, garbage and a hung listener', async (peer) => {
    const { code, dir, mainLog, garbageState } = await run(peer);
    expect(code).toBe(0);

    // FAIL: the same event again until it is OK'd.
    expect(lines(`${dir}/failer.txt`)).toEqual(['one', 'one', 'two', 'two']);
    expect(mainLog).toContain('WARN failer: event was rejected');

    // A listener that dies with an event unanswered is restarted and gets that event again.
    expect(lines(`${dir}/crasher.txt`)).toEqual(['one', 'one', 'two']);
    expect(mainLog).toMatch(/WARN exited: crasher \(exit status 1; not expected\)/u);

    // Garbage: UNKNOWN for good, the process itself keeps RUNNING.
    expect(mainLog).toContain("WARN garbage: bad result line: 'garbage'");
    expect(mainLog).toContain(
      'WARN garbage: has entered the UNKNOWN state and will no longer receive events, this usually indicates the process violated the eventlistener protocol',
    );
    expect(garbageState).toMatch(/'statename': 'RUNNING'/u);

    // A hung listener: its buffer overflows (oldest first), the program's log is complete.
    const overflows = [...mainLog.matchAll(/ERRO pool hang event buffer overflowed, discarding event (\d+)/gu)].map((m) => Number(m[1]));
    expect(overflows.length).toBeGreaterThan(0);
    expect(overflows).toEqual([...overflows].sort((a, b) => a - b));
    expect(lines(`${dir}/chatty.log`)).toEqual(Array.from({ length: 100 }, (_, i) => `line ${i + 1}`));
  }, 90_000);
});
