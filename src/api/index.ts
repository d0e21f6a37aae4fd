// Public surface of the API component.
export { buildApp, type AppDeps } from './app.js';
export { loadApiConfig, type ApiConfig } from './config.js';
export { ApiError, errorBody, type ErrorBody } from './errors.js';
export { createNodeInfoChecker, type NodeInfoChecker } from './node-info-check.js';
export type { RouteDeps } from './routes/index.js';
export { runningHubWebhookRoutes, WEBHOOK_PATH } from './routes/webhook.js';
