// supervisord.conf reader: the public surface of src/supervisor/config.
export { loadConfig, loadSupervisorctlConfig, type LoadOptions } from './load.js';
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
