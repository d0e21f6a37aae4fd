// The shell scripts and YAML files, through shellcheck and yamllint; and local-deploy.sh's sequence of
// commands, run against stand-in docker/k3d/kubectl that record their arguments (no cluster can run here:
// this checks the script's logic, not a deployment).
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoFile, requireCommand, run } from './support/files.js';

const SHELL_SCRIPTS = ['k8s/local-deploy.sh', 'docker/bin/supervisord', 'docker/bin/supervisorctl', 'docker/bin/docker-entrypoint', 'docker/bin/storyboard', '.ci/run'];
const YAML_FILES = ['docker/docker-compose.yml', 'k8s', 'monitoring'];
const YAMLLINT_CONFIG = '{extends: default, rules: {line-length: {max: 120}, document-start: disable, truthy: {check-keys: false}}}';

const scratch = mkdtempSync(path.join(os.tmpdir(), 'storyboard-scripts-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('shell scripts', () => {
  it('pass shellcheck', () => {
    const shellcheck = requireCommand('shellcheck', 'shellcheck');
    const result = run(shellcheck, ['-f', 'gcc', ...SHELL_SCRIPTS.map(repoFile)]);
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
    // shellcheck does flag what it should: an unquoted variable.
    const bad = path.join(scratch, 'bad.sh');
    writeFileSync(bad, '#!/bin/sh\nrm -rf $1/x\n');
    expect(run(shellcheck, ['-f', 'gcc', bad]).output).toContain('SC2086');
  });

  it('are executable', () => {
    for (const script of SHELL_SCRIPTS.filter((s) => s !== '.ci/run')) {
      expect(statSync(repoFile(script)).mode & 0o111, script).not.toBe(0);
    }
  });
});

describe('YAML files', () => {
  it('pass yamllint (default rules, 120 columns)', () => {
    const yamllint = requireCommand('yamllint', 'yamllint');
    const result = run(yamllint, ['-f', 'parsable', '-s', '-d', YAMLLINT_CONFIG, ...YAML_FILES.map(repoFile)]);
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  });
});

describe('k8s/local-deploy.sh', () => {
  /** Stand-ins that append `name args…` to calls.log; `k3d cluster list` fails unless the cluster "exists". */
  function standIns(clusterExists: boolean): { bin: string; log: string } {
    const dir = mkdtempSync(path.join(scratch, 'bin-'));
    const log = path.join(dir, 'calls.log');
    for (const tool of ['docker', 'k3d', 'kubectl']) {
      const file = path.join(dir, tool);
      writeFileSync(
        file,
        `#!/bin/sh\necho "${tool} $*" >> "${log}"\n` +
          (tool === 'k3d' ? `[ "$1 $2" = "cluster list" ] && exit ${clusterExists ? 0 : 1}\n` : '') +
          'exit 0\n',
      );
      chmodSync(file, 0o755);
    }
    return { bin: dir, log };
  }

  it('creates the cluster with the logs mapping, builds, imports, applies and waits, from docker/k8s', () => {
    const { bin, log } = standIns(false);
    const logDir = path.join(scratch, 'storyboard-logs');
    const result = run('bash', ['./local-deploy.sh'], {
      cwd: repoFile('docker/k8s'),
      env: { PATH: `${bin}:/usr/bin:/bin`, LOG_DIR: logDir, HOME: scratch },
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const root = repoFile('').replace(/\/$/, '');
    const calls = readFileSync(log, 'utf8').trim().split('\n');
    expect(calls).toEqual([
      'k3d cluster list storyboard',
      `k3d cluster create storyboard --volume ${logDir}:/tmp/storyboard-logs@all --wait`,
      'kubectl config use-context k3d-storyboard',
      `docker build -f ${root}/docker/Dockerfile -t storyboard-api:local ${root}`,
      'k3d image import storyboard-api:local --cluster storyboard',
      `kubectl apply -k ${root}/k8s/local`,
      'kubectl rollout restart deployment/storyboard-api',
      'kubectl rollout status statefulset/postgres --timeout 300s',
      'kubectl rollout status deployment/storyboard-api --timeout 300s',
    ]);
    expect(existsSync(logDir)).toBe(true);
    expect(result.stdout).toContain('supervisorctl status');
  });

  it('reuses an existing cluster and says which tool is missing', () => {
    const { bin, log } = standIns(true);
    const env = { PATH: `${bin}:/usr/bin:/bin`, LOG_DIR: path.join(scratch, 'logs2'), HOME: scratch };
    const result = run('bash', [repoFile('k8s/local-deploy.sh')], { env });
    expect(result.status).toBe(0);
    expect(readFileSync(log, 'utf8')).not.toContain('cluster create');

    rmSync(path.join(bin, 'k3d'));
    const missing = run('bash', [repoFile('k8s/local-deploy.sh')], { env });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('k3d is not installed');
  });
});
