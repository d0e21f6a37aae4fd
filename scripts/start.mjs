// `npm start`: the whole system in the foreground under our supervisord, with supervisor/supervisord.dev.conf.
// `npm run db` (`--db`): only the embedded PostgreSQL and the RunningHub simulator, for a container or an api
// run by hand; closing its terminal does not stop it (`npm run ctl -- shutdown` does).
//
//   0. Refuse to start when this checkout's supervisord already runs (before anything is rebuilt under it).
//   1. `npm install` when node_modules is missing (a fresh clone), then build dist/.
//   2. Decide which embedded parts to run: DATABASE_URL given → no embedded PostgreSQL;
//      RUNNINGHUB_API_KEY given → the real RunningHub (RUNNINGHUB_BASE_URL), no simulator.
//   3. Run supervisord in the foreground; Ctrl-C (SIGINT) or SIGTERM stops every program in priority order
//      (PostgreSQL last) and this script exits with supervisord's exit code.
//   4. Say when the system is ready (the api's /readyz answers 200), with the URLs to open; when a program
//      exits unexpectedly, show the end of its stderr log (the cause), not only supervisord's `exited:` line.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

// A terminal pipeline (`npm start | tee log`) loses its reader on Ctrl-C: a closed stdout must not end this
// script before supervisord has stopped every program.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const config = path.join(root, 'supervisor', 'supervisord.dev.conf');
const onlyEmbedded = process.argv.includes('--db');
const me = onlyEmbedded ? 'npm run db' : 'npm start';

/** Fail with one clear line, the way an operator reads it. */
function fail(message) {
  console.error(`${me}: ${message}`);
  process.exit(1);
}

/** Whether something accepts connections at a unix socket path or a TCP port of 127.0.0.1. */
function accepts(target) {
  return new Promise((resolve) => {
    const socket = connect(target);
    socket.setTimeout(2_000, () => socket.destroy());
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('close', () => resolve(false));
  });
}

// A second start would rebuild dist/ under the running programs and then fail on the taken socket.
if (await accepts({ path: path.join(root, '.data', 'supervisor.sock') })) {
  let pid = '';
  try {
    pid = ` (supervisord pid ${readFileSync(path.join(root, '.data', 'supervisord.pid'), 'utf8').trim()})`;
  } catch {
    // No pid file: the socket alone says it runs.
  }
  fail(`already running in this checkout${pid}: \`npm run ctl -- status\` to look; Ctrl-C in its terminal or \`npm run ctl -- shutdown\` to stop it`);
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
  console.log(`${me}: node_modules is missing, running \`npm install\` first`);
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

// `npm run db` is the embedded parts, whatever the environment says.
const externalDatabase = !onlyEmbedded && Boolean(process.env.DATABASE_URL);
env.STORYBOARD_APP_AUTOSTART = onlyEmbedded ? 'false' : 'true';
if (externalDatabase) {
  env.STORYBOARD_DATABASE_AUTOSTART = 'false';
} else {
  const databasePort = port('EMBEDDED_DATABASE_PORT', 5433);
  env.EMBEDDED_DATABASE_PORT = String(databasePort);
  env.DATABASE_URL = `postgresql://postgres:postgres@127.0.0.1:${databasePort}/postgres`;
  env.STORYBOARD_DATABASE_AUTOSTART = 'true';
}

const realRunningHub = !onlyEmbedded && Boolean(process.env.RUNNINGHUB_API_KEY);
if (realRunningHub) {
  env.STORYBOARD_SIMULATOR_AUTOSTART = 'false';
  // A real key means the real service, unless the caller points elsewhere (the client's own default is
  // the local simulator, which is not started in this case).
  env.RUNNINGHUB_BASE_URL = process.env.RUNNINGHUB_BASE_URL || 'https://www.runninghub.cn';
} else {
  const simulatorPort = port('SIMULATOR_PORT', 8090);
  env.SIMULATOR_PORT = String(simulatorPort);
  env.RUNNINGHUB_BASE_URL = `http://127.0.0.1:${simulatorPort}`;
  // The key the strict simulator accepts by default (SIMULATOR_API_KEYS).
  env.RUNNINGHUB_API_KEY = 'simulator';
  env.STORYBOARD_SIMULATOR_AUTOSTART = 'true';
  // Results come back by webhook, as in production (the poll stays the fallback): the simulator can reach
  // the api on this machine. The secret is made per run; the api and the processor both get it.
  env.RUNNINGHUB_WEBHOOK_URL = process.env.RUNNINGHUB_WEBHOOK_URL || `http://127.0.0.1:${apiPort}/api/runninghub/webhook`;
  env.RUNNINGHUB_WEBHOOK_SECRET = process.env.RUNNINGHUB_WEBHOOK_SECRET || randomBytes(16).toString('hex');
}

if (onlyEmbedded) {
  console.log(`npm run db: PostgreSQL on port ${env.EMBEDDED_DATABASE_PORT} and the RunningHub simulator on port ${env.SIMULATOR_PORT}; logs in logs/`);
} else console.log(
  `npm start: api on http://${env.HOST}:${apiPort}, database ${externalDatabase ? 'from DATABASE_URL' : `embedded on port ${env.EMBEDDED_DATABASE_PORT}`}, ` +
    `RunningHub ${realRunningHub ? `at ${env.RUNNINGHUB_BASE_URL ?? '(client default)'}` : `simulator on port ${env.SIMULATOR_PORT}`}; ` +
    'logs in logs/, `npm run ctl -- status` to look, Ctrl-C to stop',
);

// Its own process group: a terminal's Ctrl-C reaches this script (and npm) only, and supervisord gets exactly
// one signal from us, so it stops the programs once, in order.
// The V8 flags of bin/supervisord.js (lite mode, small young generation): supervisord mostly waits.
const logOffsets = new Map();
for (const program of ['database', 'runninghub-simulator', 'api', 'task-processor']) {
  for (const stream of ['err', 'out']) {
    const file = path.join(root, 'logs', `${program}.${stream}.log`);
    try {
      logOffsets.set(file, statSync(file).size);
    } catch {
      // Not written yet.
    }
  }
}

// Its output passes through this script, which reads supervisord's log lines as they go by.
const supervisord = spawn(process.execPath, ['--lite-mode', '--no-expose-wasm', '--max-semi-space-size=1', 'dist/supervisord.js', '-n', '-c', config], {
  cwd: root,
  env,
  stdio: ['ignore', 'pipe', 'inherit'],
  detached: true,
});

let forwarded;
let ended = false;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    // `npm run db` serves programs started by hand or in a container: the shell that launched it may go.
    if (signal === 'SIGHUP' && onlyEmbedded) {
      console.log('npm run db: SIGHUP ignored (the terminal closed?): still running; `npm run ctl -- shutdown` stops it');
      return;
    }
    // npm forwards the terminal's SIGINT too: pass on the first one only.
    if (forwarded) return;
    forwarded = signal;
    const stopSignal = signal === 'SIGHUP' ? 'SIGTERM' : signal;
    console.log(`${me}: ${signal}, stopping every program (PostgreSQL last)...`);
    try {
      supervisord.kill(stopSignal);
    } catch {
      // Already gone: the exit handler below ends this script.
    }
  });
}

/**
 * The last lines a program wrote to its stderr log (else its stdout log) since its previous exit, or since this
 * run began: what it said before it exited. Earlier runs' lines are not this run's cause.
 */
function newLogLines(program, lines = 12) {
  for (const stream of ['err', 'out']) {
    const file = path.join(root, 'logs', `${program}.${stream}.log`);
    try {
      const whole = readFileSync(file);
      // After a rotation the file is new: read it from its start.
      const from = (logOffsets.get(file) ?? 0) <= whole.length ? (logOffsets.get(file) ?? 0) : 0;
      logOffsets.set(file, whole.length);
      const text = whole.subarray(from).toString('utf8').slice(-8_192);
      const tail = text.split('\n').filter((line) => line.trim() !== '').slice(-lines);
      if (tail.length > 0) return { file: `logs/${program}.${stream}.log`, tail };
    } catch {
      // No log yet.
    }
  }
  return undefined;
}

const shownCauses = new Map();
/** Prints why a program exited; a retry that fails the same way does not print it again. */
function showCause(program) {
  const found = newLogLines(program);
  if (!found || shownCauses.get(program) === found.tail.join('\n')) return;
  shownCauses.set(program, found.tail.join('\n'));
  console.log(`${me}: ${program} exited; the end of ${found.file}:\n${found.tail.map((line) => `    ${line}`).join('\n')}`);
}

const started = new Set();
createInterface({ input: supervisord.stdout }).on('line', (line) => {
  process.stdout.write(`${line}\n`);
  const exited = / (?:exited|gave up): (\S+) .*(?:not expected|FATAL state)/.exec(line);
  if (exited) showCause(exited[1]);
  const running = / success: (\S+) entered RUNNING state/.exec(line);
  if (running) started.add(running[1]);
});

const displayHost = env.HOST === '0.0.0.0' || env.HOST === '::' ? '127.0.0.1' : env.HOST.includes(':') ? `[${env.HOST}]` : env.HOST;
const apiBase = `http://${displayHost}:${apiPort}`;

/** GET a URL: its status and content type, or undefined when nothing answers. */
async function probe(url) {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return { status: response.status, type: response.headers.get('content-type') ?? '' };
  } catch {
    return undefined;
  }
}

/** Polls until the system answers, then prints the one line that says where to go. */
async function announceReady() {
  const stillStarting = () => !forwarded && !ended;
  if (onlyEmbedded) {
    const ports = [Number(env.EMBEDDED_DATABASE_PORT), Number(env.SIMULATOR_PORT)];
    while (stillStarting()) {
      if (started.has('database') && started.has('runninghub-simulator')) {
        const answers = await Promise.all(ports.map((p) => accepts({ host: '127.0.0.1', port: p })));
        if (answers.every(Boolean)) break;
      }
      await sleep(250, undefined, { ref: false });
    }
    if (!stillStarting()) return;
    console.log(
      `npm run db: ready: PostgreSQL ${env.DATABASE_URL}, RunningHub simulator http://127.0.0.1:${env.SIMULATOR_PORT}; ` +
        'Ctrl-C or `npm run ctl -- shutdown` to stop',
    );
    return;
  }
  while (stillStarting()) {
    if ((await probe(`${apiBase}/readyz`))?.status === 200) break;
    await sleep(250, undefined, { ref: false });
  }
  if (!stillStarting()) return;
  // The dashboard, when this version has one, is an HTML page at /.
  const home = await probe(`${apiBase}/`);
  const dashboard = home?.status === 200 && home.type.startsWith('text/html') ? `, dashboard ${apiBase}/` : '';
  console.log(`npm start: ready: API ${apiBase}/api/tasks, docs ${apiBase}/docs${dashboard}; Ctrl-C to stop`);
}
void announceReady();

supervisord.on('error', (error) => fail(`supervisord could not start: ${error.message}`));
// 'close': supervisord has exited and its last log lines have passed through.
supervisord.on('close', (code, signal) => {
  ended = true;
  if (signal) {
    console.error(`${me}: supervisord ended by ${signal}`);
    process.exit(1);
  }
  process.exit(code ?? 1);
});
