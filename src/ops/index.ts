// Operator commands (the `storyboard` program, src/ops/main.ts): the public surface for other code and tests.
export { readQueueStats, formatQueueStats, formatDuration, type QueueStats, type ProcessorRow } from './stats.js';
