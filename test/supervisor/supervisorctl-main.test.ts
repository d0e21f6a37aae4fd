// The supervisorctl bundle (built by the test run's global setup) must stay free of zod's full
// build: ctl/ uses zod/mini and imports only zod-free internals of config/ and rpc/ (see
// src/supervisor/index.ts). Zod names each schema class when it defines it, so the classic build
// leaves "ZodObject"/"ZodString" in a minified bundle and zod/mini leaves "ZodMiniObject".
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { ROOT } from '../support/programs.js';

it('dist/supervisorctl-bundle.cjs carries zod/mini but not zod\'s full build', () => {
  const bundle = readFileSync(`${ROOT}dist/supervisorctl-bundle.cjs`, 'utf8');
  expect(bundle).toContain('"ZodMiniObject"');
  expect(bundle).not.toContain('"ZodObject"');
  expect(bundle).not.toContain('"ZodString"');
});
