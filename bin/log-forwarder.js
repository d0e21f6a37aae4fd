#!/usr/bin/env node
// `storyboard-log-forwarder` (npx, and in the image): the supervisord event listener bundled as dist/log-forwarder.js (src/listeners/).
await import('../dist/log-forwarder.js');
