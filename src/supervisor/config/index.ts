// supervisord.conf reader: the public surface of src/supervisor/config.
//
// It follows supervisor 4.2.5 (options.py, datatypes.py, Python's configparser and shlex) closely
// enough that the real supervisord and this reader give the same values and the same error text
// (test/supervisor/config/compare-supervisord.test.ts runs both). Deliberate differences:
//  - `[group:g] names unknown program … zz` names the group; supervisord names the previous member.
//  - stopsignal 0 and the real-time signals (34, 64, RTMIN, RTMAX) are rejected; Node cannot send them.
//  - `[supervisord] logfile=NONE|OFF` means no main log file (supervisord would create a file named NONE);
//    `logfile=syslog` and `*_syslog`/`*_logfile=syslog` are accepted with a warning and log nowhere.
//  - `[fcgi-program:x]` is ignored with a warning; a `[group:x]` naming an fcgi-program is an error.
//    Only supervisord's own rpcinterface factory and eventlistener `result_handler` exist; any other
//    is "cannot be resolved", as with a plugin that is not installed. One unix and one inet server.
//  - users and groups come from /etc/passwd and /etc/group only (no other NSS sources).
//  - AUTO log file names are computed but not created (the process manager creates them).
//  - a bad `[supervisorctl]` section does not stop supervisord (it ignores that section): warning.
//  - `%(here)s` is the dir of the file holding the value; supervisord gets the same by textual
//    replacement, which differs only for pathological values such as `%%(here)s`.
export { loadConfig, type LoadOptions } from './load.js';
export { ConfigError, type ConfigErrorLocation } from './errors.js';
export { findDefaultConfigFile, defaultConfigSearchPaths, type SearchOptions } from './search.js';
export { sameProcessConfig } from './compare.js';
export {
  parseAutorestart,
  parseBoolean,
  parseByteSize,
  parseEnvironmentValue,
  parseExitCodes,
  parseInteger,
  parseOctal,
  parseSignalName,
} from './datatypes.js';
export { splitCommand } from './shlex.js';
export { PyValueError as ConfigValueError } from './python.js';
