#!/usr/bin/env node
// `storyboard-crash-notice` (npx, and in the image): the supervisord event listener bundled as dist/crash-notice.js (src/listeners/).
await import('../dist/crash-notice.js');
