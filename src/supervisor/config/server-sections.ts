// The server's own sections: `[supervisord]`, `[rpcinterface:x]`, `[inet_http_server]`, `[unix_http_server]`
// (options.py server_configs_from_parser) and `[supervisorctl]`.

import { statSync } from 'node:fs';
import path from 'node:path';
import type {
  HttpAuth,
  InetHttpServerSection,
  SupervisorctlSection,
  SupervisordSection,
  UnixHttpServerSection,
} from '../types.js';
import { omit, pick } from 'zod/mini';
import { ConfigError } from './errors.js';
import { expand, withExpansions, type Expansions } from './expand.js';
import type { IniDocument, IniValue } from './ini.js';
import { hereOf, plainError, rawSection, type LoadState } from './load-state.js';
import {
  inetHttpServerSchema,
  parseSection,
  supervisordSchema,
  supervisorctlSchema,
  unixHttpServerSchema,
  type SectionEnv,
} from './sections.js';

const RPC_FACTORY_KEY = 'supervisor.rpcinterface_factory';
const MAIN_RPC_FACTORY = 'supervisor.rpcinterface:make_main_rpcinterface';

export function readSupervisord(state: LoadState): SupervisordSection {
  const names = (raw: IniValue | undefined): Expansions => withExpansions(state.environ, { here: hereOf(state, raw) });
  const envNames = (raw: IniValue | undefined): Expansions =>
    withExpansions(state.environ, { here: hereOf(state, raw), host_node_name: state.hostname });
  const tempdir = pythonTempdir(state.ctx.env);
  let parsed;
  try {
    parsed = parseSection(supervisordSchema(names, envNames, state.ctx, tempdir), rawSection(state.doc, 'supervisord'));
  } catch (error) {
    return plainError(error, 'supervisord');
  }
  if (state.doc.get('supervisord', 'logfile')?.value.toLowerCase() === 'syslog') {
    state.warnings.push('[supervisord] logfile=syslog: syslog is not supported by this supervisord; the main log is not written to a file');
  }
  for (const [key, value] of Object.entries(parsed.environment)) state.environ.set(`ENV_${key}`, value);
  return {
    logfile: parsed.logfile,
    logfileMaxBytes: parsed.logfile_maxbytes,
    logfileBackups: parsed.logfile_backups,
    loglevel: parsed.loglevel,
    pidfile: parsed.pidfile,
    nodaemon: parsed.nodaemon,
    silent: parsed.silent,
    childlogdir: parsed.childlogdir,
    minfds: parsed.minfds,
    minprocs: parsed.minprocs,
    nocleanup: parsed.nocleanup,
    umask: parsed.umask,
    user: parsed.user,
    directory: parsed.directory,
    environment: parsed.environment,
    identifier: parsed.identifier,
    stripAnsi: parsed.strip_ansi,
  } satisfies SupervisordSection;
}

/** tempfile.gettempdir(): TMPDIR, TEMP, TMP if they name a directory, else /tmp. */
function pythonTempdir(env: NodeJS.ProcessEnv): string {
  for (const name of ['TMPDIR', 'TEMP', 'TMP']) {
    const dir = env[name];
    if (dir !== undefined && dir !== '') {
      try {
        if (statSync(dir).isDirectory()) return dir;
      } catch {
        // not usable: try the next one
      }
    }
  }
  return '/tmp';
}

/** `[rpcinterface:x]`: only supervisord's own main interface exists here. */
export function readRpcInterfaces(state: LoadState): boolean {
  let enabled = false;
  for (const section of state.doc.sectionNames()) {
    if (!section.startsWith('rpcinterface:')) continue;
    const name = section.slice('rpcinterface:'.length);
    const factory = state.doc.get(section, RPC_FACTORY_KEY);
    if (factory === undefined) throw new ConfigError(`section [${section}] does not specify a ${RPC_FACTORY_KEY}`, { section });
    let spec: string;
    try {
      spec = expand(factory.value, state.environ, `${section}.${RPC_FACTORY_KEY}`);
    } catch (error) {
      return plainError(error, section);
    }
    if (spec.trim() !== MAIN_RPC_FACTORY) {
      throw new ConfigError(`${spec} cannot be resolved within [${section}]`, {
        section,
        key: RPC_FACTORY_KEY,
        file: factory.file,
        line: factory.line,
      });
    }
    if (name === 'supervisor') enabled = true;
    else state.warnings.push(`[${section}] serves the supervisor interface under the name '${name}', which supervisorctl does not use; ignored`);
  }
  return enabled;
}

export interface Servers {
  unix: UnixHttpServerSection | null;
  inet: InetHttpServerSection | null;
}

function auth(section: string, username: string | null, password: string | null): HttpAuth | null {
  if (username === null && password === null) return null;
  if (username === null || password === null) {
    throw new ConfigError(
      `Section [${section}] contains incomplete authentication: If a username or a password is specified, both the username and password must be specified`,
      { section },
    );
  }
  return { username, password };
}

/** `[inet_http_server]` then `[unix_http_server]`, in supervisord's order (`…:name` variants included). */
export function readServers(state: LoadState): Servers {
  const { doc } = state;
  const envOnly = (): Expansions => state.environ;
  const withHere = (raw: IniValue | undefined): Expansions => withExpansions(state.environ, { here: hereOf(state, raw) });
  const servers: Servers = { unix: null, inet: null };
  for (const section of doc.sectionNames()) {
    if (!section.startsWith('inet_http_server')) continue;
    let parsed;
    try {
      parsed = parseSection(inetHttpServerSchema(section, envOnly), rawSection(doc, section));
    } catch (error) {
      return plainError(error, section);
    }
    const credentials = auth(section, parsed.username, parsed.password);
    if (parsed.port === null) throw new ConfigError(`section [${section}] has no port value`, { section });
    if (servers.inet === null) servers.inet = { host: parsed.port.host, port: parsed.port.port, auth: credentials };
    else state.warnings.push(`[${section}] ignored: only one inet HTTP server is supported`);
  }
  for (const section of doc.sectionNames()) {
    if (!section.startsWith('unix_http_server')) continue;
    const raw = rawSection(doc, section);
    let parsed;
    try {
      const file = parseSection(pick(unixHttpServerSchema(section, withHere, state.ctx), { file: true }), raw).file;
      if (file === null) throw new ConfigError(`section [${section}] has no file value`, { section });
      const rest = parseSection(omit(unixHttpServerSchema(section, envOnly, state.ctx), { file: true }), raw);
      parsed = { ...rest, file };
    } catch (error) {
      return plainError(error, section);
    }
    const credentials = auth(section, parsed.username, parsed.password);
    if (servers.unix === null) {
      servers.unix = { file: parsed.file, chmod: parsed.chmod ?? 0o700, chown: parsed.chown, auth: credentials };
    } else state.warnings.push(`[${section}] ignored: only one unix HTTP server is supported`);
  }
  return servers;
}

/** What SUPERVISOR_SERVER_URL is for `serverurl=AUTO`: the unix socket first, else the inet server, else ''. */
export function autoServerUrl(servers: Servers): string {
  if (servers.unix !== null) return `unix://${servers.unix.file}`;
  if (servers.inet !== null) return `http://${servers.inet.host === '' ? 'localhost' : servers.inet.host}:${servers.inet.port}`;
  return '';
}

export function readSupervisorctlSection(doc: IniDocument, here: string, environ: Expansions, ctx: SectionEnv): SupervisorctlSection {
  const withHere = (raw: IniValue | undefined): Expansions =>
    withExpansions(environ, { here: raw === undefined ? here : path.dirname(raw.file) });
  try {
    const parsed = parseSection(supervisorctlSchema(() => environ, withHere, ctx), rawSection(doc, 'supervisorctl'));
    return {
      serverurl: parsed.serverurl,
      username: parsed.username,
      password: parsed.password,
      prompt: parsed.prompt,
      historyFile: parsed.history_file,
    } satisfies SupervisorctlSection;
  } catch (error) {
    return plainError(error, 'supervisorctl');
  }
}
