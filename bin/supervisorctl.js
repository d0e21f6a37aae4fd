#!/usr/bin/env node
// supervisorctl: the bundled client (npm run build makes dist/supervisorctl.js).
import '../dist/supervisorctl.js';
