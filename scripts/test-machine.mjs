// The Debian packages the tests use as real peers and validators, and the set-up that installs the missing
// ones. The one list: `npm test` (scripts/test.mjs) and `npm run test:image` run this first, `.ci/run` only
// calls them. Run alone: `node scripts/test-machine.mjs`.
//
// Root on Debian (a fresh CI machine or container): the missing packages are installed with apt-get, in one
// line of output. Not root: one line naming what is missing and the command that installs it; the tests
// that need it then fail (CI) or skip. Not Debian: nothing is done.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Package → what needs it. */
export const DEBIAN_PACKAGES = {
  supervisor: 'the reference supervisord 4.2.5 / supervisorctl the comparisons and benchmarks run against',
  tini: 'PID 1 of the container rehearsal',
  'util-linux': 'unshare (the rehearsal\'s PID namespace), runuser',
  procps: 'ps, pgrep',
  shellcheck: 'the shell scripts\' linter',
  yamllint: 'the YAML linter',
  'docker-compose': '`docker-compose config -q` on the compose file',
  'docker.io': 'the image test\'s local engine, `docker` in the compose check',
  debootstrap: 'the image test\'s stand-in Node base image',
  prometheus: 'promtool, the alert rules\' checker',
  'postgresql-client': 'psql, the operations guide\'s queries',
  chromium: 'the browser the pages\' tests drive through playwright-core (test/support/browser.ts)',
  'firefox-esr': 'the second browser the pages\' tests drive, through puppeteer-core over WebDriver BiDi (test/support/browser.ts)',
};

function has(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** The packages of the list that dpkg does not report as installed. */
export function missingPackages(packages = Object.keys(DEBIAN_PACKAGES)) {
  const result = spawnSync('dpkg-query', ['-W', '-f=${Package} ${Status}\\n', ...packages], { encoding: 'utf8' });
  const installed = new Set(
    result.stdout
      .split('\n')
      .filter((line) => line.endsWith(' install ok installed'))
      .map((line) => line.split(' ')[0]),
  );
  return packages.filter((name) => !installed.has(name));
}

function apt(args) {
  const result = spawnSync('apt-get', args, { encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (result.status !== 0) {
    process.stderr.write(result.stdout + result.stderr);
    throw new Error(`apt-get ${args.join(' ')} failed (exit ${result.status ?? result.signal})`);
  }
}

/** Debian's supervisor package starts a system supervisord; the tests start their own. */
function stopSystemSupervisord() {
  if (spawnSync('service', ['supervisor', 'stop'], { stdio: 'ignore' }).status === 0) return;
  // No init script to ask: the pid file of Debian's /etc/supervisor/supervisord.conf.
  try {
    const pid = Number(readFileSync('/var/run/supervisord.pid', 'utf8').trim());
    if (Number.isInteger(pid) && pid > 1 && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('supervisord')) process.kill(pid, 'SIGTERM');
  } catch {
    // Not running.
  }
}

/** Installs the missing packages when it can (root, apt-get); returns the ones still missing. */
export function ensureDebianPackages(prefix = 'npm test') {
  if (process.platform !== 'linux' || !has('dpkg-query')) return [];
  const missing = missingPackages();
  if (missing.length === 0) return [];
  const install = `apt-get install --no-install-recommends ${missing.join(' ')}`;
  if (process.getuid?.() !== 0 || !has('apt-get')) {
    console.warn(`${prefix}: Debian packages the tests use are missing: ${missing.join(', ')}; as root: ${install} (the tests that need them fail in CI, else skip)`);
    return missing;
  }
  console.log(`${prefix}: installing the Debian packages the tests use: ${missing.join(', ')} (${install})`);
  apt(['update', '-qq']);
  apt(['install', '-y', '-qq', '--no-install-recommends', ...missing]);
  if (missing.includes('supervisor')) stopSystemSupervisord();
  return missingPackages(missing);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const left = ensureDebianPackages('test set-up');
    process.exit(left.length > 0 && process.getuid?.() === 0 ? 1 : 0);
  } catch (error) {
    console.error(`test set-up: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
