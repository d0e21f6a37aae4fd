// The local RunningHub's entry (a component of its own, apart from the client in ../index.ts): start it
// in-process for tests and benchmarks, or run dist/runninghub-simulator.js.
import type { Logger } from '../../shared/logger.js';
import type { ServedOutput, SimulatorCounters, SimulatorTaskView as TaskView } from './views.js';
import { simulatorOptionsSchema, type SimulatorOptions, type SimulatorOptionsInput } from './options.js';
import { SimulatorServer } from './server.js';
import { loadWorkflowFolder, SHIPPED_WORKFLOWS_DIR } from './workflows.js';

export type { ServedOutput, SimulatorCounters, SimulatorTaskView } from './views.js';
export { connectSimulator, type SimulatorControl } from './control.js';
export { SHIPPED_WORKFLOWS_DIR, workflowFromApiFormat } from './workflows.js';
export {
  LENIENT_SIMULATOR,
  simulatorOptionsSchema,
  type SimulatorOptions,
  type SimulatorOptionsInput,
  type SimulatorFault,
  type SimulatorFaultInput,
  type SimulatorEndpoint,
} from './options.js';

export interface RunningSimulator {
  /** e.g. http://127.0.0.1:39211: the client's baseUrl. */
  readonly url: string;
  readonly port: number;
  /** A snapshot; also at GET /__sim/counters. */
  counters(): SimulatorCounters;
  /** Every task with its timeline (epoch ms); also at GET /__sim/tasks. */
  tasks(): TaskView[];
  /** The bytes served at an output's fileUrl (SHA-256, size) and how often they went out whole; undefined for no such output. */
  servedOutput(fileUrl: string): ServedOutput | undefined;
  /** Forget tasks, counters and pending webhooks; options stay. Also POST /__sim/reset. */
  reset(): void;
  /** Change options while running (merged over the current ones; `faults` is replaced as a whole). Also POST /__sim/config. */
  setOptions(patch: Partial<SimulatorOptionsInput>): SimulatorOptions;
  options(): SimulatorOptions;
  /** Hold `n` slots of a key as if used from the web UI, until `release` or `durationMs`. Also POST /__sim/occupy. */
  occupy(apiKey: string, n: number, durationMs?: number): string[];
  release(apiKey?: string): number;
  /** Set a key's remaining coins: 0 → creates answer 416 until topped up. Also POST /__sim/balance. */
  setBalance(apiKey: string, coins: number): void;
  /** With `manualClock: true`: move simulated time on by `ms`, running the transitions due. Also POST /__sim/advance. */
  advance(ms: number): void;
  stop(): Promise<void>;
}

export async function startSimulator(options: Partial<SimulatorOptionsInput> = {}, extras: { logger?: Logger } = {}): Promise<RunningSimulator> {
  const parsed = simulatorOptionsSchema.parse(options);
  const server = new SimulatorServer(parsed, extras.logger, await loadWorkflowFolder(parsed.workflowsDir ?? SHIPPED_WORKFLOWS_DIR));
  await server.listen();
  let stopped: Promise<void> | undefined;
  return {
    url: server.url,
    port: server.listeningPort,
    counters: () => server.counters(),
    tasks: () => server.tasks(),
    servedOutput: (fileUrl) => server.servedOutput(fileUrl),
    reset: () => server.reset(),
    setOptions: (patch) => server.setOptions(patch),
    options: () => structuredClone(server.engine.options),
    occupy: (apiKey, n, durationMs) => server.engine.occupy(apiKey, n, durationMs ?? null).map((t) => t.taskId),
    release: (apiKey) => server.engine.release(apiKey ?? null),
    setBalance: (apiKey, coins) => server.engine.setCoins(apiKey, coins),
    advance: (ms) => server.advance(ms),
    stop: () => (stopped ??= server.stop()),
  };
}
