// The supervisor component's public surface: a supervisord-compatible process manager (Supervisor
// runs a SupervisordConfig from loadConfig; startControlServers serves it over supervisord's XML-RPC)
// and the supervisorctl client. The programs are supervisord-main.ts and supervisorctl-main.ts;
// supervisorctl-main imports ctl/ alone so its bundle carries neither the config loader nor the core.
export { Supervisor, type SupervisorOptions } from './supervisor.js';
export { MainLog, type MainLogLevel, type MainLogOptions } from './main-log.js';
export { ConfigError, loadConfig, type LoadOptions } from './config/index.js';
export { startControlServers } from './rpc/index.js';
export { runSupervisorctl, XmlRpcClient } from './ctl/index.js';
export * from './types.js';
