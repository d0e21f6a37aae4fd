#!/usr/bin/env node
// `storyboard` (npx storyboard stats, and on PATH in the image): operator commands, dist/storyboard.js.
await import('../dist/storyboard.js');
