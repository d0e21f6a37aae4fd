import { fileURLToPath } from 'node:url';

/** Project root (tests run from anywhere). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Path of a bundled program in dist/ (built by the test run's global setup). */
export function distProgram(name: 'supervisord' | 'supervisorctl' | 'api' | 'task-processor' | 'runninghub-simulator' | 'database'): string {
  // supervisorctl is a CommonJS bundle (it starts faster); the others are ES modules.
  return `${ROOT}dist/${name}${name === 'supervisorctl' ? '.cjs' : '.js'}`;
}
