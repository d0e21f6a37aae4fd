// Where bench/api.ts's CPU goes: CPU time of a process (and of PostgreSQL's backends) from /proc, and the
// shares of a V8 CPU profile of the api (`node --cpu-prof`) by stage of a request.
import { readdirSync, readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in these ticks. */
const TICKS_PER_SECOND = 100;

/** utime + stime of one process in milliseconds, or null when it is gone (or there is no /proc). */
export function processCpuMs(pid: number): number | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces and parentheses: fields are counted after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime field 15.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

function parentPid(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}

/**
 * CPU of PostgreSQL: the postmaster and its live children (the pool's backends, the WAL writer, the
 * checkpointer...). The pools keep their connections for the whole run, so no backend's time is lost
 * to an exit between two readings.
 */
export function postgresCpuMs(postmasterPid: number): number {
  let total = processCpuMs(postmasterPid) ?? 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    const pid = Number(entry);
    if (parentPid(pid) === postmasterPid) total += processCpuMs(pid) ?? 0;
  }
  return total;
}

/** The postmaster's pid, from the first line of `<dataDir>/postmaster.pid`. */
export async function postmasterPid(dataDir: string): Promise<number> {
  return Number((await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
}

// --- the profile's shares ----------------------------------------------------------------------------

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

type Frame = ProfileNode['callFrame'];

/**
 * Stages of a request, most specific first: a sample belongs to the first stage any frame of its stack
 * matches (so zod inside the reply serializer counts as serialisation, a socket write inside pg as pg).
 * The rules read source paths: the bench runs the api from source (tsx), so frames name src/ files.
 */
const STAGES: { stage: string; matches: (frame: Frame) => boolean }[] = [
  { stage: 'start-up (module loading)', matches: (f) => f.url.startsWith('node:internal/modules/') },
  {
    stage: 'logging (pino, request log line)',
    matches: (f) => /\/(pino|sonic-boom|thread-stream)\//.test(f.url) || f.url.includes('/src/shared/logger.ts') || f.functionName === 'requestCompleted',
  },
  { stage: 'metrics (prom-client histogram)', matches: (f) => f.url.includes('/prom-client/') || f.url.includes('/src/api/metrics.ts') },
  {
    stage: 'reply serialisation (schema check + JSON)',
    matches: (f) => (f.functionName === 'serialize' && f.url.includes('/fastify/lib/')) || f.url.includes('fast-json-stringify'),
  },
  { stage: 'request validation (zod)', matches: (f) => f.url.includes('/fastify/lib/validation.js') },
  { stage: 'text rule (UTF-8, NUL checks)', matches: (f) => f.url.includes('/src/shared/text.ts') || f.url.includes('/src/api/text-boundary.ts') },
  { stage: 'gzip hook', matches: (f) => f.url.includes('/src/api/compression.ts') || f.url === 'node:zlib' },
  {
    stage: 'pg driver (incl. socket I/O to PostgreSQL)',
    matches: (f) => /\/(pg|pg-pool|pg-protocol|pg-types|postgres-date|postgres-array|postgres-interval|postgres-bytea)\//.test(f.url) || f.url.includes('/src/db/pool.ts'),
  },
  { stage: 'create path (src/db/tasks: SQL values, row → task)', matches: (f) => f.url.includes('/src/db/tasks/') },
  { stage: 'route handler (tasks.ts, toTaskJson)', matches: (f) => f.url.includes('/src/api/routes/') || f.url.includes('/src/api/schemas.ts') },
  { stage: 'JSON body parsing', matches: (f) => f.url.includes('/fastify/lib/content-type-parser.js') || f.url.includes('secure-json-parse') },
  {
    stage: 'HTTP (node:http, Fastify routing, hooks, reply)',
    matches: (f) => f.url.startsWith('node:_http') || f.url.includes('/fastify/') || f.url.includes('/find-my-way/') || f.url.includes('/avvio/'),
  },
];

export interface ProfileShares {
  /** Milliseconds the profile covers, and how many of them the api was not idle. */
  totalMs: number;
  busyMs: number;
  /** Each stage's share of the busy time, largest first (garbage collection and the rest included). */
  shares: { stage: string; ms: number; share: number }[];
}

export function profileShares(profile: CpuProfile): ProfileShares {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const stageOfNode = new Map<number, string>();
  const stageOf = (id: number): string => {
    const known = stageOfNode.get(id);
    if (known !== undefined) return known;
    const leaf = byId.get(id)!.callFrame.functionName;
    let stage: string | undefined =
      leaf === '(idle)' ? 'idle' : leaf === '(garbage collector)' ? 'garbage collection' : leaf === '(program)' ? 'V8 / native (unattributed)' : undefined;
    if (stage === undefined) {
      const stack: Frame[] = [];
      for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) stack.push(byId.get(at)!.callFrame);
      stage = STAGES.find(({ matches }) => stack.some(matches))?.stage ?? 'other (event loop, promises, timers)';
    }
    stageOfNode.set(id, stage);
    return stage;
  };
  const ms = new Map<string, number>();
  let totalMs = 0;
  profile.samples.forEach((id, index) => {
    const deltaMs = (profile.timeDeltas[index] ?? 0) / 1000;
    totalMs += deltaMs;
    const stage = stageOf(id);
    ms.set(stage, (ms.get(stage) ?? 0) + deltaMs);
  });
  const idleMs = ms.get('idle') ?? 0;
  ms.delete('idle');
  const startupMs = ms.get(STAGES[0]!.stage) ?? 0;
  ms.delete(STAGES[0]!.stage);
  const busyMs = totalMs - idleMs - startupMs;
  const shares = [...ms.entries()].map(([stage, stageMs]) => ({ stage, ms: stageMs, share: stageMs / busyMs })).sort((a, b) => b.ms - a.ms);
  return { totalMs, busyMs, shares };
}

/**
 * The shares of the main thread's .cpuprofile in `dir` (the api writes it when it exits; tsx's loader
 * thread writes its own, named with another thread id: CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile).
 */
export async function readProfileShares(dir: string): Promise<ProfileShares & { file: string }> {
  const files = (await readdir(dir)).filter((name) => /\.0\.[0-9]+\.cpuprofile$/.test(name));
  if (files.length !== 1) throw new Error(`expected one main-thread .cpuprofile in ${dir}, found ${files.length}`);
  const file = path.join(dir, files[0]!);
  return { file, ...profileShares(JSON.parse(await readFile(file, 'utf8')) as CpuProfile) };
}
