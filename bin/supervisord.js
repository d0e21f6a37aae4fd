#!/usr/bin/env -S node --lite-mode --max-semi-space-size=1
// `supervisord` (npx supervisord, and on PATH in the image): the bundled program, dist/supervisord.js.
// supervisord spends its life waiting on children and sockets: V8's optimising compilers buy it
// nothing and cost resident memory, so it runs in lite mode with a small young generation
// (npm run bench:supervisor measures the difference).
await import('../dist/supervisord.js');
