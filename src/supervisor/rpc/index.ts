// supervisord's control interface: XML-RPC over HTTP on the [unix_http_server] socket and the
// optional [inet_http_server] port, serving a SupervisorControl.
// Public surface: this file (the server) and ./xmlrpc.ts (the codec alone, which the supervisorctl
// client imports directly so that its bundle does not carry the server and its dependencies).
// supervisord itself imports ./control-servers.ts alone: the rest (methods, codec, console) is loaded
// on the first request, so an idle supervisord never holds it.
export type { ControlLog } from './http-server.js';
export { API_VERSION, SupervisorRpc, parseSignal } from './methods.js';
export { credentialsMatch, MAX_BODY_BYTES } from './http-server.js';
export { describeProcess, formatStopTime, formatUptime, processInfoStruct } from './process-info.js';
export {
  XmlRpcDouble,
  XmlRpcParseError,
  decodeCall,
  decodeResponse,
  encodeCall,
  encodeFault,
  encodeResult,
  type XmlRpcCall,
  type XmlRpcFault,
  type XmlRpcResponse,
  type XmlRpcValue,
} from './xmlrpc.js';

export { ALREADY_LISTENING, startControlServers, type ControlServers } from './control-servers.js';
