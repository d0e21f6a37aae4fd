// npm run bench:logs — program output through a log-forwarding event listener onto supervisord's stdout.
//   1. a child writes ~100-byte lines as fast as its pipe takes them for BENCH_SECONDS (10) s; measured:
//      lines/s and MB/s reaching supervisord's stdout (a FIFO, as docker's) and the program's log file,
//      lines lost (written - forwarded), torn lines, supervisord's CPU and its peak RSS over its baseline.
//      Rows: Debian's supervisord 4.2.5 + a supervisor.childutils forwarder in Python (the baseline);
//      Debian's supervisord + our log forwarder; our supervisord + our log forwarder.
//      Then the ceiling: the same writer and reader with only a node prefixer between them.
//   2. the memory monitor: a child crosses its limit; time from crossing to its SIGTERM and to its
//      replacement RUNNING.
// BENCH_DAEMONS=real,ours picks the daemons (default: both); BENCH_SECONDS the writer's time (10);
// BENCH_BEFORE=dir also runs a before build (another dist/) of ours, BENCH_ROUNDS=n times alternating with
// ours (medians compared); BENCH_SUPERVISORD_NODE_FLAGS replaces the node flags of bin/supervisord.js;
// BENCH_PROFILE_DIR=dir writes our supervisord's CPU profile (node --cpu-prof) there, and our
// forwarder's (under our supervisord) in dir/forwarder.
// Goals (issue 10): ours ≥ 5x the baseline's throughput, 0 lines lost, supervisord RSS growth < 20 MiB;
// memory monitor restart ≤ 5 s after the crossing.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, constants, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { XmlRpcClient } from '../src/supervisor/index.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const REAL = '/usr/bin/supervisord';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const DAEMONS = (process.env.BENCH_DAEMONS ?? 'real,ours').split(',').map((d) => d.trim());
/** BENCH_PROFILE_DIR: our supervisord writes a V8 CPU profile there (node --cpu-prof) when it exits. */
const PROFILE_DIR = process.env.BENCH_PROFILE_DIR;
const TICK = 100; // clock ticks per second (CONFIG_CLK_TCK on Linux)
const SUPERVISORD = path.join(ROOT, 'bin/supervisord.js');
const DIST = path.join(ROOT, 'dist');
/** Node's flags from bin/supervisord.js's `#!/usr/bin/env -S node …` line: ours runs as installed. */
const SHEBANG_FLAGS = (process.env.BENCH_SUPERVISORD_NODE_FLAGS ?? /^#!.*\bnode\b(.*)$/m.exec(readFileSync(SUPERVISORD, 'utf8').split('\n')[0] ?? '')?.[1] ?? '')
  .trim()
  .split(/\s+/)
  .filter(Boolean);
/** BENCH_BEFORE=dir: a "before" build (another dist/) measured in the same run as ours, alternating. */
const BEFORE_DIST = process.env.BENCH_BEFORE;
/** BENCH_ROUNDS: how many times our rows (and the before row) run, alternating; medians are compared. */
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 1));

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The baseline: supervisor-stdout's job with supervisor.childutils, line-buffered per program. */
const PYTHON_FORWARDER = `import sys
from supervisor import childutils

def main():
    partial = {}
    while True:
        headers, payload = childutils.listener.wait(sys.stdin, sys.stdout)
        if headers['eventname'].startswith('PROCESS_LOG'):
            pheaders, data = childutils.eventdata(payload)
            key = (pheaders['processname'], pheaders['channel'])
            text = partial.pop(key, '') + data
            lines = text.split('\\n')
            if lines[-1] != '':
                partial[key] = lines[-1]
            name = pheaders['processname']
            sys.stderr.write(''.join('%s | %s\\n' % (name, line) for line in lines[:-1]))
            sys.stderr.flush()
        childutils.listener.ok(sys.stdout)

main()
`;

/** Writes `seq <n> ` + padding lines for SECONDS, then its count to a file, then idles. */
const WRITER = `const fs = require('node:fs');
const end = Date.now() + ${SECONDS} * 1000;
const pad = 'x'.repeat(80);
let n = 0;
function go() {
  while (Date.now() < end) {
    let batch = '';
    for (let k = 0; k < 100; k++) batch += 'seq ' + (n++) + ' ' + pad + '\\n';
    if (!process.stdout.write(batch)) { process.stdout.once('drain', go); return; }
  }
  fs.writeFileSync(process.argv[2], String(n));
}
go();
setInterval(() => {}, 1 << 30);
`;

/** Grows past its limit at once and records when it crossed it and when it got SIGTERM. */
const HOG = `const fs = require('node:fs');
const limit = Number(process.argv[2]);
const held = [];
let crossed = 0;
setTimeout(() => {
  const grow = setInterval(() => {
    held.push(Buffer.alloc(16 * 1024 * 1024, 1));
    if (!crossed && process.memoryUsage.rss() > limit) { crossed = Date.now(); fs.writeFileSync(process.argv[3], String(crossed)); }
    if (held.length > 12) clearInterval(grow);
  }, 20);
}, Number(process.argv[5]));
process.on('SIGTERM', () => { if (crossed) fs.writeFileSync(process.argv[4], String(Date.now())); process.exit(0); });
setInterval(() => {}, 1 << 30);
`;

interface Row {
  name: string;
  daemon: 'real' | 'ours';
  listener: string;
  /** The build our supervisord and forwarder run from (dist/, or BENCH_BEFORE's). */
  dist: string;
}

function daemonCommand(daemon: 'real' | 'ours', config: string, dist: string): [string, string[]] {
  if (daemon === 'real') return [REAL, ['-c', config]];
  const profile = PROFILE_DIR === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`];
  // bin/supervisord.js imports ../dist/supervisord.js: another build is started the same way, directly.
  const program = dist === DIST ? SUPERVISORD : path.join(dist, 'supervisord.js');
  return [process.execPath, [...SHEBANG_FLAGS, ...profile, program, '-c', config]];
}

/** With BENCH_PROFILE_DIR, our forwarder under our supervisord writes its CPU profile too (when it exits after SIGTERM). */
function forwarderProfileFlags(row: Row): string {
  return PROFILE_DIR === undefined || row.daemon !== 'ours' ? '' : `--cpu-prof --cpu-prof-dir=${PROFILE_DIR}/forwarder `;
}

function procStat(pid: number): { cpuTicks: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { cpuTicks: Number(fields[11]) + Number(fields[12]) };
}

function rssKb(pid: number): number {
  const match = /^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0);
}

interface Started {
  dir: string;
  child: ChildProcess;
  client: XmlRpcClient;
  stdout: { lines: number; writerLines: number; bytes: number; torn: number; lastLineAt: number; firstLineAt: number };
  stop(): Promise<void>;
}

type StdoutCount = Started['stdout'];

/** `command` with its stdout on a FIFO (as docker's) that this process reads and counts lines of. */
function spawnOnCountedFifo(dir: string, command: string, args: string[]): { child: ChildProcess; stdout: StdoutCount; reader: Socket } {
  const fifo = path.join(dir, 'stdout.fifo');
  execFileSync('mkfifo', [fifo]);
  const readEnd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const writeEnd = openSync(fifo, constants.O_WRONLY);
  const child = spawn(command, args, { stdio: ['ignore', writeEnd, 'ignore'] });
  closeSync(writeEnd);
  const stdout: StdoutCount = { lines: 0, writerLines: 0, bytes: 0, torn: 0, lastLineAt: 0, firstLineAt: 0 };
  const reader = new Socket({ fd: readEnd, readable: true, writable: false });
  let rest = '';
  reader.setEncoding('latin1');
  reader.on('data', (chunk: string) => {
    stdout.bytes += chunk.length;
    const text = rest + chunk;
    let start = 0;
    for (;;) {
      const newline = text.indexOf('\n', start);
      if (newline === -1) break;
      stdout.lines += 1;
      if (text.startsWith('writer | seq ', start)) {
        // A whole forwarded line: prefix, seq, 80 x's.
        if (newline - start < 13 + 1 + 80 || text.charCodeAt(newline - 1) !== 120) stdout.torn += 1;
        else stdout.writerLines += 1;
        if (stdout.firstLineAt === 0) stdout.firstLineAt = Date.now();
        stdout.lastLineAt = Date.now();
      } else if (!/^\d{4}-\d\d-\d\d /.test(text.slice(start, start + 11)) && !text.startsWith('forwarder | dropped', start)) {
        stdout.torn += 1;
      }
      start = newline + 1;
    }
    rest = text.slice(start);
  });
  reader.on('error', () => undefined);
  return { child, stdout, reader };
}

/** The cheapest prefixer: one replaceAll per read, blocking writes (the ceiling's middle stage). */
const PREFIXER = `const fs = require('node:fs');
let rest = '';
process.stdin.setEncoding('latin1');
process.stdin.on('data', (chunk) => {
  const text = rest + chunk;
  const last = text.lastIndexOf('\\n');
  rest = text.slice(last + 1);
  if (last >= 0) fs.writeSync(1, Buffer.from('writer | ' + text.slice(0, last).replaceAll('\\n', '\\nwriter | ') + '\\n', 'latin1'));
});
`;

/** The same writer and FIFO reader with only a prefixer between them: what this machine can carry at all. */
async function ceilingThroughput(): Promise<{ linesPerSecond: number; lost: number }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-logs-ceiling-'));
  writeFileSync(path.join(dir, 'writer.js'), WRITER);
  writeFileSync(path.join(dir, 'prefixer.js'), PREFIXER);
  const startedAt = Date.now();
  const { child, stdout, reader } = spawnOnCountedFifo(dir, '/bin/sh', [
    '-c',
    // The writer idles after writing its count: stopped once the count is there.
    `${process.execPath} ${dir}/writer.js ${dir}/written | ${process.execPath} ${dir}/prefixer.js`,
  ]);
  const writtenFile = path.join(dir, 'written');
  let lastCount = -1;
  let quietSince = Date.now();
  while (!existsSync(writtenFile) || Date.now() - quietSince < 1000) {
    await sleep(200);
    if (stdout.writerLines !== lastCount) {
      lastCount = stdout.writerLines;
      quietSince = Date.now();
    }
    if (Date.now() - startedAt > (SECONDS + 60) * 1000) break;
  }
  const written = Number(readFileSync(writtenFile, 'utf8'));
  execFileSync('pkill', ['-P', String(child.pid)]);
  reader.destroy();
  rmSync(dir, { recursive: true, force: true });
  return { linesPerSecond: stdout.writerLines / Math.max(SECONDS, (stdout.lastLineAt - startedAt) / 1000), lost: written - stdout.writerLines };
}

/** supervisord with `sections`, its stdout on a FIFO we read and count. */
async function startDaemon(daemon: 'real' | 'ours', label: string, sections: (dir: string) => string, dist = DIST): Promise<Started> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `bench-logs-${label}-`));
  const socket = path.join(dir, 'sock');
  const config = path.join(dir, 'supervisord.conf');
  writeFileSync(
    config,
    `[supervisord]\nlogfile=${dir}/main.log\npidfile=${dir}/pid\nchildlogdir=${dir}\nnodaemon=true\nuser=root\n` +
      `[unix_http_server]\nfile=${socket}\n[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n` +
      sections(dir),
  );
  const [command, args] = daemonCommand(daemon, config, dist);
  const { child, stdout, reader } = spawnOnCountedFifo(dir, command, args);
  const client = new XmlRpcClient({ kind: 'unix', path: socket }, { username: null, password: null });
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await client.call('supervisor.getState');
      break;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(100);
    }
  }
  return {
    dir,
    child,
    client,
    stdout,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
      reader.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Lines and bytes of a file that may be larger than a string can hold. */
function countLines(file: string): { lines: number; bytes: number } {
  const fd = openSync(file, 'r');
  const buffer = Buffer.alloc(1 << 20);
  let lines = 0;
  let bytes = 0;
  for (;;) {
    const count = readSync(fd, buffer);
    if (count === 0) break;
    bytes += count;
    for (let i = buffer.indexOf(10); i !== -1 && i < count; i = buffer.indexOf(10, i + 1)) lines += 1;
  }
  closeSync(fd);
  return { lines, bytes };
}

interface Throughput {
  row: Row;
  written: number;
  forwarded: number;
  torn: number;
  fileLines: number;
  seconds: number;
  linesPerSecond: number;
  mbPerSecond: number;
  fileLinesPerSecond: number;
  fileMbPerSecond: number;
  cpuSeconds: number;
  listenerCpuSeconds: number;
  readerCpuSeconds: number;
  baselineRssKb: number;
  peakRssKb: number;
}

async function throughput(row: Row): Promise<Throughput> {
  const listenerCommand =
    row.listener === 'python'
      ? (dir: string) => {
          writeFileSync(path.join(dir, 'forwarder.py'), PYTHON_FORWARDER);
          return `/usr/bin/python3 -u ${dir}/forwarder.py`;
        }
      : () => `${process.execPath} ${forwarderProfileFlags(row)}${path.join(row.dist, 'log-forwarder.js')} ${process.env.BENCH_FORWARDER_ARGS ?? ""}`;
  const started = await startDaemon(row.daemon, row.listener, (dir) => {
    writeFileSync(path.join(dir, 'writer.js'), WRITER);
    return `
[program:writer]
command=${process.execPath} ${dir}/writer.js ${dir}/written
autostart=false
startsecs=0
stdout_logfile=${dir}/writer.out.log
stdout_logfile_maxbytes=0
stdout_events_enabled=true

[eventlistener:forwarder]
command=${listenerCommand(dir)}
events=PROCESS_LOG
buffer_size=1024
stdout_logfile=NONE
stderr_logfile=/dev/stdout
stderr_logfile_maxbytes=0
${(process.env.BENCH_LISTENER_KEYS ?? '').split(';').join('\n')}
`;
  }, row.dist);
  const pid = started.child.pid ?? 0;
  await sleep(2000);
  const listenerPid = ((await started.client.call('supervisor.getProcessInfo', ['forwarder'])) as { pid: number }).pid;
  const baselineRssKb = rssKb(pid);
  let peakRssKb = baselineRssKb;
  const cpuBefore = procStat(pid).cpuTicks;
  const listenerCpuBefore = procStat(listenerPid).cpuTicks;
  // The FIFO's reader is this process: its CPU competes with the chain on the same cores.
  const readerCpuBefore = process.cpuUsage();
  const startedAt = Date.now();
  await started.client.call('supervisor.startProcess', ['writer', false]);
  const writtenFile = path.join(started.dir, 'written');
  // The writer's time, then until nothing more arrives for 3 s (a slow forwarder drains its backlog).
  let lastCount = -1;
  let quietSince = Date.now();
  while (!existsSync(writtenFile) || Date.now() - quietSince < 3000) {
    await sleep(200);
    peakRssKb = Math.max(peakRssKb, rssKb(pid));
    if (started.stdout.writerLines !== lastCount) {
      lastCount = started.stdout.writerLines;
      quietSince = Date.now();
    }
    if (Date.now() - startedAt > (SECONDS + 120) * 1000) break;
  }
  const written = Number(readFileSync(writtenFile, 'utf8'));
  const cpuSeconds = (procStat(pid).cpuTicks - cpuBefore) / TICK;
  const listenerCpuSeconds = (procStat(listenerPid).cpuTicks - listenerCpuBefore) / TICK;
  const readerCpu = process.cpuUsage(readerCpuBefore);
  const readerCpuSeconds = (readerCpu.user + readerCpu.system) / 1e6;
  const seconds = Math.max(SECONDS, (started.stdout.lastLineAt - startedAt) / 1000);
  const file = countLines(path.join(started.dir, 'writer.out.log'));
  const fileLines = file.lines;
  const lineBytes = 'writer | seq 1234567 '.length + 81;
  const result: Throughput = {
    row,
    written,
    forwarded: started.stdout.writerLines,
    torn: started.stdout.torn,
    fileLines,
    seconds,
    linesPerSecond: started.stdout.writerLines / seconds,
    mbPerSecond: (started.stdout.writerLines * lineBytes) / seconds / 1e6,
    fileLinesPerSecond: fileLines / SECONDS,
    fileMbPerSecond: file.bytes / SECONDS / 1e6,
    cpuSeconds,
    listenerCpuSeconds,
    readerCpuSeconds,
    baselineRssKb,
    peakRssKb,
  };
  await started.stop();
  return result;
}

async function memmonLatency(daemon: 'real' | 'ours'): Promise<{ toSigterm: number; toRunning: number }> {
  const limit = 100 * 1024 * 1024;
  const started = await startDaemon(daemon, 'memmon', (dir) => {
    writeFileSync(path.join(dir, 'hog.js'), HOG);
    return `
[program:hog]
command=${process.execPath} ${dir}/hog.js ${limit} ${dir}/crossed ${dir}/sigterm 3000
startsecs=0

[eventlistener:memmon]
command=${process.execPath} ${path.join(ROOT, 'dist/memory-monitor.js')} -p hog=100MB
events=TICK_5
stdout_logfile=NONE
stderr_logfile=${dir}/memmon.log
`;
  });
  const info = async (): Promise<{ pid: number; state: number }> =>
    (await started.client.call('supervisor.getProcessInfo', ['hog'])) as { pid: number; state: number };
  let firstPid = 0;
  while (firstPid === 0) {
    const current = await info();
    if (current.state === 20) firstPid = current.pid;
    else await sleep(50);
  }
  const deadline = Date.now() + 60_000;
  let runningAt = 0;
  while (Date.now() < deadline) {
    const current = await info();
    if (current.state === 20 && current.pid !== firstPid) {
      runningAt = Date.now();
      break;
    }
    await sleep(20);
  }
  const read = (name: string): number => Number(readFileSync(path.join(started.dir, name), 'utf8'));
  const crossed = read('crossed');
  const result = { toSigterm: (read('sigterm') - crossed) / 1000, toRunning: runningAt === 0 ? Number.NaN : (runningAt - crossed) / 1000 };
  await started.stop();
  return result;
}

const rows: Row[] = [];
if (DAEMONS.includes('real')) {
  if (!existsSync(REAL)) throw new Error(`${REAL} missing (Debian package supervisor)`);
  rows.push({ name: "Debian's supervisord 4.2.5 + Python childutils forwarder (baseline)", daemon: 'real', listener: 'python', dist: DIST });
  rows.push({ name: "Debian's supervisord 4.2.5 + our log forwarder", daemon: 'real', listener: 'ours', dist: DIST });
}
/** Our rows, run ROUNDS times, alternating with the before build's. */
const ourRows: Row[] = [];
if (DAEMONS.includes('ours')) ourRows.push({ name: 'our supervisord + our log forwarder', daemon: 'ours', listener: 'ours', dist: DIST });
if (BEFORE_DIST !== undefined) {
  ourRows.push({ name: `before (${BEFORE_DIST}): our supervisord + our log forwarder`, daemon: 'ours', listener: 'ours', dist: path.resolve(BEFORE_DIST) });
}
for (let round = 0; round < ROUNDS; round += 1) rows.push(...ourRows);

console.log(`bench:logs — ${SECONDS} s of a fast writer through a log-forwarding listener (${os.cpus().length} CPUs, node ${process.version}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')})\n`);
const results: Throughput[] = [];
for (const row of rows) {
  const r = await throughput(row);
  results.push(r);
  console.log(row.name);
  console.log(`  written ${r.written} lines; forwarded to supervisord's stdout ${r.forwarded}; lost ${r.written - r.forwarded}; torn/foreign ${r.torn}`);
  console.log(`  stdout: ${Math.round(r.linesPerSecond)} lines/s, ${r.mbPerSecond.toFixed(2)} MB/s over ${r.seconds.toFixed(1)} s`);
  console.log(`  file:   ${r.fileLines} lines, ${Math.round(r.fileLinesPerSecond)} lines/s, ${r.fileMbPerSecond.toFixed(2)} MB/s`);
  console.log(`  supervisord CPU ${r.cpuSeconds.toFixed(2)} s, listener CPU ${r.listenerCpuSeconds.toFixed(2)} s, bench's FIFO reader CPU ${r.readerCpuSeconds.toFixed(2)} s; load average ${os.loadavg()[0]?.toFixed(1)}; supervisord RSS ${r.baselineRssKb} kB → peak ${r.peakRssKb} kB (+${((r.peakRssKb - r.baselineRssKb) / 1024).toFixed(1)} MiB)\n`);
}

// The ceiling of this machine for the same job: the writer piped through the cheapest prefixer
// (node, one replaceAll per read) into the same FIFO reader, with no supervisord and no protocol.
const ceiling = await ceilingThroughput();
console.log(`ceiling (writer | node prefixer → the same FIFO reader, no supervisord): ${Math.round(ceiling.linesPerSecond)} lines/s, ${ceiling.lost} lost; load average ${os.loadavg()[0]?.toFixed(1)}\n`);

const memmon: { daemon: string; toSigterm: number; toRunning: number }[] = [];
for (const daemon of DAEMONS.filter((d): d is 'real' | 'ours' => d === 'real' || d === 'ours')) {
  const m = await memmonLatency(daemon);
  memmon.push({ daemon, ...m });
  console.log(`memory monitor under ${daemon === 'real' ? "Debian's supervisord" : 'our supervisord'}: crossing the limit → SIGTERM ${m.toSigterm.toFixed(2)} s, → replacement RUNNING ${m.toRunning.toFixed(2)} s`);
}

const baseline = results.find((r) => r.row.daemon === 'real' && r.row.listener === 'python');
const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? Number.NaN) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
};
const ourRuns = results.filter((r) => r.row.daemon === 'ours' && r.row.dist === DIST);
const beforeRuns = results.filter((r) => r.row.daemon === 'ours' && r.row.dist !== DIST);
// The run with the median throughput stands for ours (its losses and memory are checked too).
const ours = ourRuns.find((r) => r.linesPerSecond === median(ourRuns.map((run) => run.linesPerSecond))) ?? ourRuns[0];
const verdict = (ok: boolean): string => (ok ? 'met' : 'NOT MET');
console.log('\ngoals (issue 10):');
if (ours === undefined) {
  console.log('  our supervisord: not measured (BENCH_DAEMONS has no "ours")');
} else {
  const ratio = baseline === undefined ? Number.NaN : ours.linesPerSecond / baseline.linesPerSecond;
  console.log(`  throughput ≥ 5x the baseline: ${verdict(ratio >= 5)} (${ratio.toFixed(1)}x; ${ourRuns.length > 1 ? `median of ${ourRuns.length} runs: ` : ''}${Math.round(ours.linesPerSecond)} lines/s)`);
  if (baseline !== undefined) {
    console.log(`  (this machine's ceiling for the job, without supervisord: ${(ceiling.linesPerSecond / baseline.linesPerSecond).toFixed(1)}x the baseline)`);
  }
  if (beforeRuns.length > 0) {
    const before = median(beforeRuns.map((run) => run.linesPerSecond));
    console.log(`  vs before (${BEFORE_DIST ?? ''}), medians of ${ourRuns.length}/${beforeRuns.length} alternating runs: ${Math.round(ours.linesPerSecond)} vs ${Math.round(before)} lines/s = ${(ours.linesPerSecond / before).toFixed(2)}x`);
  }
  const worst = ourRuns.reduce((a, b) => (b.written - b.forwarded + b.torn > a.written - a.forwarded + a.torn ? b : a), ours);
  const peak = Math.max(...ourRuns.map((run) => run.peakRssKb - run.baselineRssKb));
  console.log(`  0 lines lost: ${verdict(worst.written === worst.forwarded && worst.torn === 0)} (worst run: ${worst.written - worst.forwarded} lost, ${worst.torn} torn)`);
  console.log(`  supervisord RSS growth < 20 MiB: ${verdict(peak < 20 * 1024)} (largest: +${(peak / 1024).toFixed(1)} MiB)`);
}
for (const ourForwarder of results.filter((r) => r.row.daemon === 'real' && r.row.listener !== 'python')) {
  if (baseline === undefined) break;
  console.log(`  (${ourForwarder.row.name}: ${(ourForwarder.linesPerSecond / baseline.linesPerSecond).toFixed(1)}x the baseline, ${ourForwarder.written - ourForwarder.forwarded} lost)`);
}
for (const m of memmon) console.log(`  memory monitor restart ≤ 5 s after crossing (${m.daemon}): ${verdict(m.toSigterm <= 5)} (${m.toSigterm.toFixed(2)} s to SIGTERM)`);
