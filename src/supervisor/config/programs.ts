// One `[program:x]` (or an eventlistener's program part) → its processes (options.py _processes_from_section).

import path from 'node:path';
import type { LogTarget, ProcessConfig } from '../types.js';
import { parseProcessOrGroupName } from './datatypes.js';
import { ConfigError } from './errors.js';
import { expand, withExpansions } from './expand.js';
import { byPriorityThenName, perFile, rawSection, type LoadState } from './load-state.js';
import { PyValueError, pyRepr, type FormatValue } from './python.js';
import {
  environmentSchema,
  parseSection,
  processSchema,
  programSettingsSchema,
  SectionValueError,
  type LogfileName,
} from './sections.js';
import { splitCommand } from './shlex.js';

/**
 * Python tempfile's random part: 8 of [a-z0-9_], from a non-cryptographic generator as tempfile's
 * (random.Random). Not node:crypto: loading it costs the idle supervisord about 1 MiB (bench:supervisor).
 */
function randomName(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789_';
  let out = '';
  for (let i = 0; i < 8; i += 1) out += alphabet[Math.floor(Math.random() * alphabet.length)];
  return out;
}

/** `[program:x]` → its processes; errors get supervisord's ` in section '…' (file: '…')` suffix. */
export function processesFromSection(state: LoadState, section: string, groupName: string, serverurl: () => string): ProcessConfig[] {
  const file = state.sectionFile.get(section) ?? state.givenFile;
  try {
    return processesFromSectionUnwrapped(state, section, groupName, serverurl);
  } catch (error) {
    const suffix = ` in section ${pyRepr(section)} (file: ${pyRepr(file)})`;
    if (error instanceof SectionValueError) {
      throw new ConfigError(error.message + suffix, { section, key: error.key, file: error.raw?.file, line: error.raw?.line });
    }
    if (error instanceof PyValueError) {
      const sectionLine = state.doc.sections.get(section)?.line;
      throw new ConfigError(error.message + suffix, {
        section,
        file: state.doc.sections.get(section)?.file,
        ...(sectionLine === undefined ? {} : { line: sectionLine }),
      });
    }
    throw error;
  }
}

function processesFromSectionUnwrapped(
  state: LoadState,
  section: string,
  groupName: string,
  serverurl: () => string,
): ProcessConfig[] {
  const programName = parseProcessOrGroupName(section.slice(section.indexOf(':') + 1));
  const raw = rawSection(state.doc, section);
  const common = (here: string): Record<string, FormatValue> => ({
    here,
    program_name: programName,
    host_node_name: state.hostname,
    group_name: groupName,
  });
  const settings = parseSection(
    programSettingsSchema(section, perFile((here) => withExpansions(state.environ, common(here)), state)),
    raw,
  );
  const killasgroup = settings.killasgroup ?? settings.stopasgroup;
  const processNameTemplate = parseProcessOrGroupName(settings.process_name);
  if (settings.numprocs > 1 && !processNameTemplate.includes('%(process_num)')) {
    throw new PyValueError('%(process_num) must be present within process_name when numprocs > 1');
  }
  if (settings.stopasgroup && !killasgroup) throw new PyValueError('Cannot set stopasgroup=true and killasgroup=false');

  const processes: ProcessConfig[] = [];
  for (let processNum = settings.numprocs_start; processNum < settings.numprocs_start + settings.numprocs; processNum += 1) {
    const perProcess = { process_num: processNum, numprocs: settings.numprocs };
    const loopBuild = (here: string): Map<string, FormatValue> =>
      withExpansions(withExpansions(state.environ, common(here)), perProcess);
    const { environment } = parseSection(environmentSchema(perFile(loopBuild, state)), raw);
    // Keys after environment= may use the program's own variables as ENV_.
    const programEnv = new Map(Object.entries(environment).map(([k, v]): [string, FormatValue] => [`ENV_${k}`, v]));
    const names = perFile((here) => withExpansions(loopBuild(here), programEnv), state);
    const values = parseSection(processSchema(section, names, state.ctx), raw);

    const name = expand(processNameTemplate, names(raw.process_name), 'process_name');
    const channel = (which: 'stdout' | 'stderr', logfile: LogfileName, maxBytes: number, backups: number): LogTarget => {
      if (logfile.kind === 'syslog') {
        state.warnings.push(
          `For [${section}], ${which}_logfile=syslog but this is deprecated and will be removed.  Use ${which}_syslog=true to enable syslog instead.`,
        );
      }
      if (logfile.kind === 'auto' && maxBytes === 0) {
        state.warnings.push(
          `For [${section}], AUTO logging used for ${which}_logfile without rollover, set maxbytes > 0 to avoid filling up filesystem unintentionally`,
        );
      }
      switch (logfile.kind) {
        case 'none':
        case 'syslog':
          return { kind: 'none' };
        case 'inherit':
          return { kind: 'inherit', fd: logfile.fd };
        case 'auto':
          return {
            kind: 'file',
            path: path.join(state.childlogdir, `${name}-${which}---${state.identifier}-${randomName()}.log`),
            maxBytes,
            backups,
            auto: true,
          };
        case 'path':
          return { kind: 'file', path: logfile.path, maxBytes, backups, auto: false };
      }
    };
    const stdout = channel('stdout', values.stdout_logfile, values.stdout_logfile_maxbytes, values.stdout_logfile_backups);
    let stderr = channel('stderr', values.stderr_logfile, values.stderr_logfile_maxbytes, values.stderr_logfile_backups);
    if (values.stdout_syslog || values.stderr_syslog || values.stdout_logfile.kind === 'syslog' || values.stderr_logfile.kind === 'syslog') {
      state.warnings.push(`For [${section}], syslog output is not supported by this supervisord; it is not sent anywhere`);
    }
    if (settings.redirect_stderr) {
      if (values.stderr_logfile.kind !== 'auto' && values.stderr_logfile.kind !== 'none' && values.stderr_logfile.kind !== 'syslog') {
        state.warnings.push(
          `For [${section}], redirect_stderr=true but stderr_logfile has also been set to a filename, the filename has been ignored`,
        );
      }
      stderr = { kind: 'none' };
    }
    if (values.command === null) throw new PyValueError(`program section ${section} does not specify a command`);

    let argv: string[] = [];
    let commandError: string | undefined;
    try {
      argv = splitCommand(values.command);
      if (argv.length === 0) commandError = 'command is empty';
    } catch (error) {
      if (!(error instanceof PyValueError)) throw error;
      commandError = `can't parse command ${pyRepr(values.command)}: ${error.message}`;
    }
    processes.push({
      name,
      group: groupName,
      programName,
      command: values.command,
      argv,
      ...(commandError === undefined ? {} : { commandError }),
      priority: settings.priority,
      autostart: settings.autostart,
      autorestart: settings.autorestart,
      startsecs: settings.startsecs,
      startretries: settings.startretries,
      exitcodes: settings.exitcodes,
      stopsignal: settings.stopsignal,
      stopwaitsecs: settings.stopwaitsecs,
      stopasgroup: settings.stopasgroup,
      killasgroup,
      user: settings.user?.name ?? null,
      ...(settings.user === null ? {} : { uid: settings.user.uid, gid: settings.user.gid }),
      redirectStderr: settings.redirect_stderr,
      stdout,
      stderr,
      environment: { ...state.supervisordEnvironment, ...environment },
      directory: values.directory,
      umask: settings.umask,
      serverurl: settings.serverurl ?? serverurl(),
      ...(settings.stdout_events_enabled ? { stdoutEventsEnabled: true } : {}),
      ...(settings.stderr_events_enabled ? { stderrEventsEnabled: true } : {}),
      ...(settings.stdout_capture_maxbytes > 0 ? { stdoutCaptureMaxBytes: settings.stdout_capture_maxbytes } : {}),
      ...(settings.stderr_capture_maxbytes > 0 ? { stderrCaptureMaxBytes: settings.stderr_capture_maxbytes } : {}),
    } satisfies ProcessConfig);
  }
  return processes.sort(byPriorityThenName);
}
