// Public surface of the task processor component.
export { createTaskProcessor, type TaskProcessor, type ProcessorDeps, type ProcessorCounters } from './processor.js';
export { loadProcessorConfig, processorEnvSchema, webhookCallbackUrl, type ProcessorConfig, type ProcessorSettings } from './config.js';
export { accountFingerprint, errorBackoffMs, retryBackoffMs } from './policy.js';
