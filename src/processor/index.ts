// Public surface of the task processor component.
export { createTaskProcessor, type TaskProcessor, type ProcessorDeps, type ProcessorCounters, type LoopEnd } from './processor.js';
export { ORPHAN_CANCEL_TIMEOUT_MS } from './submit.js';
export {
  loadProcessorConfig,
  processorEnvSchema,
  webhookCallbackUrl,
  type ProcessorConfig,
  type ProcessorSettings,
  type CallbackSettings,
  type RetentionSettings,
} from './config.js';
export { CALLBACK_HEADERS, signCallback, verifyCallback } from './signature.js';
export { accountFingerprint, errorBackoffMs, retryBackoffMs } from './policy.js';
