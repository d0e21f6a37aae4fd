// Backpressure, with real processes: a program writing as fast as its pipe takes it, through our
// supervisord (run as installed, bin/supervisord.js), to a PROCESS_LOG listener that takes its time
// over every event. Far more output than a pool may hold (40 MB against 4 MiB) goes through: the pool
// holds the program's pipe while it is behind, so no line is lost or torn, the program's log file has
// every line, supervisord's memory stays bounded, and no overflow is logged.
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { waitFor } from '../../support/wait.js';
import { launcher, tempDirForFile } from '../fixtures.js';

const tmp = tempDirForFile('backpressure');
const launch = launcher();
const SUPERVISORD = fileURLToPath(new URL('../../../bin/supervisord.js', import.meta.url));
const LINES = 400_000;
const PAD = 'x'.repeat(88);

/** `seq <n> <pad>` lines, 100 bytes each with n < 1e6, as fast as stdout takes them; then idles. */
const WRITER = `const total = Number(process.argv[2]);
const pad = '${PAD}';
let n = 0;
function go() {
  while (n < total) {
    let batch = '';
    for (let k = 0; k < 200 && n < total; k++) batch += 'seq ' + String(n++).padStart(6, '0') + ' ' + pad + '\\n';
    if (!process.stdout.write(batch)) { process.stdout.once('drain', go); return; }
  }
}
go();
setInterval(() => {}, 1 << 30);
`;

/** A listener that appends each PROCESS_LOG payload's data to a file and answers 5 ms later. */
const SLOW_LISTENER = `import { appendFileSync } from 'node:fs';
const record = process.argv[2];
let buffered = Buffer.alloc(0);
let busy = false;
process.stdout.write('READY\\n');
function pump() {
  if (busy) return;
  const newline = buffered.indexOf(10);
  if (newline === -1) return;
  const length = Number(/len:(\\d+)/.exec(buffered.subarray(0, newline).toString())[1]);
  if (buffered.length < newline + 1 + length) return;
  const payload = buffered.subarray(newline + 1, newline + 1 + length);
  buffered = buffered.subarray(newline + 1 + length);
  appendFileSync(record, payload.subarray(payload.indexOf(10) + 1));
  busy = true;
  setTimeout(() => {
    busy = false;
    process.stdout.write('RESULT 2\\nOKREADY\\n');
    pump();
  }, 5);
}
process.stdin.on('data', (chunk) => {
  buffered = Buffer.concat([buffered, chunk]);
  pump();
});
`;

function rssKb(pid: number): number {
  const match = /^VmRSS:\s+(\d+)/mu.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0);
}

/** Lines of a file too big to be one string: [count, first problem or null]. */
function checkSequence(file: string): { count: number; problem: string | null } {
  const fd = openSync(file, 'r');
  const buffer = Buffer.alloc(1 << 20);
  let rest = '';
  let count = 0;
  let problem: string | null = null;
  for (;;) {
    const read = readSync(fd, buffer);
    if (read === 0) break;
    const lines = (rest + buffer.toString('latin1', 0, read)).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      const expected = `seq ${String(count).padStart(6, '0')} ${PAD}`;
      if (problem === null && line !== expected) problem = `line ${count}: ${JSON.stringify(line.slice(0, 120))}`;
      count += 1;
    }
  }
  closeSync(fd);
  if (problem === null && rest !== '') problem = `unfinished last line ${JSON.stringify(rest.slice(0, 120))}`;
  return { count, problem };
}

it('holds a fast program at a slow listener\'s pace: every line once, whole, in order; memory bounded', async () => {
  const dir = tmp.dir;
  writeFileSync(tmp.file('writer.js'), WRITER);
  writeFileSync(tmp.file('slow.mjs'), SLOW_LISTENER);
  const received = tmp.file('received.log');
  writeFileSync(received, '');
  const conf = tmp.file('supervisord.conf');
  writeFileSync(
    conf,
    `[supervisord]
logfile=${dir}/main.log
pidfile=${dir}/supervisord.pid
childlogdir=${dir}
nodaemon=true
silent=true

[program:writer]
command=${process.execPath} ${tmp.file('writer.js')} ${LINES}
startsecs=0
autorestart=false
stdout_logfile=${dir}/writer.log
stdout_logfile_maxbytes=0
stdout_events_enabled=true

[eventlistener:slow]
command=${process.execPath} ${tmp.file('slow.mjs')} ${received}
events=PROCESS_LOG
buffer_size=32
`,
  );
  const daemon = launch(SUPERVISORD, ['-c', conf]);
  const pid = daemon.child.pid ?? 0;
  const mainLog = (): string => (existsSync(path.join(dir, 'main.log')) ? readFileSync(path.join(dir, 'main.log'), 'utf8') : '');
  await waitFor('the listener RUNNING', () => mainLog().includes('success: slow entered RUNNING state'));
  const baseline = rssKb(pid);
  let peak = baseline;
  const expectedBytes = LINES * 100;
  await waitFor(
    'every line at the listener',
    () => {
      peak = Math.max(peak, rssKb(pid));
      return statSync(received).size >= expectedBytes || mainLog().includes('overflowed');
    },
    { timeoutMs: 240_000, intervalMs: 50 },
  );
  daemon.child.kill('SIGTERM');
  expect(await daemon.exited).toBe(0);

  expect(mainLog()).not.toMatch(/overflowed|no event processed/u);
  expect(checkSequence(received)).toEqual({ count: LINES, problem: null });
  expect(checkSequence(path.join(dir, 'writer.log'))).toEqual({ count: LINES, problem: null });
  // 40 MB went through; a pool holds at most 4 MiB, and holds the pipe from 1 MiB on.
  expect((peak - baseline) / 1024).toBeLessThan(24);
}, 300_000);
