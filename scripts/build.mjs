// Bundles each program into one file under dist/ with esbuild (tsc only type-checks: `npm run typecheck`).
// Bundling keeps start-up fast: `supervisorctl status` loads one file, not a module graph.
import { build } from 'esbuild';
import { cp, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { existsSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';

/** Program entry points: source → dist/<name>.js. */
const programs = {
  supervisord: 'src/supervisor/supervisord-main.ts',
  supervisorctl: 'src/supervisor/supervisorctl-main.ts',
  api: 'src/api/main.ts',
  'task-processor': 'src/processor/main.ts',
  'runninghub-simulator': 'src/runninghub/simulator/main.ts',
  database: 'src/db/database-main.ts',
  // supervisord event listeners (src/listeners/): run by [eventlistener:x] sections, no Python needed.
  'log-forwarder': 'src/listeners/log-forwarder-main.ts',
  'memory-monitor': 'src/listeners/memory-monitor-main.ts',
  'crash-notice': 'src/listeners/crash-notice-main.ts',
  storyboard: 'src/ops/main.ts',
};

// No `rm -rf dist` first: a test run may be executing dist/ files while another build runs.
const entryPoints = Object.entries(programs)
  .filter(([name, source]) => name !== 'supervisorctl' && name !== 'supervisord' && existsSync(source))
  .map(([out, source]) => ({ in: source, out }));

await build({
  entryPoints,
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: true,
  // Dependencies stay in node_modules (native parts, pino's worker threads), except for
  // supervisorctl below, which must start without resolving a module graph.
  packages: 'external',
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  logLevel: 'warning',
});

// supervisord: every dependency inlined and tree-shaken (zod/mini, the XML parser), minified, ASCII only
// (a source with one non-Latin-1 character is held as two bytes a character), split so that what answers
// requests (XML-RPC methods, codec, console: rpc/control-servers.ts imports them dynamically) is a chunk
// loaded on the first request. An idle supervisord holds only what supervising needs (npm run bench:supervisor).
// Its chunks are named by their content: the previous build's are removed, or dist/ collects them.
await mkdir('dist', { recursive: true });
for (const name of await readdir('dist')) if (name.startsWith('supervisord-')) await rm(`dist/${name}`, { force: true });
await build({
  entryPoints: [{ in: programs.supervisord, out: 'supervisord' }],
  outdir: 'dist',
  bundle: true,
  splitting: true,
  chunkNames: 'supervisord-[name]-[hash]',
  platform: 'node',
  target: 'node20',
  format: 'esm',
  minify: true,
  charset: 'ascii',
  legalComments: 'none',
  sourcemap: true,
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  logLevel: 'warning',
});

if (existsSync(programs.supervisorctl)) {
  // CommonJS, minified, every dependency inlined: Node 20 starts a CommonJS file measurably faster than an
  // ES module (no ESM loader), and supervisorctl is typed by people and run by probes (npm run bench:ctl).
  // dist/supervisorctl.cjs is a small loader that runs the bundle through V8's code cache.
  const commonjs = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', minify: true, logLevel: 'warning' };
  await build({ ...commonjs, entryPoints: [programs.supervisorctl], outfile: 'dist/supervisorctl-bundle.cjs' });
  await build({ ...commonjs, entryPoints: ['src/supervisor/supervisorctl-loader.ts'], outfile: 'dist/supervisorctl.cjs' });
  // One run writes the code cache (a stale one from an earlier build must not stay): `status` against a
  // supervisord of this build, so that what an operator runs (config reading, the socket, the XML-RPC
  // codec, the table) is in it, not only what `help` compiles (npm run bench:ctl: ~2 ms).
  await rm('dist/supervisorctl-bundle.cjs.cache', { force: true });
  await writeCtlCodeCache();
}

/** Runs `supervisorctl status` once against a throwaway supervisord; falls back to `help` if that cannot run. */
async function writeCtlCodeCache() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'build-ctl-cache-'));
  const config = path.join(dir, 'supervisord.conf');
  await writeFile(
    config,
    `[unix_http_server]\nfile=${dir}/sock\n[supervisord]\nlogfile=${dir}/supervisord.log\npidfile=${dir}/supervisord.pid\n` +
      `childlogdir=${dir}\nsilent=true\n[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n` +
      `[supervisorctl]\nserverurl=unix://${dir}/sock\n[program:cache]\ncommand=sleep 600\nstartsecs=0\n`,
  );
  const daemon = spawn(process.execPath, ['dist/supervisord.js', '-n', '-c', config], { stdio: 'ignore' });
  const exited = new Promise((resolve) => daemon.once('exit', resolve));
  try {
    const deadline = Date.now() + 10_000;
    while (!existsSync(path.join(dir, 'sock')) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    execFileSync(process.execPath, ['dist/supervisorctl.cjs', '-c', config, 'status'], { stdio: 'ignore', timeout: 10_000 });
  } catch {
    // status exits 3 when a program is not RUNNING yet: the cache is written all the same. Anything else
    // (no socket: supervisord could not start here) still leaves a cache from `help`.
    if (!existsSync('dist/supervisorctl-bundle.cjs.cache')) execFileSync(process.execPath, ['dist/supervisorctl.cjs', 'help'], { stdio: 'ignore' });
  } finally {
    daemon.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  }
}

// The dashboard's script and styles (served by the api at /ui): one bundle each for the browser, minified,
// gzipped once here so that the api sends the .gz as it is (src/api/routes/dashboard.ts).
const dashboard = await build({
  entryPoints: { app: 'src/api/dashboard/client/main.ts' },
  outdir: 'dist/ui',
  bundle: true,
  platform: 'browser',
  // ES modules so that uPlot is a chunk of its own, loaded by the Queue page only.
  format: 'esm',
  splitting: true,
  chunkNames: 'chunk-[hash]',
  target: ['chrome110', 'firefox110', 'safari16'],
  minify: true,
  write: false,
  logLevel: 'warning',
});
// Replaced whole: the chunks' names change with their content.
await rm('dist/ui', { recursive: true, force: true });
await mkdir('dist/ui', { recursive: true });
for (const file of dashboard.outputFiles) {
  await writeFile(file.path, file.contents);
  await writeFile(`${file.path}.gz`, gzipSync(file.contents, { level: 9 }));
}

// Replaced whole, so a renamed or removed migration does not linger in dist/.
await rm('dist/migrations', { recursive: true, force: true });
await cp('src/db/migrations', 'dist/migrations', { recursive: true });
// The simulator's shipped workflows (API-format JSON), found next to its bundle.
await rm('dist/workflows', { recursive: true, force: true });
await cp('src/runninghub/simulator/workflows', 'dist/workflows', { recursive: true });
if (!process.env.BUILD_QUIET) console.log(`built supervisord, ${entryPoints.map((e) => e.out).join(', ')}, supervisorctl into dist/`);
