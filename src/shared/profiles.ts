// Profiles: named settings for a kind of work (design 003's stricter "Lumina" configuration), chosen
// per workflow/app or per storyboard. Read by the api (which profile names exist, their max attempts)
// and the processor (limits, timeout, backoff, poll interval), from one file or one variable.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from './env.js';

/** 500, "500ms", "5s", "10m", "1h": a number is milliseconds. */
const duration = z.union([
  z.int().min(0),
  z
    .string()
    .regex(/^\d+(\.\d+)?(ms|s|m|h)$/, 'expected a duration such as 500ms, 5s, 10m (or a number of milliseconds)')
    .transform((text) => {
      const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text)!;
      return Math.round(Number(match[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] as 'ms' | 's' | 'm' | 'h']);
    }),
]);
const runninghubId = z.string().regex(/^[0-9]{1,30}$/, 'expected a RunningHub id (a string of digits)');

export const profileSchema = z.strictObject({
  /** At most this many of the account's slots at once for this profile's tasks. */
  maxRunning: z.int().min(1).max(1000),
  /** A submitted task still running after this is cancelled and FAILED (TIMEOUT); default TASK_TIMEOUT. */
  timeout: duration.optional(),
  /** Default max attempts of its storyboards' shots (a request's own maxAttempts wins). */
  maxAttempts: z.int().min(1).max(100).optional(),
  /** First retry backoff (doubles per attempt up to RETRY_BACKOFF_MAX); default RETRY_BACKOFF. */
  backoff: duration.optional(),
  /** How often a submitted task is polled when no webhook came; default CHECK_INTERVAL. */
  pollInterval: duration.refine((ms) => ms > 0, 'must be more than 0').optional(),
  workflowIds: z.array(runninghubId).default([]),
  webappIds: z.array(runninghubId).default([]),
});
export type Profile = z.output<typeof profileSchema> & { name: string };

const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

export const profilesFileSchema = z
  .strictObject({ profiles: z.record(z.string(), profileSchema) })
  .superRefine((file, ctx) => {
    for (const name of Object.keys(file.profiles)) {
      if (!PROFILE_NAME.test(name)) {
        ctx.addIssue({ code: 'custom', path: ['profiles', name], message: 'a profile name is letters, digits, _ . - (up to 100)' });
      }
    }
    // A workflow or app in two profiles would make the choice arbitrary.
    for (const kind of ['workflowIds', 'webappIds'] as const) {
      const owner = new Map<string, string>();
      for (const [name, profile] of Object.entries(file.profiles)) {
        for (const id of profile[kind]) {
          const first = owner.get(id);
          if (first !== undefined) {
            ctx.addIssue({ code: 'custom', path: ['profiles', name, kind], message: `${id} is already in profile ${first}` });
          }
          owner.set(id, name);
        }
      }
    }
  });

/** Parse a profiles document; the error names the key (`profiles.lumina.maxRunning: ...`) and the source. */
export function parseProfiles(document: unknown, source: string): Profile[] {
  const parsed = profilesFileSchema.safeParse(document);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(top level)'}: ${issue.message}`);
    throw new ConfigError(`invalid profiles in ${source}: ${problems.join('; ')}`);
  }
  return Object.entries(parsed.data.profiles).map(([name, profile]) => ({ name, ...profile }));
}

/**
 * The profiles of this deployment: `PROFILES_FILE` (a JSON file) or `PROFILES` (the same JSON inline),
 * not both; none configured: no profiles.
 */
export function loadProfiles(env: NodeJS.ProcessEnv = process.env): Profile[] {
  const file = env.PROFILES_FILE || undefined;
  const inline = env.PROFILES || undefined;
  if (file !== undefined && inline !== undefined) throw new ConfigError('set PROFILES_FILE or PROFILES, not both');
  if (file === undefined && inline === undefined) return [];
  const source = file !== undefined ? `PROFILES_FILE (${file})` : 'PROFILES';
  let text: string;
  try {
    text = file !== undefined ? readFileSync(file, 'utf8') : inline!;
  } catch (error) {
    throw new ConfigError(`${source}: cannot read the file: ${(error as Error).message}`);
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${source}: not JSON: ${(error as Error).message}`);
  }
  return parseProfiles(document, source);
}

/** The profile a workflow or app runs under, if one lists it. */
export function profileForTarget(profiles: readonly Profile[], target: { workflowId: string | null; webappId: string | null }): Profile | undefined {
  return profiles.find(
    (p) => (target.workflowId !== null && p.workflowIds.includes(target.workflowId)) || (target.webappId !== null && p.webappIds.includes(target.webappId)),
  );
}
