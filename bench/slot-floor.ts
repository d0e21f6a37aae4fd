// The slot gap's anchor (bench:processor (1), issue 16): the physical floor of a handover, one claim
// transaction and one create on loopback, done back to back by a process of its own (as the processor is)
// against the same PostgreSQL and the same simulator, with the processor's own functions: claimPendingTasks
// (prepared, durable commit) and the RunningHub client's createTask over its keep-alive agent. What a real
// handover adds on top is RunningHub's webhook reaching the api, the api's statement freeing the slot, and
// PostgreSQL's notification reaching the processor.
//
// measureSlotFloor() runs this file as a child (`node --import tsx bench/slot-floor.ts`), which prints its
// samples as JSON; the parent inserts the tasks it claims and resets the simulator.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { summary } from './slot-timeline.js';

export interface SlotFloor {
  samples: number;
  /** Claim sent → create answered, ms. */
  claimPlusCreateMs: { p50: number; p90: number; n: number };
  /** The claim's round trip alone and the create's alone, p50 ms. */
  claimMsP50: number;
  createMsP50: number;
}

/** `samples` PENDING tasks must be due in the database; the account (fingerprint of `apiKey`) exists with a free slot. */
export async function measureSlotFloor(input: { databaseUrl: string; simulatorUrl: string; apiKey: string; account: string; samples: number }): Promise<SlotFloor> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    env: {
      PATH: process.env.PATH ?? '',
      FLOOR_DATABASE_URL: input.databaseUrl,
      FLOOR_SIMULATOR_URL: input.simulatorUrl,
      FLOOR_API_KEY: input.apiKey,
      FLOOR_ACCOUNT: input.account,
      FLOOR_SAMPLES: String(input.samples),
    },
    encoding: 'utf8',
  });
  return JSON.parse(stdout) as SlotFloor;
}

async function child(): Promise<void> {
  const { claimPendingTasks, createPool, finishTask } = await import('../src/db/index.js');
  const { createRunningHubClient } = await import('../src/runninghub/index.js');
  const env = (name: string): string => {
    const value = process.env[name];
    if (value === undefined || value === '') throw new Error(`slot-floor: ${name} is not set`);
    return value;
  };
  const samples = Number(env('FLOOR_SAMPLES'));
  const pool = createPool({ connectionString: env('FLOOR_DATABASE_URL'), applicationName: 'bench-slot-floor', max: 2 });
  const client = createRunningHubClient({ baseUrl: env('FLOOR_SIMULATOR_URL'), apiKey: env('FLOOR_API_KEY') });
  const both: number[] = [];
  const claims: number[] = [];
  const creates: number[] = [];
  try {
    // The first rounds warm the connections, the prepared claim and the agent, as a running processor has them.
    for (let i = -10; i < samples; i++) {
      const start = performance.now();
      const [task] = await claimPendingTasks(pool, { account: env('FLOOR_ACCOUNT'), processorId: 'bench-slot-floor', limit: 1, leaseMs: 60_000 });
      if (!task) throw new Error('slot-floor: nothing to claim (too few PENDING tasks, or no free slot)');
      const claimed = performance.now();
      await client.createTask({ workflowId: task.workflowId ?? '', nodeInfoList: task.nodeInfoList });
      const created = performance.now();
      // Not measured: the slot back, for the next sample.
      await finishTask(pool, { taskId: task.id, claimToken: task.claimToken }, { status: 'CANCELLED', code: 'BENCH', message: 'slot floor sample' });
      if (i < 0) continue;
      both.push(created - start);
      claims.push(claimed - start);
      creates.push(created - claimed);
    }
  } finally {
    await pool.end();
  }
  const floor: SlotFloor = {
    samples,
    claimPlusCreateMs: summary(both),
    claimMsP50: summary(claims).p50,
    createMsP50: summary(creates).p50,
  };
  process.stdout.write(JSON.stringify(floor));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  child().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
