// `npm start`: the whole system in the foreground under our supervisord, with supervisor/supervisord.dev.conf.
//
//   1. `npm install` when node_modules is missing (a fresh clone), then build dist/.
//   2. Decide which embedded parts to run: DATABASE_URL given → no embedded PostgreSQL;
//      RUNNINGHUB_API_KEY given → the real RunningHub (RUNNINGHUB_BASE_URL), no simulator.
//   3. Run supervisord in the foreground; Ctrl-C (SIGINT) or SIGTERM stops every program in priority order
//      (PostgreSQL last) and this script exits with supervisord's exit code.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// A terminal pipeline (`npm start | tee log`) loses its reader on Ctrl-C: a closed stdout must not end this
// script before supervisord has stopped every program.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const config = path.join(root, 'supervisor', 'supervisord.dev.conf');

/** Fail with one clear line, the way an operator reads it. */
function fail(message) {
  console.error(`npm start: ${message}`);
  process.exit(1);
}

function run(command, args, what) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.error) fail(`${what} could not run: ${result.error.message}`);
  if (result.status !== 0) fail(`${what} failed (exit ${result.status ?? result.signal})`);
}

function port(name, fallback) {
  const text = process.env[name] || String(fallback);
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > 65_535) fail(`${name} must be a TCP port (1-65535), got ${JSON.stringify(text)}`);
  return value;
}

if (!existsSync(path.join(root, 'node_modules'))) {
  console.log('npm start: node_modules is missing, running `npm install` first');
  run('npm', ['install', '--no-audit', '--no-fund'], '`npm install`');
}
if (process.env.STORYBOARD_SKIP_BUILD !== '1') run(process.execPath, ['scripts/build.mjs'], 'the build (`npm run build`)');
for (const program of ['supervisord', 'api', 'task-processor', 'runninghub-simulator', 'database']) {
  if (!existsSync(path.join(root, 'dist', `${program}.js`))) fail(`dist/${program}.js was not built (is src/ complete?)`);
}

mkdirSync(path.join(root, 'logs'), { recursive: true });
// PostgreSQL runs as the "postgres" user when we are root: its data folder's parent must let it through.
mkdirSync(path.join(root, '.data'), { recursive: true, mode: 0o755 });

const env = { ...process.env };
const apiPort = port('PORT', 8000);
env.PORT = String(apiPort);
// A development run stays on this machine unless HOST says otherwise (the api's own default is 0.0.0.0).
env.HOST = process.env.HOST || '127.0.0.1';

const externalDatabase = Boolean(process.env.DATABASE_URL);
if (externalDatabase) {
  env.STORYBOARD_DATABASE_AUTOSTART = 'false';
} else {
  const databasePort = port('EMBEDDED_DATABASE_PORT', 5433);
  env.EMBEDDED_DATABASE_PORT = String(databasePort);
  env.DATABASE_URL = `postgresql://postgres:postgres@127.0.0.1:${databasePort}/postgres`;
  env.STORYBOARD_DATABASE_AUTOSTART = 'true';
}

const realRunningHub = Boolean(process.env.RUNNINGHUB_API_KEY);
if (realRunningHub) {
  env.STORYBOARD_SIMULATOR_AUTOSTART = 'false';
  // A real key means the real service, unless the caller points elsewhere (the client's own default is
  // the local simulator, which is not started in this case).
  env.RUNNINGHUB_BASE_URL = process.env.RUNNINGHUB_BASE_URL || 'https://www.runninghub.cn';
} else {
  const simulatorPort = port('SIMULATOR_PORT', 8090);
  env.SIMULATOR_PORT = String(simulatorPort);
  env.RUNNINGHUB_BASE_URL = `http://127.0.0.1:${simulatorPort}`;
  // The simulator accepts any key; the client only insists that one is set.
  env.RUNNINGHUB_API_KEY = 'simulator';
  env.STORYBOARD_SIMULATOR_AUTOSTART = 'true';
  // Results come back by webhook, as in production (the poll stays the fallback): the simulator can reach
  // the api on this machine. The secret is made per run; the api and the processor both get it.
  env.RUNNINGHUB_WEBHOOK_URL = process.env.RUNNINGHUB_WEBHOOK_URL || `http://127.0.0.1:${apiPort}/api/runninghub/webhook`;
  env.RUNNINGHUB_WEBHOOK_SECRET = process.env.RUNNINGHUB_WEBHOOK_SECRET || randomBytes(16).toString('hex');
}

console.log(
  `npm start: api on http://${env.HOST}:${apiPort}, database ${externalDatabase ? 'from DATABASE_URL' : `embedded on port ${env.EMBEDDED_DATABASE_PORT}`}, ` +
    `RunningHub ${realRunningHub ? `at ${env.RUNNINGHUB_BASE_URL ?? '(client default)'}` : `simulator on port ${env.SIMULATOR_PORT}`}; ` +
    'logs in logs/, `npm run ctl -- status` to look, Ctrl-C to stop',
);

// Its own process group: a terminal's Ctrl-C reaches this script (and npm) only, and supervisord gets exactly
// one signal from us, so it stops the programs once, in order.
// The V8 flags of bin/supervisord.js (lite mode, small young generation): supervisord mostly waits.
const supervisord = spawn(process.execPath, ['--lite-mode', '--max-semi-space-size=1', 'dist/supervisord.js', '-n', '-c', config], {
  cwd: root,
  env,
  stdio: 'inherit',
  detached: true,
});

let forwarded;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    // npm forwards the terminal's SIGINT too: pass on the first one only.
    if (forwarded) return;
    forwarded = signal;
    const stopSignal = signal === 'SIGHUP' ? 'SIGTERM' : signal;
    console.log(`npm start: ${signal}, stopping every program (PostgreSQL last)...`);
    try {
      supervisord.kill(stopSignal);
    } catch {
      // Already gone: the exit handler below ends this script.
    }
  });
}

supervisord.on('error', (error) => fail(`supervisord could not start: ${error.message}`));
supervisord.on('exit', (code, signal) => {
  if (signal) {
    console.error(`npm start: supervisord ended by ${signal}`);
    process.exit(1);
  }
  process.exit(code ?? 1);
});
