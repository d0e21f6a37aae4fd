// The supervisor component's public surface (the process manager). config/, rpc/ and ctl/ have their own.
export { Supervisor, type SupervisorOptions } from './supervisor.js';
export { MainLog, formatTimestamp, type MainLogLevel, type MainLogOptions } from './main-log.js';
export { RotatingLogFile, SyncRotatingFile, type RotatingFileOptions } from './rotating-file.js';
export { ManagedProcess, RUNNING_STATES, SIGNALLABLE_STATES, STOPPED_STATES, describe as describeProcessState } from './process.js';
export { signalName, signalNumber } from './signals.js';
export { parseCommandLine, VERSION_TEXT, SUPERVISOR_COMPAT_VERSION, UsageError, type CliCommand } from './cli.js';
export * from './types.js';
