// `npm test`: everything a change must pass, on a fresh machine too (root, Debian, the npm registry):
//
//   1. the Debian packages the tests use, installed when missing (scripts/test-machine.mjs);
//   2. the type check (`tsc --noEmit`) and the lint (ESLint with typescript-eslint's type-aware rules, see
//      eslint.config.js), side by side: esbuild and vitest strip types without checking them;
//   3. the test suite (vitest); arguments go to vitest: `npm test -- test/api`.
//
// A finding in 2 stops the run before 3, with a non-zero exit.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDebianPackages } from './test-machine.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);

/** Runs a command with its output kept, so two at once do not interleave; resolves to its exit code and output. */
function quietly(command, args) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', (error) => resolve({ code: 1, output: `${command}: ${error.message}\n` }));
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), output }));
  });
}

try {
  ensureDebianPackages();
} catch (error) {
  console.error(`npm test: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}

const started = Date.now();
const checks = [
  { name: 'tsc --noEmit', run: quietly(bin('tsc'), ['--noEmit', '-p', '.']) },
  { name: 'eslint', run: quietly(bin('eslint'), ['.', '--max-warnings', '0']) },
];
let failed = false;
for (const check of checks) {
  const { code, output } = await check.run;
  if (code !== 0) {
    failed = true;
    process.stderr.write(output);
    console.error(`npm test: ${check.name} failed (exit ${code})`);
  }
}
if (failed) process.exit(1);
console.log(`npm test: type check and lint passed (${Math.round((Date.now() - started) / 1000)} s)`);

const vitest = spawn(bin('vitest'), ['run', ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
// Ctrl-C reaches vitest through the terminal's process group; a SIGTERM to this script alone is passed on.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => vitest.kill('SIGTERM'));
vitest.on('error', (error) => {
  console.error(`npm test: vitest could not start: ${error.message}`);
  process.exit(1);
});
vitest.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
