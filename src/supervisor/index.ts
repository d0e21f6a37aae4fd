// The supervisor component's public surface: a supervisord-compatible process manager (Supervisor
// runs a SupervisordConfig from loadConfig; startControlServers serves it over supervisord's XML-RPC)
// and the supervisorctl client. The programs are supervisord-main.ts and supervisorctl-main.ts;
// supervisorctl-main imports ctl/ alone so its bundle carries neither the config loader nor the core.
// Inside this one component the sub-folders (config/, rpc/, ctl/) share internal files deliberately:
// ctl/ imports the zod-free config/expand.ts, config/ini.ts and rpc/xmlrpc.ts directly, never a
// folder's index.ts or a module using zod (ctl parses its replies by hand, ctl/replies.ts), so its bundle stays small.
// What both programs or both sides of the wire share is defined once, dependency-free, at this level:
// getopt.ts (the command line of supervisord and supervisorctl, UsageError) and protocol.ts
// (API_VERSION, namespecs).
export { Supervisor, type SupervisorOptions } from './supervisor.js';
export { MainLog, type MainLogLevel, type MainLogOptions } from './main-log.js';
export { RotatingLogFile, SyncRotatingFile, type RotatingFileOptions } from './rotating-file.js';
export { ConfigError, loadConfig, type LoadOptions } from './config/index.js';
export { startControlServers } from './rpc/index.js';
export { parseServerUrl, RpcFault, runSupervisorctl, XmlRpcClient } from './ctl/index.js';
export * from './types.js';
