// Event listeners for supervisord (ours or Python's 4.x): the listener protocol, payload parsers, and
// the three listeners the image runs (programs: *-main.ts, bundled to dist/ by scripts/build.mjs).
export { ListenerChannel, parseHeader, parseTokens, ProtocolError, runListener, utf8PrefixBytes } from './protocol.js';
export type { EventHeader, EventResult, ListenerEvent } from './protocol.js';
export { namespec, parseProcessLog, parseProcessState, parseTick, stateOfEvent } from './payload.js';
export type { ProcessLogPayload, ProcessStatePayload } from './payload.js';
export { LogForwarder, PIPE_BUF, type ForwarderOptions } from './log-forwarder.js';
export { formatLine, splitLine } from './line-format.js';
export { DEFAULT_TIMING, limitFor, MemoryMonitor, processTreeBytes, residentBytes, type MemoryLimits, type MonitorTiming } from './memory-monitor.js';
export { CrashNotifier, NOTICE_FORMATS, noticeBody, type CrashNoticeBody, type CrashNoticeOptions, type NoticeFormat } from './crash-notice.js';
export { SupervisorApi, supervisorApiFromEnv } from './rpc.js';
export { formatBytes, parseByteSize } from './sizes.js';
