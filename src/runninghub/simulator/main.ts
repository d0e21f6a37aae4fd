// The simulator as a program (dist/runninghub-simulator.js): the default RunningHub for `npm start`.
import { z } from 'zod';
import { envBool, envDuration, envInt, loadConfigOrExit, logLevel, parseEnv } from '../../shared/env.js';
import { createLogger } from '../../shared/logger.js';
import { handleStopSignals } from '../../shared/signals.js';
import { runProgram } from '../../shared/program.js';
import { startSimulator, type RunningSimulator } from './index.js';
import { keyConfigSchema } from './options.js';

type SimulatorKeyConfigInput = z.input<typeof keyConfigSchema>;

const durationRange = z
  .string()
  .regex(/^\d+(ms|s)?(-\d+(ms|s)?)?$/, 'expected a duration or a range such as 2s-5s or 500ms')
  .transform((text): [number, number] => {
    const [low = '0', high] = text.split('-');
    const toMs = (part: string) => envDuration('ms').parse(part);
    const min = toMs(low);
    const max = high === undefined ? min : toMs(high);
    return min <= max ? [min, max] : [max, min];
  });

const envSchema = z.object({
  SIMULATOR_HOST: z.string().default('127.0.0.1'),
  SIMULATOR_PORT: envInt(0, 65535).default(8090),
  SIMULATOR_PUBLIC_URL: z.url().optional(),
  /** Slots per API key (QUEUED + RUNNING). */
  SIMULATOR_CONCURRENCY: envInt(0, 10_000).default(3),
  SIMULATOR_QUEUED: durationRange.default([200, 1000]),
  SIMULATOR_RUNNING: durationRange.default([2000, 5000]),
  SIMULATOR_FAILURE_RATE: z.coerce.number().min(0).max(1).default(0),
  /**
   * Strict (default, as RunningHub): only SIMULATOR_API_KEYS (802), only the workflows of
   * SIMULATOR_WORKFLOWS_DIR and SIMULATOR_CONFIG_JSON (380 / 901 / 803). false: any key, any workflow.
   */
  SIMULATOR_STRICT: envBool.default(true),
  /** Keys the strict simulator accepts, comma-separated; `simulator` is the key `npm start` gives the processor. */
  SIMULATOR_API_KEYS: z
    .string()
    .default('simulator')
    .transform((text) => text.split(',').map((k) => k.trim()).filter((k) => k !== '')),
  /** Folder of API-format workflows (`<workflowId>.json`); default the shipped storyboard workflow. */
  SIMULATOR_WORKFLOWS_DIR: z.string().min(1).optional(),
  /** Extra options as JSON (keys, workflows, webapps, webhook…), see simulator/options.ts. */
  SIMULATOR_CONFIG_JSON: z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'not valid JSON' });
        return z.NEVER;
      }
    })
    .pipe(z.record(z.string(), z.unknown()))
    .optional(),
  LOG_LEVEL: logLevel.default('info'),
});

async function main(): Promise<void> {
  const env = loadConfigOrExit('runninghub-simulator', () => parseEnv(envSchema));
  const logger = createLogger({ name: 'runninghub-simulator', level: env.LOG_LEVEL });

  let simulator: RunningSimulator;
  try {
    simulator = await startSimulator(
      {
        ...env.SIMULATOR_CONFIG_JSON,
        host: env.SIMULATOR_HOST,
        port: env.SIMULATOR_PORT,
        publicUrl: env.SIMULATOR_PUBLIC_URL,
        concurrency: env.SIMULATOR_CONCURRENCY,
        queuedMs: env.SIMULATOR_QUEUED,
        runningMs: env.SIMULATOR_RUNNING,
        failureRate: env.SIMULATOR_FAILURE_RATE,
        strict: env.SIMULATOR_STRICT,
        acceptAnyKey: !env.SIMULATOR_STRICT,
        keys: { ...Object.fromEntries(env.SIMULATOR_API_KEYS.map((key) => [key, {}])), ...configKeysOf(env.SIMULATOR_CONFIG_JSON) },
        workflowsDir: env.SIMULATOR_WORKFLOWS_DIR,
      },
      { logger },
    );
  } catch (error) {
    // Bad SIMULATOR_CONFIG_JSON options, or the port is taken. Nothing listens, so the process ends.
    logger.fatal({ event: 'simulator.start_failed', err: error }, `cannot start: ${(error as Error).message}`);
    process.exitCode = 1;
    return;
  }
  logger.info({ event: 'simulator.listening', url: simulator.url, port: simulator.port }, `RunningHub simulator listening on ${simulator.url}`);

  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ event: 'simulator.stopping', signal }, 'stopping');
    await simulator.stop();
    logger.info({ event: 'simulator.stopped' }, 'stopped');
    process.exitCode = 0;
  };
  handleStopSignals('runninghub-simulator', (signal) => {
    shutdown(signal).catch((error: unknown) => {
      logger.error({ event: 'simulator.stop_failed', err: error }, 'stop failed');
      process.exitCode = 1;
    });
  });
}

/** `keys` of SIMULATOR_CONFIG_JSON, added to SIMULATOR_API_KEYS. */
function configKeysOf(config: Record<string, unknown> | undefined): Record<string, SimulatorKeyConfigInput> {
  if (config?.keys === undefined) return {};
  const parsed = z.record(z.string(), keyConfigSchema).safeParse(config.keys);
  if (!parsed.success) throw new Error(`SIMULATOR_CONFIG_JSON keys: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

runProgram('runninghub-simulator', main);
