import { defineConfig } from 'vitest/config';

// `npm run test:image` (run by .ci/run after `npm test`): the real Docker image, built and run on a local
// engine. Slow (a Debian bootstrap for the base stand-in, an image build), so it is kept out of `npm test`.
export default defineConfig({
  test: {
    include: ['test/**/*.itest.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 1_200_000,
    pool: 'forks',
    maxWorkers: 1,
    reporters: ['default'],
  },
});
