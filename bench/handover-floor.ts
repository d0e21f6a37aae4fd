// The slot gap's second anchor (bench:processor (1), issue 16): the floor of the part of a handover that is
// ours, webhook sent → next create sent, built from bare parts with no design of ours in them. A receiver
// process (node:http, one pg connection) records each webhook in one durable statement that notifies; a
// listener process (one pg connection LISTENing, the RunningHub client) creates the next task the moment the
// notification arrives. No Fastify, no zod, no signature check, no claim transaction, no limit: the least any
// design does in which RunningHub's webhook reaches the api and the processor hears of it through PostgreSQL
// with the webhook durable (the api answers RunningHub only after its commit, and a webhook answered is
// never sent again).
//
// measureHandoverFloor() runs this file twice as children (`node --import tsx bench/handover-floor.ts`,
// FLOOR_ROLE=receiver and listener) against the caller's simulator, one task at a time: each task's webhook
// leads to the next task's create, so every sample is one handover at one slot.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { RunningSimulator } from '../src/runninghub/simulator/index.js';
import { summary } from './slot-timeline.js';

export interface HandoverFloor {
  samples: number;
  /** RunningHub's webhook sent (the simulator's mark) → the next create sent by the listener, ms. */
  webhookSentToCreateSentMs: { p50: number; p90: number; n: number };
  /** Webhook sent → the notification at the listener, and the receiver's statement (its durable commit) alone, p50 ms. */
  webhookSentToNotifiedMsP50: number;
  commitMsP50: number;
}

const CHANNEL = 'bench_handover_floor';
const TABLE = 'bench_handover_floor';
const WORKFLOW_ID = '1904136902449209346';
const now = (): number => performance.timeOrigin + performance.now();

function env(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`handover-floor: ${name} is not set`);
  return value;
}

function startChild(role: 'receiver' | 'listener', extra: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    env: { PATH: process.env.PATH ?? '', FLOOR_ROLE: role, ...extra },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

/** The child's stdout lines, each parsed as JSON, as they come; rejects if it exits with a failure. */
function jsonLines(child: ChildProcess, onLine: (value: unknown) => void): Promise<void> {
  const lines = createInterface({ input: child.stdout! });
  lines.on('line', (line) => onLine(JSON.parse(line)));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      code === 0 || signal === 'SIGTERM' ? resolve() : reject(new Error(`handover-floor ${child.spawnargs.join(' ')} exited ${code ?? signal}`)),
    );
  });
}

/** `sim` is the caller's simulator (reset here; tasks of about 20 ms); `apiKey` one of its keys. */
export async function measureHandoverFloor(input: { databaseUrl: string; sim: RunningSimulator; apiKey: string; samples: number }): Promise<HandoverFloor> {
  const { sim } = input;
  const setup = new pg.Client({ connectionString: input.databaseUrl });
  await setup.connect();
  await setup.query(`DROP TABLE IF EXISTS ${TABLE}; CREATE TABLE ${TABLE} (id bigserial PRIMARY KEY, received_at timestamptz NOT NULL DEFAULT now(), body text NOT NULL)`);
  await setup.end();
  sim.reset();
  sim.setOptions({ queuedMs: [0, 0], runningMs: [20, 20] });

  const receiver = startChild('receiver', { FLOOR_DATABASE_URL: input.databaseUrl });
  let commits: number[] = [];
  let listening!: (port: number) => void;
  const portKnown = new Promise<number>((resolve) => (listening = resolve));
  const receiverExit = jsonLines(receiver, (value) => {
    const line = value as { port?: number; commits?: number[] };
    if (line.port !== undefined) listening(line.port);
    if (line.commits !== undefined) commits = line.commits;
  });
  // Settles (rejected) only if the receiver ends before it listens; handled here so that its end later is not.
  const endedEarly = receiverExit.then(() => Promise.reject(new Error('handover-floor: the receiver exited before it listened')));
  endedEarly.catch(() => undefined);
  try {
    const port = await Promise.race([portKnown, endedEarly]);
    let creates: { sentAt: number; taskId: string; notifiedAt: number | null }[] = [];
    const listener = startChild('listener', {
      FLOOR_DATABASE_URL: input.databaseUrl,
      FLOOR_SIMULATOR_URL: sim.url,
      FLOOR_API_KEY: input.apiKey,
      FLOOR_WEBHOOK_URL: `http://127.0.0.1:${port}/webhook`,
      FLOOR_SAMPLES: String(input.samples + 10),
    });
    await jsonLines(listener, (value) => {
      creates = (value as { creates: typeof creates }).creates;
    });
    // Each create after the first was caused by the webhook of the task created before it.
    const webhookSentAt = new Map(sim.tasks().map((t) => [t.taskId, t.webhookAttempts.find((a) => a.ok)?.sentAt]));
    const toCreate: number[] = [];
    const toNotified: number[] = [];
    // The first 10 handovers warm the connections and the agent, as a running processor has them.
    for (let k = 10; k + 1 < creates.length; k++) {
      const sent = webhookSentAt.get(creates[k]!.taskId);
      if (sent === undefined) continue;
      toCreate.push(creates[k + 1]!.sentAt - sent);
      if (creates[k + 1]!.notifiedAt !== null) toNotified.push(creates[k + 1]!.notifiedAt! - sent);
    }
    receiver.kill('SIGTERM');
    await receiverExit;
    return {
      samples: toCreate.length,
      webhookSentToCreateSentMs: summary(toCreate),
      webhookSentToNotifiedMsP50: summary(toNotified).p50,
      commitMsP50: summary(commits.slice(10)).p50,
    };
  } finally {
    receiver.kill('SIGTERM');
    sim.reset();
  }
}

/** Records each POST in one durable statement that notifies, then answers 200; its statement times at SIGTERM. */
async function receiver(): Promise<void> {
  const db = new pg.Client({ connectionString: env('FLOOR_DATABASE_URL') });
  await db.connect();
  const commits: number[] = [];
  const server = createServer((request, response) => {
    const parts: Buffer[] = [];
    request.on('data', (part: Buffer) => parts.push(part));
    request.on('end', () => {
      const started = now();
      db.query({
        name: 'record',
        text: `WITH e AS (INSERT INTO ${TABLE} (body) VALUES ($1) RETURNING id) SELECT pg_notify('${CHANNEL}', id::text) FROM e`,
        values: [Buffer.concat(parts).toString('utf8')],
      }).then(
        () => {
          commits.push(now() - started);
          response.end('ok');
        },
        (error: unknown) => {
          response.statusCode = 500;
          response.end(String(error));
        },
      );
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
  });
  process.once('SIGTERM', () => {
    process.stdout.write(`${JSON.stringify({ commits })}\n`, () => process.exit(0));
  });
}

/** Creates a task, and the next one at each notification, FLOOR_SAMPLES in all; prints the creates' marks. */
async function listener(): Promise<void> {
  const { createRunningHubClient } = await import('../src/runninghub/index.js');
  const client = createRunningHubClient({ baseUrl: env('FLOOR_SIMULATOR_URL'), apiKey: env('FLOOR_API_KEY') });
  const webhookUrl = env('FLOOR_WEBHOOK_URL');
  const total = Number(env('FLOOR_SAMPLES'));
  const db = new pg.Client({ connectionString: env('FLOOR_DATABASE_URL') });
  await db.connect();
  await db.query(`LISTEN ${CHANNEL}`);
  const creates: { sentAt: number; taskId: string; notifiedAt: number | null }[] = [];
  const create = async (notifiedAt: number | null) => {
    const sentAt = now();
    const created = await client.createTask({
      workflowId: WORKFLOW_ID,
      nodeInfoList: [{ nodeId: '6', fieldName: 'text', fieldValue: `floor ${creates.length}` }],
      webhookUrl,
    });
    creates.push({ sentAt, taskId: created.taskId, notifiedAt });
  };
  const done = new Promise<void>((resolve, reject) => {
    db.on('notification', () => {
      const notifiedAt = now();
      if (creates.length >= total) {
        resolve();
        return;
      }
      create(notifiedAt).catch(reject);
    });
    db.on('error', reject);
  });
  await create(null);
  await done;
  await db.end();
  process.stdout.write(`${JSON.stringify({ creates })}\n`);
}

const role = process.env.FLOOR_ROLE;
if (role === 'receiver') await receiver();
else if (role === 'listener') await listener();
