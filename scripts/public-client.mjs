#!/usr/bin/env node
// Runs a public RunningHub client against our strict simulator (README "Public RunningHub clients").
// It fetches nothing: you bring the client directory, with an executable `run` in it (the driver that calls
// the client's functions), and it runs there with these variables pointing it at a fresh simulator:
//   RUNNINGHUB_BASE_URL  http://127.0.0.1:<port>   (the only thing a client should need changed)
//   RUNNINGHUB_DOMAIN    127.0.0.1:<port>          (for clients that build the URL from a host name)
//   RUNNINGHUB_API_KEY   a 32-character key the simulator accepts
//   WORKFLOW_ID          the shipped storyboard workflow (prompt 6 text, seed 3 seed, LoadImage 10 image)
//   WEBAPP_ID            an AI app with the docs' id (122 prompt, 39 image)
// Usage: npm run build && node scripts/public-client.mjs <client-dir>
// Exit status: the client's; 2 when the directory has no executable `run` or the simulator does not start.
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const KEY = '0123456789abcdef0123456789abcdef';
const WORKFLOW_ID = '1904136902449209346';
const WEBAPP_ID = '1877265245566922753';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node scripts/public-client.mjs <client-dir>   (the directory holds an executable `run`)');
  process.exit(2);
}
const run = path.resolve(dir, 'run');
try {
  accessSync(run, constants.X_OK);
} catch {
  console.error(`public-client: ${run} is missing or not executable; write the driver that calls the client there`);
  process.exit(2);
}

const simulator = spawn(process.execPath, [path.join(ROOT, 'dist', 'runninghub-simulator.js')], {
  env: {
    ...process.env,
    SIMULATOR_PORT: '0',
    SIMULATOR_STRICT: 'true',
    SIMULATOR_API_KEYS: KEY,
    SIMULATOR_QUEUED: '300ms-500ms',
    SIMULATOR_RUNNING: '800ms-1200ms',
    SIMULATOR_CONFIG_JSON: JSON.stringify({
      webapps: { [WEBAPP_ID]: { nodes: { 122: ['prompt'], 39: ['image'] } } },
      requireUploadedImages: true,
      webhook: { maxRetries: 1, timeoutMs: 2000, backoffMs: [500] },
    }),
    LOG_LEVEL: 'info',
  },
  stdio: ['ignore', 'pipe', 'inherit'],
});

/** The simulator's URL, from its `simulator.listening` log line. */
const url = await new Promise((resolve) => {
  let buffered = '';
  simulator.stdout.on('data', (chunk) => {
    const lines = (buffered + chunk.toString()).split('\n');
    buffered = lines.pop() ?? ''; // an unfinished line waits for the rest
    for (const line of lines) {
      try {
        const entry = JSON.parse(line);
        if (entry.event === 'simulator.listening') resolve(entry.url);
      } catch {
        // a line that is not JSON
      }
    }
  });
  simulator.once('exit', () => resolve(null));
});
if (!url) {
  console.error('public-client: the simulator did not start (did `npm run build` run?)');
  process.exit(2);
}
console.error(`public-client: simulator at ${url}, running ${run}`);

const client = spawn(run, [], {
  cwd: path.resolve(dir),
  stdio: 'inherit',
  env: { ...process.env, RUNNINGHUB_BASE_URL: url, RUNNINGHUB_DOMAIN: new URL(url).host, RUNNINGHUB_API_KEY: KEY, WORKFLOW_ID, WEBAPP_ID },
});
const stopBoth = () => client.kill('SIGTERM');
process.on('SIGINT', stopBoth);
process.on('SIGTERM', stopBoth);
const status = await new Promise((resolve) => client.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));

simulator.kill('SIGTERM');
await new Promise((resolve) => (simulator.exitCode !== null ? resolve() : simulator.once('exit', resolve)));
process.exit(status);
