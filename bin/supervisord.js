#!/usr/bin/env node
// The bundled program (npm run build → dist/supervisord.js); see src/supervisor/supervisord-main.ts.
import '../dist/supervisord.js';
