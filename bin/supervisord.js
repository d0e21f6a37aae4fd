#!/usr/bin/env -S node --lite-mode --no-expose-wasm --max-semi-space-size=1
// `supervisord` (npx supervisord, and on PATH in the image): the bundled program, dist/supervisord.js.
// supervisord spends its life waiting on children and sockets: V8's optimising compilers buy it
// nothing and cost resident memory, so it runs in lite mode with a small young generation
// (npm run bench:supervisor measures the difference). Lite mode turns WebAssembly off, and V8 says so on
// stderr at every start ("disabling flag --expose_wasm"), the first line of `docker logs`: --no-expose-wasm
// asks for what lite mode does anyway, so V8 has nothing to say. docker/bin/supervisord and scripts/start.mjs
// use the same flags (test/deploy/supervisord-flags.test.ts).
await import('../dist/supervisord.js');
