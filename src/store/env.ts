import path from 'node:path';
import { z } from 'zod';

/** Where kept outputs and uploaded images live; both programs (api, processor) read the same variables. */
export const storeEnvSchema = z.object({
  /** Kept task outputs; a volume in compose, a PersistentVolumeClaim in Kubernetes. */
  OUTPUT_DIR: z.string().min(1).default('.data/outputs'),
  /** Uploaded reference images, named by SHA-256. */
  UPLOAD_DIR: z.string().min(1).default('.data/uploads'),
});

export interface StoreDirs {
  outputDir: string;
  uploadDir: string;
}

export function storeDirsFromEnv(env: z.output<typeof storeEnvSchema>): StoreDirs {
  return { outputDir: path.resolve(env.OUTPUT_DIR), uploadDir: path.resolve(env.UPLOAD_DIR) };
}
