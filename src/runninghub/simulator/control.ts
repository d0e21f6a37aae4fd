import { z } from 'zod';
import type { SimulatorOptions, SimulatorOptionsInput } from './options.js';
import { simulatorCountersSchema, simulatorTaskViewSchema, type SimulatorCounters, type SimulatorTaskView } from './views.js';

/** The /__sim/* endpoints of a simulator in another process (dist/runninghub-simulator.js under supervisord). */
export interface SimulatorControl {
  counters(): Promise<SimulatorCounters>;
  tasks(): Promise<SimulatorTaskView[]>;
  reset(): Promise<void>;
  /** Returns the effective options; rejects with the simulator's explanation on invalid ones. */
  setOptions(patch: Partial<SimulatorOptionsInput>): Promise<SimulatorOptions>;
  occupy(apiKey: string, n: number, durationMs?: number): Promise<string[]>;
  release(apiKey?: string): Promise<number>;
  advance(ms: number): Promise<void>;
  /** Set a key's remaining coins: 0 → creates answer 416 until topped up. */
  setBalance(apiKey: string, coins: number): Promise<void>;
}

export function connectSimulator(baseUrl: string, { timeoutMs = 10_000 }: { timeoutMs?: number } = {}): SimulatorControl {
  const root = baseUrl.replace(/\/+$/, '');
  async function request<T>(method: 'GET' | 'POST', path: string, schema: z.ZodType<T>, body?: unknown): Promise<T> {
    const response = await fetch(`${root}/__sim/${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? null : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`simulator ${method} /__sim/${path}: HTTP ${response.status} ${text.slice(0, 500)}`);
    return schema.parse(JSON.parse(text));
  }
  return {
    counters: () => request('GET', 'counters', simulatorCountersSchema),
    tasks: () => request('GET', 'tasks', z.array(simulatorTaskViewSchema)),
    reset: async () => {
      await request('POST', 'reset', z.unknown(), {});
    },
    // The simulator validated it against its schema; here it is only passed on.
    setOptions: (patch) => request('POST', 'config', z.custom<SimulatorOptions>((v) => typeof v === 'object' && v !== null), patch),
    occupy: async (apiKey, n, durationMs) =>
      (await request('POST', 'occupy', z.object({ taskIds: z.array(z.string()) }), { apiKey, n, ...(durationMs === undefined ? {} : { durationMs }) })).taskIds,
    advance: async (ms) => {
      await request('POST', 'advance', z.unknown(), { ms });
    },
    setBalance: async (apiKey, coins) => {
      await request('POST', 'balance', z.unknown(), { apiKey, coins });
    },
    release: async (apiKey) => (await request('POST', 'release', z.object({ released: z.number() }), apiKey === undefined ? {} : { apiKey })).released,
  };
}
