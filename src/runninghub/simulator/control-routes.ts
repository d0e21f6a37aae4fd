// The simulator's own routes, /__sim/*, for tests, benchmarks and the simulator program's operators:
// counters, tasks, options, reset, the manual clock, and slots held as if from the web UI. The same
// operations are methods of the in-process handle (index.ts) and of connectSimulator (control.ts).
import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import type { SimulatorCounters, SimulatorEngine } from './engine.js';
import { HttpReply, readBody } from './http.js';
import type { SimulatorOptions } from './options.js';
import type { SimulatorTaskView } from './views.js';

const occupyBody = z.strictObject({ apiKey: z.string().min(1), n: z.number().int().min(1).max(10_000), durationMs: z.number().int().min(0).optional() });
const advanceBody = z.strictObject({ ms: z.number().int().min(0) });
const releaseBody = z.strictObject({ apiKey: z.string().min(1).optional() });
const balanceBody = z.strictObject({ apiKey: z.string().min(1), coins: z.number().min(0) });

/** What the control routes act on (the SimulatorServer). */
export interface ControlTarget {
  readonly engine: SimulatorEngine;
  counters(): SimulatorCounters;
  tasks(): SimulatorTaskView[];
  reset(): void;
  setOptions(patch: Record<string, unknown>): SimulatorOptions;
  advance(ms: number): void;
}

export async function controlRoute(sim: ControlTarget, req: IncomingMessage, path: string): Promise<HttpReply> {
  const method = req.method ?? 'GET';
  const text = await readBody(req).catch(() => '');
  const json = (status: number, value: unknown) => new HttpReply(status, JSON.stringify(value), 'application/json');
  const parseBody = (): unknown => {
    try {
      return text === '' ? {} : JSON.parse(text);
    } catch {
      return undefined;
    }
  };
  const badRequest = (error: z.ZodError | string) => json(400, { error: typeof error === 'string' ? error : z.prettifyError(error) });

  if (method === 'GET' && path === '/__sim/counters') return json(200, sim.counters());
  if (method === 'GET' && path === '/__sim/tasks') return json(200, sim.tasks());
  if (method === 'GET' && path === '/__sim/config') return json(200, sim.engine.options);
  if (method === 'GET' && path === '/__sim/health') return json(200, { ok: true });
  if (method === 'POST' && path === '/__sim/reset') {
    sim.reset();
    return json(200, { ok: true });
  }
  if (method === 'POST' && path === '/__sim/config') {
    const patch = parseBody();
    if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return badRequest('body must be a JSON object of options');
    try {
      return json(200, sim.setOptions(patch as Record<string, unknown>));
    } catch (error) {
      return badRequest(error instanceof z.ZodError ? error : String((error as Error).message));
    }
  }
  if (method === 'POST' && path === '/__sim/advance') {
    const parsed = advanceBody.safeParse(parseBody());
    if (!parsed.success) return badRequest(parsed.error);
    try {
      sim.advance(parsed.data.ms);
    } catch (error) {
      return badRequest(String((error as Error).message));
    }
    return json(200, { now: sim.engine.clock.now() });
  }
  if (method === 'POST' && path === '/__sim/occupy') {
    const parsed = occupyBody.safeParse(parseBody());
    if (!parsed.success) return badRequest(parsed.error);
    const tasks = sim.engine.occupy(parsed.data.apiKey, parsed.data.n, parsed.data.durationMs ?? null);
    return json(200, { taskIds: tasks.map((t) => t.taskId) });
  }
  if (method === 'POST' && path === '/__sim/release') {
    const parsed = releaseBody.safeParse(parseBody());
    if (!parsed.success) return badRequest(parsed.error);
    return json(200, { released: sim.engine.release(parsed.data.apiKey ?? null) });
  }
  if (method === 'POST' && path === '/__sim/balance') {
    // Run a key's wallet dry (416 on the next create) or top it up, as the web UI's payment would.
    const parsed = balanceBody.safeParse(parseBody());
    if (!parsed.success) return badRequest(parsed.error);
    sim.engine.setCoins(parsed.data.apiKey, parsed.data.coins);
    return json(200, { apiKey: parsed.data.apiKey, coins: parsed.data.coins });
  }
  return json(404, { error: `no control endpoint ${method} ${path}` });
}
