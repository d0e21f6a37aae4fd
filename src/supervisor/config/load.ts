// supervisord.conf → SupervisordConfig, following supervisor/options.py
// (ServerOptions.read_config, process_groups_from_parser, _processes_from_section,
// server_configs_from_parser) step by step, so that the first error is the one supervisord reports.
// The steps live beside this file: read-files.ts (the main file and its includes), server-sections.ts
// ([supervisord], [rpcinterface:x], the HTTP servers, [supervisorctl]), groups.ts and programs.ts
// (groups, programs, event listeners); load-state.ts holds what they share.

import os from 'node:os';
import path from 'node:path';
import type { SupervisorctlSection, SupervisordConfig, SupervisordSection } from '../types.js';
import { resolveUser } from './datatypes.js';
import { ConfigError } from './errors.js';
import { environmentExpansions } from './expand.js';
import { readGroups } from './groups.js';
import { IniDocument } from './ini.js';
import type { LoadState } from './load-state.js';
import { PyValueError } from './python.js';
import { readIncludes, readMainFile } from './read-files.js';
import { autoServerUrl, readRpcInterfaces, readServers, readSupervisord, readSupervisorctlSection } from './server-sections.js';

export interface LoadOptions {
  /** The environment `%(ENV_X)s` expands from (supervisord's own environment). Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** `%(host_node_name)s`. Default os.hostname(). */
  hostname?: string;
  /** Relative paths in the file (and `file` itself) resolve against this. Default process.cwd(). */
  cwd?: string;
  /**
   * `[supervisord]` values given on supervisord's command line: they win over the file's, and the
   * AUTO child log names are made from them (`-q`, `-i`), as in supervisord's Options._set priorities.
   */
  overrides?: Partial<SupervisordSection>;
}

/**
 * Read a supervisord config file (and its `[include]`s) into the typed config supervisord
 * would run, or throw ConfigError with supervisord's message for the first problem it would report.
 */
export async function loadConfig(file: string, options: LoadOptions = {}): Promise<SupervisordConfig> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const mainFile = path.resolve(cwd, file);
  const state: LoadState = {
    doc: new IniDocument(),
    givenFile: file,
    mainFile,
    here: path.dirname(mainFile),
    hostname: options.hostname ?? os.hostname(),
    ctx: { env, cwd },
    environ: environmentExpansions(env),
    sectionFile: new Map(),
    warnings: [],
    infos: [],
    childlogdir: '/tmp',
    identifier: 'supervisor',
    supervisordEnvironment: {},
  };
  await readMainFile(state.doc, mainFile, file);
  const includedFiles = await readIncludes(state);
  if (!state.doc.has('supervisord')) throw new ConfigError('.ini file does not include supervisord section');

  const supervisord = { ...readSupervisord(state), ...options.overrides };
  state.childlogdir = supervisord.childlogdir;
  state.identifier = supervisord.identifier;
  state.supervisordEnvironment = supervisord.environment;
  const rpcInterfaceEnabled = readRpcInterfaces(state);

  // Program sections come before the servers in supervisord's order of errors, but AUTO
  // serverurls need the servers: peek at them (their errors are raised in turn below).
  let peeked: string | undefined;
  const serverurl = (): string => {
    if (peeked === undefined) {
      try {
        peeked = autoServerUrl(readServers({ ...state, warnings: [] }));
      } catch {
        peeked = '';
      }
    }
    return peeked;
  };
  const groups = readGroups(state, serverurl);
  const servers = readServers(state);

  if (supervisord.user !== null) {
    try {
      resolveUser(supervisord.user);
    } catch (error) {
      const raw = state.doc.get('supervisord', 'user');
      if (error instanceof PyValueError) {
        throw new ConfigError(error.message, { section: 'supervisord', key: 'user', file: raw?.file, line: raw?.line });
      }
      throw error;
    }
  }

  // supervisord itself ignores [supervisorctl]; a bad one must not stop it, only supervisorctl.
  let supervisorctl: SupervisorctlSection | null = null;
  if (state.doc.has('supervisorctl')) {
    try {
      supervisorctl = readSupervisorctlSection(state.doc, state.here, environmentExpansions(env), state.ctx);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      state.warnings.push(`[supervisorctl] section not usable: ${error.supervisordMessage}`);
    }
  }

  return {
    file: mainFile,
    includedFiles,
    supervisord,
    unixHttpServer: servers.unix,
    inetHttpServer: servers.inet,
    supervisorctl,
    rpcInterfaceEnabled,
    groups,
    warnings: state.warnings,
    infos: state.infos,
  } satisfies SupervisordConfig;
}
