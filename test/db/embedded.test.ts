// startEmbeddedPostgres's handle when its server is gone behind its back (killed, crashed).
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findFreePort, startEmbeddedPostgres } from '../../src/db/index.js';
import { waitFor } from '../support/wait.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'storyboard-embedded-'));
// PostgreSQL runs as the "postgres" user when the tests run as root.
chmodSync(root, 0o755);
afterAll(() => rmSync(root, { recursive: true, force: true }));

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('startEmbeddedPostgres', () => {
  it('tells when its server dies, and stops at once (it waited for ever) once it has', async () => {
    const dataDir = path.join(root, 'killed');
    const server = await startEmbeddedPostgres({ dataDir, port: await findFreePort(), onLog: () => undefined });
    const pid = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    let exited: number | null | undefined;
    server.watchExit((gone) => (exited = gone));
    process.kill(pid, 'SIGKILL');
    await waitFor('the watcher to tell', () => exited !== undefined);
    expect(exited).toBe(pid);
    expect(isAlive(pid)).toBe(false);
    // Within the test's own timeout: before, this never resolved.
    await server.stop();
  });
});
