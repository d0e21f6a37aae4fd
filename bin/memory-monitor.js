#!/usr/bin/env node
// `storyboard-memory-monitor` (npx, and in the image): the supervisord event listener bundled as dist/memory-monitor.js (src/listeners/).
await import('../dist/memory-monitor.js');
