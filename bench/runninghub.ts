// Latency of the RunningHub client against the simulator, and the simulator's throughput: how much of
// the processor's "POST to create" budget (p50 <= 20 ms) one RunningHub call takes locally. Not part of `npm test`.
//
//   npx tsx bench/runninghub.ts [--calls 500] [--seconds 3] [--concurrency 16]
//
// The simulator runs as its own process, from source through tsx (as the processor sees it under
// supervisord), and also in the benchmark's own process for comparison.
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { findFreePort } from '../src/db/index.js';
import { createRunningHubClient, type RunningHubClient } from '../src/runninghub/index.js';
import { connectSimulator, startSimulator } from '../src/runninghub/simulator/index.js';

const { values: args } = parseArgs({
  options: {
    calls: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '16' },
  },
});
const calls = Number(args.calls);
const seconds = Number(args.seconds);
const concurrency = Number(args.concurrency);
const KEY = 'bench-key';
/** The storyboard workflow the simulator ships (strict mode knows only it). */
const WORKFLOW = '1904136902449209346';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

async function latency(label: string, call: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 20; i++) await call(); // warm-up: connection, JIT
  const samples: number[] = [];
  for (let i = 0; i < calls; i++) {
    const started = performance.now();
    await call();
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  console.log(`  ${label.padEnd(26)} p50 ${percentile(samples, 50).toFixed(2)} ms   p99 ${percentile(samples, 99).toFixed(2)} ms   max ${samples.at(-1)?.toFixed(2)} ms   (${calls} calls)`);
}

async function throughput(label: string, call: () => Promise<unknown>): Promise<void> {
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        await call();
        done++;
      }
    }),
  );
  console.log(`  ${label.padEnd(26)} ${Math.round(done / seconds)} calls/s with ${concurrency} callers`);
}

async function measure(client: RunningHubClient): Promise<void> {
  const { taskId } = await client.createTask({ workflowId: WORKFLOW });
  let n = 0;
  await latency('createTask', () => client.createTask({ workflowId: WORKFLOW, nodeInfoList: [{ nodeId: '6', fieldName: 'text', fieldValue: `p${n++}` }] }));
  await latency('getOutputs', () => client.getOutputs(taskId));
  await latency('getAccountStatus', () => client.getAccountStatus());
  await throughput('getOutputs throughput', () => client.getOutputs(taskId));
}

// Tasks finish at once and the limit is out of the way: this measures the HTTP path, not the task model.
const settings = { keys: { [KEY]: {} }, concurrency: 1_000_000, queuedMs: [0, 0] as [number, number], runningMs: [0, 0] as [number, number] };

console.log(`node ${process.version}, ${(await import('node:os')).cpus().length} CPUs`);
console.log('simulator in its own process:');
{
  const port = await findFreePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/runninghub/simulator/main.ts'], {
    env: { ...process.env, SIMULATOR_PORT: String(port), SIMULATOR_QUEUED: '0', SIMULATOR_RUNNING: '0', SIMULATOR_CONCURRENCY: '10000', SIMULATOR_API_KEYS: KEY, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const control = connectSimulator(url);
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await control.counters();
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    await control.setOptions(settings);
    await measure(createRunningHubClient({ baseUrl: url, apiKey: KEY }));
    const counters = await control.counters();
    console.log(`  simulator saw ${counters.tasksCreated} creates, ${counters.callsByEndpoint.outputs ?? 0} outputs calls`);
  } finally {
    child.kill('SIGTERM');
  }
}

console.log('simulator in the benchmark process:');
{
  const simulator = await startSimulator(settings);
  try {
    await measure(createRunningHubClient({ baseUrl: simulator.url, apiKey: KEY }));
  } finally {
    await simulator.stop();
  }
}
