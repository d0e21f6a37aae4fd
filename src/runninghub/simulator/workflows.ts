// Workflows the strict simulator knows, from a folder of API-format JSON files named `<workflowId>.json`
// (what RunningHub's getJsonApiFormat returns: `{"<nodeId>": {"class_type", "inputs": {…}}}`). A node's
// overridable fields are its inputs that are values, not links (`["4", 0]`); its outputs are its
// SaveImage / PreviewImage nodes. The project ships the storyboard workflow `npm start` uses.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { SimulatorTargetSpec } from './options.js';

/** src/runninghub/simulator/workflows in the sources; dist/workflows next to the bundle (scripts/build.mjs). */
export const SHIPPED_WORKFLOWS_DIR = fileURLToPath(new URL('./workflows/', import.meta.url));

const apiFormatSchema = z.record(
  z.string().regex(/^\d+$/, 'node ids are decimal strings'),
  z.looseObject({ class_type: z.string().min(1), inputs: z.record(z.string(), z.unknown()) }),
);

export interface FolderWorkflow {
  spec: SimulatorTargetSpec;
  /** The file's JSON text as getJsonApiFormat returns it (`data.prompt`). */
  apiFormat: string;
}

const OUTPUT_CLASSES = new Set(['SaveImage', 'PreviewImage']);

function isLink(value: unknown): boolean {
  return Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'number';
}

export function workflowFromApiFormat(text: string, source: string): FolderWorkflow {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`${source}: not JSON: ${(error as Error).message}`, { cause: error });
  }
  const parsed = apiFormatSchema.safeParse(json);
  if (!parsed.success) throw new Error(`${source}: not an API-format workflow: ${z.prettifyError(parsed.error)}`);
  const nodes: Record<string, string[]> = {};
  const outputs: { nodeId: string; fileType: string; count: number }[] = [];
  for (const [nodeId, node] of Object.entries(parsed.data)) {
    nodes[nodeId] = Object.entries(node.inputs)
      .filter(([, value]) => !isLink(value))
      .map(([field]) => field);
    if (OUTPUT_CLASSES.has(node.class_type)) outputs.push({ nodeId, fileType: 'png', count: 1 });
  }
  return { spec: { nodes, ...(outputs.length > 0 ? { outputs } : {}) }, apiFormat: JSON.stringify(parsed.data) };
}

/** Every `<id>.json` of the folder; a file that is not a workflow stops the simulator with its name. */
export async function loadWorkflowFolder(dir: string): Promise<Map<string, FolderWorkflow>> {
  const workflows = new Map<string, FolderWorkflow>();
  for (const file of (await readdir(dir)).sort()) {
    const match = /^(\d+)\.json$/.exec(file);
    if (!match?.[1]) continue;
    const full = path.join(dir, file);
    workflows.set(match[1], workflowFromApiFormat(await readFile(full, 'utf8'), full));
  }
  return workflows;
}

/** getJsonApiFormat for a workflow configured by options only: its nodes with empty string inputs. */
export function apiFormatOfSpec(spec: SimulatorTargetSpec): string {
  const prompt: Record<string, { class_type: string; inputs: Record<string, string> }> = {};
  for (const [nodeId, fields] of Object.entries(spec.nodes)) {
    prompt[nodeId] = { class_type: 'Unknown', inputs: Object.fromEntries(fields.map((f) => [f, ''])) };
  }
  return JSON.stringify(prompt);
}
