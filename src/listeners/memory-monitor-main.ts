// `storyboard-memmon` (dist/memory-monitor.js): superlance memmon's options, checked every second
// (TICK_5 is its subscription, as memmon's; the samples come from its own 1 s timer so a limit is acted
// on within ~2 s, not 5-60 s).
//
//   memory-monitor -p api=500MB -p task-processor=500MB     per program (name or group:name)
//   memory-monitor -g workers=1GB                            per group
//   memory-monitor -a 800MB -c                               any program, children counted
//
// With no options it reads them from MEMMON_OPTIONS (the image's supervisord.conf runs it that way);
// with none there either it stays idle, acknowledging its events.
import { parseArgs } from 'node:util';
import { idle, runMain, stderrLog, stdioChannel } from './main-support.js';
import { DEFAULT_TIMING, MemoryMonitor, type MemoryLimits } from './memory-monitor.js';
import { runListener } from './protocol.js';
import { supervisorApiFromEnv } from './rpc.js';
import { parseByteSize } from './sizes.js';

const USAGE = `usage: memory-monitor [-p name=SIZE]... [-g group=SIZE]... [-a SIZE] [-c] [-n NAME] [--interval SECONDS]
  -p, --program name=SIZE  limit of one program (name or group:name); SIZE like 500MB, 1GB, 800000KB
  -g, --group group=SIZE   limit of every program of a group
  -a, --any SIZE           limit of every other program
  -c, --cumulative         count the memory of the program's child processes too
  -n, --name NAME          name used in the log lines (default: memmon)
  --interval SECONDS       sampling period (default 1)
  --sustain N              samples in a row above the limit before a restart (default 2)
  --backoff SECONDS        wait before a second restart within 10 minutes, doubled each time (default 10, max 300)
Options may also come from MEMMON_OPTIONS when the command line has none.
`;

function limitPairs(values: readonly string[], flag: string): Map<string, number> {
  const map = new Map<string, number>();
  for (const value of values) {
    const equals = value.lastIndexOf('=');
    if (equals <= 0) throw new Error(`${flag} ${value}: expected name=SIZE`);
    map.set(value.slice(0, equals), parseByteSize(value.slice(equals + 1)));
  }
  return map;
}

function positive(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${flag}: not a positive number: ${text}`);
  return value;
}

runMain('memory-monitor', async () => {
  const fromEnv = process.argv.length <= 2;
  const args = fromEnv ? (process.env.MEMMON_OPTIONS ?? '').split(/\s+/).filter((word) => word !== '') : process.argv.slice(2);
  const { values } = parseArgs({
    args,
    options: {
      program: { type: 'string', short: 'p', multiple: true, default: [] },
      group: { type: 'string', short: 'g', multiple: true, default: [] },
      any: { type: 'string', short: 'a' },
      cumulative: { type: 'boolean', short: 'c', default: false },
      name: { type: 'string', short: 'n', default: 'memmon' },
      interval: { type: 'string', default: '1' },
      sustain: { type: 'string', default: String(DEFAULT_TIMING.sustainSamples) },
      backoff: { type: 'string', default: String(DEFAULT_TIMING.backoffBaseMs / 1000) },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const log = stderrLog(values.name);
  const limits: MemoryLimits = {
    programs: limitPairs(values.program, '-p'),
    groups: limitPairs(values.group, '-g'),
    any: values.any === undefined ? null : parseByteSize(values.any),
    children: values.cumulative,
  };
  const channel = stdioChannel();
  const api = supervisorApiFromEnv();
  if (limits.programs.size === 0 && limits.groups.size === 0 && limits.any === null) {
    if (fromEnv) log('INFO', 'no memory limits set (MEMMON_OPTIONS is empty): idle');
    else throw new Error(`no limit given\n${USAGE}`);
    await idle(channel);
    return 0;
  }
  if (api === null) throw new Error('SUPERVISOR_SERVER_URL is not set: run me as an [eventlistener] of supervisord');
  const timing = {
    ...DEFAULT_TIMING,
    intervalMs: positive(values.interval, '--interval') * 1000,
    sustainSamples: Math.ceil(positive(values.sustain, '--sustain')),
    backoffBaseMs: positive(values.backoff, '--backoff') * 1000,
  };
  const monitor = new MemoryMonitor(api, limits, log, timing);
  const describe = [
    ...[...limits.programs].map(([name, bytes]) => `${name}=${bytes}`),
    ...[...limits.groups].map(([name, bytes]) => `group ${name}=${bytes}`),
    ...(limits.any === null ? [] : [`any=${limits.any}`]),
  ].join(', ');
  log('INFO', `watching resident memory every ${timing.intervalMs / 1000}s${limits.children ? ' (children counted)' : ''}: ${describe}`);
  const sample = (): void => {
    monitor.check().catch((error: unknown) => log('ERRO', `sample failed: ${error instanceof Error ? error.message : String(error)}`));
  };
  const timer = setInterval(sample, timing.intervalMs);
  timer.unref();
  // TICK_5 is the heartbeat memmon subscribes to; a sample on it too costs nothing.
  await runListener(channel, (event) => {
    if (event.header.eventname.startsWith('TICK_')) sample();
    return 'OK';
  });
  clearInterval(timer);
  return 0;
});
