// npm run bench:supervisor — ours (node dist/supervisord.js) beside the real supervisord
// (/usr/bin/supervisord, Debian's supervisor 4.2.5) in the same run:
//   1. resident memory with two idle programs, 4 s after start (VmRSS from /proc)
//   2. `kill -9` of a RUNNING child → the `spawned:` line of its replacement (main-log timestamp)
//   3. start-up: process start → the last `success:` line, startsecs=0
// Nothing talks to either daemon while it is measured (no RPC traffic wakes the real one's loop).
// Goals (issues 1 and 16): restart <= 50 ms; memory at most 1.5x the real supervisord's measured in the same run
// (the anchor), and below PM2's daemon (57.2 MB, ../shared/reference/ecosystem.md §3; not run here).
// `node -e` idling (setInterval) is printed beside them: the floor of any Node program on this machine.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const REAL = '/usr/bin/supervisord';
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const KILLS = Number(process.env.BENCH_KILLS ?? 8);

interface Implementation {
  name: string;
  command: (config: string) => string[];
}

/** bin/supervisord.js's V8 flags (test/deploy/supervisord-flags.test.ts keeps the launchers in step). */
const V8_FLAGS = ['--lite-mode', '--no-expose-wasm', '--max-semi-space-size=1'];

const implementations: Implementation[] = [
  { name: 'ours: node dist/supervisord.js', command: (config) => [process.execPath, path.join(ROOT, 'dist/supervisord.js'), '-n', '-c', config] },
  {
    name: 'ours: bin/supervisord.js (npx supervisord)',
    command: (config) => [path.join(ROOT, 'bin/supervisord.js'), '-n', '-c', config],
  },
  {
    name: `ours: node ${V8_FLAGS.join(' ')}`,
    command: (config) => [process.execPath, ...V8_FLAGS, path.join(ROOT, 'dist/supervisord.js'), '-n', '-c', config],
  },
];
// BENCH_BASELINE=<another checkout, built>: its bin/supervisord.js runs beside ours (before/after in one run).
const BASELINE = process.env.BENCH_BASELINE;
if (BASELINE !== undefined && BASELINE !== '') {
  implementations.push({ name: `baseline: ${BASELINE}/bin/supervisord.js`, command: (config) => [path.join(BASELINE, 'bin/supervisord.js'), '-n', '-c', config] });
}
if (existsSync(REAL)) implementations.push({ name: 'supervisord 4.2.5 (python)', command: (config) => [REAL, '-n', '-c', config] });

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

function configText(dir: string, startsecs: number): string {
  return `[unix_http_server]
file=${dir}/sock

[supervisord]
logfile=${dir}/supervisord.log
pidfile=${dir}/supervisord.pid
childlogdir=${dir}
silent=true

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://${dir}/sock

[program:a]
command=sleep infinity
startsecs=${startsecs}

[program:b]
command=sleep infinity
startsecs=${startsecs}
`;
}

interface LogLine {
  at: number;
  message: string;
}

function readLog(dir: string): LogLine[] {
  const file = `${dir}/supervisord.log`;
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((line) => {
      const m = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d),(\d{3}) \w+ (.*)$/.exec(line);
      return m ? [{ at: new Date(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, +m[7]!).getTime(), message: m[8]! }] : [];
    });
}

async function until<T>(what: string, check: () => T | undefined, timeoutMs = 20_000, intervalMs = 10): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(intervalMs);
  }
}

interface Daemon {
  dir: string;
  child: ChildProcess;
  startedAt: number;
  stop(): Promise<void>;
}

function startDaemon(impl: Implementation, startsecs: number): Daemon {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-supervisor-'));
  const config = `${dir}/bench.conf`;
  writeFileSync(config, configText(dir, startsecs));
  const [file, ...args] = impl.command(config);
  const startedAt = Date.now();
  const child = spawn(file!, args, { stdio: 'ignore' });
  return {
    dir,
    child,
    startedAt,
    async stop() {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function rssKiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? NaN);
}

/** VmRSS of a Node process that loads nothing and idles, with bin/supervisord.js's flags: what no program of ours can go under. */
function nodeFloorKiB(): number {
  const script = "setInterval(() => {}, 1e9); setTimeout(() => { process.stdout.write(/VmRSS:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1]); process.exit(0); }, 2000);";
  return Number(execFileSync(process.execPath, [...V8_FLAGS, '-e', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
}

const successCount = (dir: string, name: string): number => readLog(dir).filter((l) => l.message.startsWith(`success: ${name} `)).length;

async function measure(impl: Implementation): Promise<{ rss: number[]; restart: number[]; startup: number[] }> {
  const rss: number[] = [];
  const restart: number[] = [];
  const startup: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    // Memory and restart latency: default startsecs=1, as in the reference's recipe.
    const daemon = startDaemon(impl, 1);
    try {
      await until('both RUNNING', () => (successCount(daemon.dir, 'a') >= 1 && successCount(daemon.dir, 'b') >= 1 ? true : undefined));
      await sleep(Math.max(0, daemon.startedAt + 4000 - Date.now()));
      rss.push(rssKiB(daemon.child.pid!));
      if (run === 0) {
        for (let kill = 0; kill < KILLS; kill++) {
          const before = readLog(daemon.dir).filter((l) => l.message.startsWith("spawned: 'a' with pid"));
          const pid = Number(/pid (\d+)/.exec(before.at(-1)!.message)![1]);
          const successesBefore = successCount(daemon.dir, 'a');
          const killedAt = Date.now();
          process.kill(pid, 'SIGKILL');
          const respawn = await until('respawn', () =>
            readLog(daemon.dir).filter((l) => l.message.startsWith("spawned: 'a' with pid")).at(before.length),
          );
          restart.push(respawn.at - killedAt);
          // Hands off until the new child is RUNNING again (the next kill is of a RUNNING child).
          await until('RUNNING again', () => (successCount(daemon.dir, 'a') > successesBefore ? true : undefined));
        }
      }
    } finally {
      await daemon.stop();
    }
    // Start-up with startsecs=0: from our spawn() of the daemon to its last `success:` line.
    const quick = startDaemon(impl, 0);
    try {
      const last = await until('both RUNNING (startsecs=0)', () => {
        const lines = readLog(quick.dir).filter((l) => l.message.startsWith('success:'));
        return lines.length >= 2 ? lines[1] : undefined;
      });
      startup.push(last.at - quick.startedAt);
    } finally {
      await quick.stop();
    }
  }
  return { rss, restart, startup };
}

async function main(): Promise<void> {
  execFileSync(process.execPath, [path.join(ROOT, 'scripts/build.mjs')], { cwd: ROOT, stdio: 'inherit', env: { ...process.env, BUILD_QUIET: '1' } });
  console.log(`bench:supervisor — ${RUNS} runs each, ${KILLS} kill -9 respawns, ${os.cpus().length} CPUs, load ${os.loadavg()[0]?.toFixed(2)}\n`);
  const rows: string[][] = [];
  const results: Record<string, { rss: number[]; restart: number[]; startup: number[] }> = {};
  for (const impl of implementations) {
    const result = await measure(impl);
    results[impl.name] = result;
    rows.push([
      impl.name,
      `${(median(result.rss) / 1024).toFixed(1)} MiB`,
      `${median(result.restart).toFixed(0)} ms`,
      `${median(result.startup).toFixed(0)} ms`,
    ]);
    console.log(`${impl.name}: rss KiB ${result.rss.join(' ')} | restart ms ${result.restart.join(' ')} | startup ms ${result.startup.join(' ')}`);
  }
  const floor = nodeFloorKiB();
  rows.push(['node --lite-mode -e (idle setInterval): the floor', `${(floor / 1024).toFixed(1)} MiB`, '—', '—']);
  rows.push(['PM2 7.0.4 daemon (reference, not run)', '55.9 MiB (57236 kB)', '—', '—']);
  const header = ['implementation', 'RSS, 2 idle programs (median)', 'kill -9 → respawn (median)', 'start → all RUNNING, startsecs=0 (median)'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(`\n${line(header)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n${rows.map(line).join('\n')}`);

  const realImpl = implementations.find((impl) => impl.name.startsWith('supervisord'));
  const real = realImpl ? results[realImpl.name] : undefined;
  const goals: string[] = [];
  for (const impl of implementations.filter((candidate) => candidate !== realImpl)) {
    const ours = results[impl.name]!;
    goals.push(
      `${impl.name}:`,
      `  restart latency <= 50 ms: ${median(ours.restart) <= 50 ? 'met' : 'MISSED'} (${median(ours.restart)} ms)`,
      real
        ? `  memory <= 1.5x supervisord 4.2.5 measured now (${(median(real.rss) / 1024).toFixed(1)} MiB): ${median(ours.rss) <= 1.5 * median(real.rss) ? 'met' : 'MISSED'} (${(median(ours.rss) / median(real.rss)).toFixed(2)}x); of the reference 26036 kB: ${(median(ours.rss) / 26036).toFixed(2)}x`
        : '  memory vs supervisord: not measured (no /usr/bin/supervisord)',
      `  memory below PM2's daemon (57236 kB): ${median(ours.rss) < 57236 ? 'met' : 'MISSED'} (${median(ours.rss)} kB)`,
    );
  }
  console.log(`\n${goals.join('\n')}`);
}

await main();
