// dist/database.js, the embedded PostgreSQL as a supervised program: a real server in a temp folder,
// stopped by the signals supervisord and a terminal send.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { findFreePort } from '../../src/db/index.js';
import { distProgram } from '../support/programs.js';
import { waitFor } from '../support/wait.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'storyboard-database-main-'));
// PostgreSQL runs as the "postgres" user when the tests run as root.
chmodSync(root, 0o755);
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Started {
  child: ChildProcess;
  output: () => string;
  url: string;
  dataDir: string;
}

const running = new Set<ChildProcess>();
afterEach(async () => {
  for (const child of running) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  }
  running.clear();
});

async function startDatabase(dataDir: string, port: number): Promise<Started> {
  const child = spawn(process.execPath, [distProgram('database')], {
    env: { ...process.env, EMBEDDED_DATABASE_PORT: String(port), EMBEDDED_DATABASE_DIR: dataDir, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let text = '';
  child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
  await waitFor('the database program to report PostgreSQL accepting connections', () => {
    if (child.exitCode !== null) throw new Error(`database.js exited ${child.exitCode}:\n${text}`);
    return text.includes('PostgreSQL accepting connections');
  }, { timeoutMs: 60_000 });
  return { child, output: () => text, url: `postgresql://postgres:postgres@127.0.0.1:${port}/postgres`, dataDir };
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

function postmasterPid(dataDir: string): number {
  return Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
}

/** Running, not a zombie waiting for a parent that is gone to reap it. */
const isAlive = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
};

describe('dist/database.js', () => {
  it('serves a migrated database and stops PostgreSQL cleanly on SIGTERM, exiting 0', async () => {
    const dataDir = path.join(root, 'term');
    const port = await findFreePort();
    const db = await startDatabase(dataDir, port);
    const versions = await query<{ version: number }>(db.url, 'SELECT version FROM schema_migrations ORDER BY version');
    expect(versions.map((r) => r.version)).toContain(1);
    await query(db.url, 'SELECT id, status FROM ai_tasks LIMIT 1');
    const postgresPid = postmasterPid(dataDir);
    expect(isAlive(postgresPid)).toBe(true);

    db.child.kill('SIGTERM');
    const [code, signal] = (await once(db.child, 'exit')) as [number | null, NodeJS.Signals | null];
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(isAlive(postgresPid)).toBe(false);
    // A clean shutdown removes the lock file.
    expect(existsSync(path.join(dataDir, 'postmaster.pid'))).toBe(false);
    expect(db.output()).toContain('PostgreSQL stopped');
  });

  it('keeps its data between runs and stops the same way on SIGINT (Ctrl-C)', async () => {
    const dataDir = path.join(root, 'int');
    const port = await findFreePort();
    const first = await startDatabase(dataDir, port);
    await query(first.url, 'CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)');
    first.child.kill('SIGINT');
    expect((await once(first.child, 'exit'))[0]).toBe(0);

    const second = await startDatabase(dataDir, port);
    expect(await query<{ n: number }>(second.url, 'SELECT n FROM kept')).toEqual([{ n: 42 }]);
    second.child.kill('SIGINT');
    expect((await once(second.child, 'exit'))[0]).toBe(0);
  });

  it('takes over from a PostgreSQL left behind when the program was killed with SIGKILL', async () => {
    const dataDir = path.join(root, 'kill');
    const port = await findFreePort();
    const first = await startDatabase(dataDir, port);
    const orphan = postmasterPid(dataDir);
    first.child.kill('SIGKILL');
    await once(first.child, 'exit');
    // SIGKILL gives no chance to stop the server: it outlives the program, as after supervisord's kill -9.
    expect(isAlive(orphan)).toBe(true);

    const second = await startDatabase(dataDir, port);
    expect(isAlive(orphan)).toBe(false);
    expect(await query<{ one: number }>(second.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    second.child.kill('SIGTERM');
    expect((await once(second.child, 'exit'))[0]).toBe(0);
  });

  it('exits 1, saying why, when PostgreSQL dies behind its back (supervisord then starts it again), and starts again on the same data', async () => {
    const dataDir = path.join(root, 'postmaster-killed');
    const port = await findFreePort();
    const db = await startDatabase(dataDir, port);
    await query(db.url, 'CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)');
    // It stayed RUNNING over a system with no database: supervisord had nothing to restart.
    process.kill(postmasterPid(dataDir), 'SIGKILL');
    const [code] = (await once(db.child, 'exit')) as [number | null];
    expect(code).toBe(1);
    expect(db.output()).toContain('PostgreSQL exited by itself; exiting so that supervisord starts it again');
    // What supervisord's restart does: the same program on the same folder, again while it exits early (a
    // backend of the killed server may still hold its shared memory for a moment), as startretries allows.
    let again: Started | undefined;
    for (let attempt = 1; again === undefined; attempt++) {
      again = await startDatabase(dataDir, port).catch((error: unknown) => {
        if (attempt >= 5) throw error;
        return undefined;
      });
    }
    expect(await query<{ n: number }>(again.url, 'SELECT n FROM kept')).toEqual([{ n: 7 }]);
  });

  it('stops PostgreSQL by itself when its parent (supervisord) dies without stopping it', async () => {
    const dataDir = path.join(root, 'orphan');
    const port = await findFreePort();
    // A stand-in parent that is killed with SIGKILL, as a crashed supervisord would be.
    const parent = spawn('sh', ['-c', `"${process.execPath}" "${distProgram('database')}" & echo "pid $!"; wait`], {
      env: { ...process.env, EMBEDDED_DATABASE_PORT: String(port), EMBEDDED_DATABASE_DIR: dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(parent);
    let text = '';
    parent.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    parent.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
    await waitFor('PostgreSQL accepting connections', () => text.includes('PostgreSQL accepting connections'), { timeoutMs: 60_000 });
    const program = Number(/^pid (\d+)$/m.exec(text)![1]);
    const postgres = postmasterPid(dataDir);
    parent.kill('SIGKILL');
    await once(parent, 'exit');
    await waitFor('the orphaned database program to stop PostgreSQL and exit', () => !isAlive(program) && !isAlive(postgres), {
      timeoutMs: 20_000,
    });
    expect(existsSync(path.join(dataDir, 'postmaster.pid'))).toBe(false);
    expect(text).toContain('"signal":"parent exited"');
  });

  it('names the variable when the environment is wrong', async () => {
    const child = spawn(process.execPath, [distProgram('database')], {
      env: { ...process.env, EMBEDDED_DATABASE_PORT: 'eighty' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(2);
    expect(text).toMatch(/^database: invalid environment: EMBEDDED_DATABASE_PORT: .*\(got "eighty"\)\n$/);
  });
});
