// Public surface of the task processor component.
export { createTaskProcessor, type TaskProcessor, type ProcessorDeps, type ProcessorCounters, type LoopEnd } from './processor.js';
export { ORPHAN_CANCEL_TIMEOUT_MS } from './submit.js';
export { loadProcessorConfig, processorEnvSchema, webhookCallbackUrl, type ProcessorConfig, type ProcessorSettings } from './config.js';
export { accountFingerprint, errorBackoffMs, retryBackoffMs } from './policy.js';
