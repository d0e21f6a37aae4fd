#!/usr/bin/env node
// `supervisorctl` (npx supervisorctl, and on PATH in the image): the bundled client, dist/supervisorctl.cjs.
// CommonJS on purpose: it starts faster than an ES module, and it is run by people and probes.
require('../dist/supervisorctl.cjs');
