// What the public-client contract tests share: a strict simulator as the clients meet it (one 32-character
// key, the shipped storyboard workflow, one AI app, uploaded images required, a manual clock so a test
// holds a task QUEUED or RUNNING as long as it likes), raw HTTP exactly as a client sends it, and a
// webhook receiver. No third-party code: each test file writes down the requests one client sends and the
// reply fields it reads (README: "Public RunningHub clients").
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { startSimulator, type RunningSimulator } from '../../../src/runninghub/simulator/index.js';

export const KEY = '0123456789abcdef0123456789abcdef';
export const WORKFLOW_ID = '1904136902449209346';
/** The docs' AI app id: 19 digits, beyond a JS number's exact range (clients send it as an int or a string). */
export const WEBAPP_ID = '1877265245566922753';
/** The simulator's manual clock: QUEUED for QUEUED_MS, then RUNNING for RUNNING_MS. */
export const QUEUED_MS = 1_000;
export const RUNNING_MS = 1_000;

export function startClientSimulator(): Promise<RunningSimulator> {
  return startSimulator({
    keys: { [KEY]: {} },
    webapps: { [WEBAPP_ID]: { nodes: { '122': ['prompt'], '39': ['image'] } } },
    requireUploadedImages: true,
    manualClock: true,
    queuedMs: [QUEUED_MS, QUEUED_MS],
    runningMs: [RUNNING_MS, RUNNING_MS],
    webhook: { maxRetries: 1, timeoutMs: 2_000, backoffMs: [50] },
  });
}

export interface RawReply {
  status: number;
  /** The parsed JSON body (JSON.parse: 19-digit ids stay strings only where the reply sends strings). */
  json: unknown;
  text: string;
}

/** One request exactly as given: method, path (with query), headers and body text or multipart form. */
export async function send(sim: RunningSimulator, method: string, path: string, init: { headers?: Record<string, string>; body?: string | FormData } = {}): Promise<RawReply> {
  const response = await fetch(`${sim.url}${path}`, { method, headers: init.headers ?? {}, body: init.body ?? null });
  const text = await response.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    // Not JSON: the test's schema parse names it.
  }
  return { status: response.status, json, text };
}

/** A 1×1 PNG a client would upload. */
export const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c63f8cfc0f01f0005000001ff89993d1d0000000049454e44ae426082',
  'hex',
);

export function pngForm(fields: Record<string, string>): FormData {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  form.append('file', new Blob([PNG], { type: 'image/png' }), 'ref.png');
  return form;
}

export interface Receiver {
  url: string;
  bodies: string[];
  close(): Promise<void>;
}

/** A webhook receiver answering 200 `{"ok":true}` (as the Go SDK's example does). */
export async function startReceiver(): Promise<Receiver> {
  const bodies: string[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString());
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhook`,
    bodies,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

// Go's encoding/json, as a schema: what decodes into a Go field of that type without an error
// (null leaves a string or int at its zero value; a number never decodes into a string, nor a string into an int).
export const goString = z.string().nullable().optional();
export const goInt = z.number().int().nullable().optional();
export const goBool = z.boolean().nullable().optional();
export const goDigits = z.string().regex(/^\d{19}$/);
