// scripts/public-client.mjs: starts the built simulator, runs a client directory's `run` with the variables
// pointing it there, stops the simulator and passes the client's exit status on.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SCRIPT = path.resolve(import.meta.dirname, '../../../scripts/public-client.mjs');

describe('scripts/public-client.mjs', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'public-client-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("runs the directory's `run` against a strict simulator and exits with its status", async () => {
    // A client in three lines of shell: accountStatus as the docs show it, then exit 3 to prove the status passes through.
    const run = path.join(dir, 'run');
    await writeFile(
      run,
      [
        '#!/bin/sh',
        'echo "base=$RUNNINGHUB_BASE_URL domain=$RUNNINGHUB_DOMAIN workflow=$WORKFLOW_ID app=$WEBAPP_ID"',
        'curl -s -X POST "$RUNNINGHUB_BASE_URL/uc/openapi/accountStatus" -H "Content-Type: application/json" -d "{\\"apikey\\":\\"$RUNNINGHUB_API_KEY\\"}"',
        'exit 3',
      ].join('\n'),
    );
    await chmod(run, 0o755);
    const result = await execa(process.execPath, [SCRIPT, dir], { reject: false, all: true });
    expect(result.exitCode).toBe(3);
    expect(result.all).toMatch(/base=http:\/\/127\.0\.0\.1:\d+ domain=127\.0\.0\.1:\d+ workflow=1904136902449209346 app=1877265245566922753/);
    expect(result.all).toContain('"code":0');
    expect(result.all).toContain('"currentTaskCounts":"0"');
  });

  it('says what is missing when the directory has no executable `run`', async () => {
    const empty = await mkdtemp(path.join(dir, 'empty-'));
    const result = await execa(process.execPath, [SCRIPT, empty], { reject: false, all: true });
    expect(result.exitCode).toBe(2);
    expect(result.all).toMatch(/run is missing or not executable/);
  });
});
