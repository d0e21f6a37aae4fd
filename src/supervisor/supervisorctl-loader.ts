// dist/supervisorctl.cjs: loads the client bundle (dist/supervisorctl-bundle.cjs) through V8's code cache.
// supervisorctl is typed by people and run by probes, so its start-up is most of its run time: with the
// cache (dist/supervisorctl-bundle.cjs.cache) V8 skips compiling the bundle. The build writes the cache
// once; a missing, stale (other Node version) or unwritable cache only costs the compile, never an error.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Script } from 'node:vm';

const bundleFile = path.join(__dirname, 'supervisorctl-bundle.cjs');
const cacheFile = `${bundleFile}.cache`;

function readCache(): Buffer | undefined {
  try {
    return readFileSync(cacheFile);
  } catch {
    return undefined;
  }
}

const cachedData = readCache();
const source = readFileSync(bundleFile, 'utf8');
// The same wrapper Node puts around a CommonJS file.
const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
  filename: bundleFile,
  cachedData,
});
if (cachedData === undefined || script.cachedDataRejected === true) {
  // Written at exit (the client ends with process.exit), so the functions this run compiled are in it too.
  // Atomic: two runs may race.
  process.once('exit', () => {
    try {
      const temporary = `${cacheFile}.${process.pid}`;
      writeFileSync(temporary, script.createCachedData());
      renameSync(temporary, cacheFile);
    } catch {
      // A read-only install: run without the cache.
    }
  });
}
const moduleObject = { exports: {} };
const wrapper = script.runInThisContext() as (
  exports: object,
  require: NodeJS.Require,
  module: object,
  filename: string,
  dirname: string,
) => void;
wrapper.call(moduleObject.exports, moduleObject.exports, require, moduleObject, bundleFile, __dirname);
