import { z } from 'zod';
import { envDuration, parseEnv } from '../shared/env.js';
import type { RunningHubClientOptions } from './client.js';
import { RUNNINGHUB_APIS } from './client-v2.js';

/**
 * RunningHub settings from the environment; other components extend it (`.extend()` or `.shape`).
 * The key deliberately has no format rule: parseEnv quotes a rejected value in its error, and the key
 * must never appear in a log line.
 */
export const runningHubEnvSchema = z.object({
  /** Defaults to the local simulator (`npm start` runs it on 8090). */
  RUNNINGHUB_BASE_URL: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:8090'),
  RUNNINGHUB_API_KEY: z.string({ error: 'required (the RunningHub API key)' }).min(1),
  /** Per request, e.g. 15s or 500ms. */
  RUNNINGHUB_TIMEOUT: envDuration('ms').default(15_000),
  /**
   * API generation: v1 (default; the most completely documented, what every client in the wild speaks),
   * v2 (/openapi/v2/*), or auto (v2, v1 per operation where v2 answers 404 / 412).
   */
  RUNNINGHUB_API: z.enum(RUNNINGHUB_APIS).default('v1'),
});
export type RunningHubEnv = z.output<typeof runningHubEnvSchema>;

export function runningHubClientOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): RunningHubClientOptions {
  const parsed = parseEnv(runningHubEnvSchema, env);
  return { baseUrl: parsed.RUNNINGHUB_BASE_URL, apiKey: parsed.RUNNINGHUB_API_KEY, timeoutMs: parsed.RUNNINGHUB_TIMEOUT, api: parsed.RUNNINGHUB_API };
}
