#!/usr/bin/env node
// `supervisord` (npx supervisord): the bundled program, dist/supervisord.js (npm run build).
// Lite mode is set here, before the bundle's dependencies are compiled, to keep RSS low
// (see src/supervisor/memory-mode.ts; SUPERVISORD_V8_LITE=0 turns it off).
import { setFlagsFromString } from 'node:v8';

if (process.env.SUPERVISORD_V8_LITE !== '0') setFlagsFromString('--lite-mode');
await import('../dist/supervisord.js');
