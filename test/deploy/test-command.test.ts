// `npm test` itself (scripts/test.mjs, scripts/test-machine.mjs): the Debian set-up, run against stand-in
// dpkg-query/apt-get/service that record their calls (installing real packages is not this test's business);
// and the checks, run on a tiny checkout, where a type error or a floating promise stops the run before vitest.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/programs.js';

const scratch = mkdtempSync(path.join(os.tmpdir(), 'storyboard-test-command-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the Debian set-up (scripts/test-machine.mjs)', () => {
  /** dpkg-query reports installed what `installed` lists; apt-get install adds to it; every call is logged. */
  function standIns(installed: readonly string[]): { bin: string; log: string } {
    const dir = mkdtempSync(path.join(scratch, 'bin-'));
    const log = path.join(dir, 'calls.log');
    const state = path.join(dir, 'installed');
    writeFileSync(state, installed.map((name) => `${name}\n`).join(''));
    writeFileSync(log, '');
    const script = (body: string) => `#!/bin/sh\nprintf '%s\\n' "$(basename "$0") $*" >> "${log}"\n${body}\n`;
    const files: Record<string, string> = {
      'dpkg-query': script(
        `for p in "$@"; do case "$p" in -*) continue;; esac; if grep -qx "$p" "${state}"; then echo "$p install ok installed"; ` +
          `else echo "$p unknown ok not-installed"; fi; done`,
      ),
      'apt-get': script(`[ "$1" = install ] && for p in "$@"; do case "$p" in -*|install) ;; *) echo "$p" >> "${state}";; esac; done; exit 0`),
      service: script('exit 0'),
    };
    for (const [name, text] of Object.entries(files)) {
      writeFileSync(path.join(dir, name), text);
      chmodSync(path.join(dir, name), 0o755);
    }
    return { bin: dir, log };
  }

  function setUp(bin: string) {
    return spawnSync(process.execPath, ['scripts/test-machine.mjs'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
  }
  const calls = (log: string) => readFileSync(log, 'utf8').trim().split('\n').filter((line) => !line.startsWith('dpkg-query'));
  // The list itself, as the script exports it.
  const listed = spawnSync(process.execPath, ['--input-type=module', '-e', "console.log(JSON.stringify(Object.keys((await import('./scripts/test-machine.mjs')).DEBIAN_PACKAGES)))"], { cwd: ROOT, encoding: 'utf8' });
  const all = JSON.parse(listed.stdout) as string[];

  // Root only: test-machine.mjs calls apt-get only when it runs as root (anyone else gets the command printed),
  // and the uid cannot be faked to it. CI runs as root, so there both always run.
  const asRoot = process.getuid?.() === 0;

  it.runIf(asRoot)('installs exactly the missing packages with apt-get, in one line, and stops the system supervisord', () => {
    const { bin, log } = standIns(all.filter((name) => name !== 'supervisor' && name !== 'yamllint'));
    const first = setUp(bin);
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(first.stdout.trim().split('\n')).toEqual([
      'test set-up: installing the Debian packages the tests use: supervisor, yamllint (apt-get install --no-install-recommends supervisor yamllint)',
    ]);
    expect(calls(log)).toEqual(['apt-get update -qq', 'apt-get install -y -qq --no-install-recommends supervisor yamllint', 'service supervisor stop']);

    // Everything there now: nothing printed, nothing called.
    writeFileSync(log, '');
    const second = setUp(bin);
    expect(second.status).toBe(0);
    expect(second.stdout + second.stderr).toBe('');
    expect(calls(log)).toEqual([]);
  });

  it.runIf(asRoot)('does not touch the system supervisord when supervisor was already there', () => {
    const { bin, log } = standIns(all.filter((name) => name !== 'shellcheck'));
    const result = setUp(bin);
    expect(result.status).toBe(0);
    expect(calls(log)).toEqual(['apt-get update -qq', 'apt-get install -y -qq --no-install-recommends shellcheck']);
  });
});

describe('npm test (scripts/test.mjs)', () => {
  /** A checkout of one source file, with the project's scripts, configs and node_modules. */
  function checkout(name: string, source: string): string {
    const dir = path.join(scratch, name);
    mkdirSync(path.join(dir, 'src'), { recursive: true });
    mkdirSync(path.join(dir, 'test'), { recursive: true });
    for (const file of ['package.json', 'tsconfig.json', 'eslint.config.js', 'scripts']) cpSync(path.join(ROOT, file), path.join(dir, file), { recursive: true });
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
    writeFileSync(path.join(dir, 'src', 'index.ts'), source);
    // vitest without the project's global set-up (no build, no PostgreSQL): a test that leaves a mark.
    // (The passing path is every `npm test` run; this file checks that a finding stops it.)
    writeFileSync(path.join(dir, 'vitest.config.ts'), "import { defineConfig } from 'vitest/config';\n\nexport default defineConfig({ test: { include: ['test/**/*.test.ts'] } });\n");
    writeFileSync(
      path.join(dir, 'test', 'mark.test.ts'),
      "import { writeFileSync } from 'node:fs';\nimport { it } from 'vitest';\n\nit('ran', () => {\n  writeFileSync('vitest-ran', '');\n});\n",
    );
    return dir;
  }
  function npmTest(dir: string) {
    return spawnSync(process.execPath, ['scripts/test.mjs'], { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: '' } });
  }

  it('stops before vitest on a type error or a floating promise, naming them', () => {
    const dir = checkout(
      'findings',
      'async function work(): Promise<void> {}\n\nexport function start(): number {\n  work();\n  const count: number = "three";\n  return count;\n}\n',
    );
    const result = npmTest(dir);
    const output = result.stdout + result.stderr;
    expect(result.status).toBe(1);
    expect(output).toContain("error TS2322: Type 'string' is not assignable to type 'number'");
    expect(output).toContain('@typescript-eslint/no-floating-promises');
    expect(output).toContain('npm test: tsc --noEmit failed');
    expect(output).toContain('npm test: eslint failed');
    expect(existsSync(path.join(dir, 'vitest-ran'))).toBe(false);
  });
});
