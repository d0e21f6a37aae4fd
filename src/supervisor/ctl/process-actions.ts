// supervisorctl's process actions: status, start, stop, restart, signal, pid, fg.
import { makeNamespec, splitNamespec } from '../protocol.js';
import { FaultCode, ProcessState, STOPPED_STATES } from '../types.js';
import { intReply, processInfo, processInfoList, resultList, stringReply, type ProcessInfoReply, type ResultReply } from './replies.js';
import { ExitStatus, padRight, StatusExit, type ActionTable, type CtlSession } from './session.js';
import { openStream, RpcFault } from './transport.js';

export function processActions(ctl: CtlSession): ActionTable {
  return {
    status: (arg) => status(ctl, arg),
    start: (arg) => start(ctl, arg),
    stop: (arg) => stop(ctl, arg),
    restart: (arg) => restart(ctl, arg),
    signal: (arg) => signal(ctl, arg),
    pid: (arg) => pid(ctl, arg),
    fg: (arg) => fg(ctl, arg),
  };
}

export async function status(ctl: CtlSession, arg: string): Promise<void> {
  // The real client's two calls (the upcheck's getVersion, then the listing) sent together in one
  // system.multicall: one connection and one round trip instead of two (status is what probes run, often).
  const replies = ctl.callTogether(['supervisor.getVersion', 'supervisor.getAllProcessInfo']);
  const version = replies.then(([reply]) => ctl.parseReply('supervisor.getVersion', reply ?? null, stringReply));
  const listing = replies.then(([, reply]) => ctl.parseReply('supervisor.getAllProcessInfo', reply ?? null, processInfoList));
  listing.catch(() => undefined);
  if (!(await ctl.upcheck(version))) {
    ctl.exitStatus = StatusExit.UNKNOWN;
    return;
  }
  const all = await listing;
  const names = arg.split(/\s+/).filter((n) => n !== '');
  let matching: ProcessInfoReply[];
  if (names.length === 0 || names.includes('all')) {
    matching = all;
  } else {
    matching = [];
    for (const name of names) {
      const { group, process } = splitNamespec(name);
      const found = all.filter((info) => info.group === group && (process === null || info.name === process));
      matching.push(...found);
      if (found.length === 0) {
        ctl.output(process === null ? `${group}: ERROR (no such group)` : `${name}: ERROR (no such process)`);
        ctl.exitStatus = StatusExit.UNKNOWN;
      }
    }
  }
  showStatuses(ctl, matching);
  if (matching.some((info) => STOPPED_STATES.has(info.state))) ctl.exitStatus = StatusExit.NOT_RUNNING;
}

function showStatuses(ctl: CtlSession, infos: ProcessInfoReply[]): void {
  const specs = infos.map((info) => makeNamespec(info.group, info.name));
  const width = Math.max(30, ...specs.map((s) => s.length)) + 3;
  infos.forEach((info, i) => {
    ctl.output(`${padRight(specs[i] ?? '', width)}${padRight(info.statename, 10)}${info.description}`);
  });
}

async function pid(ctl: CtlSession, arg: string): Promise<void> {
  if (!(await ctl.upcheck())) return;
  const names = arg.split(/\s+/).filter((n) => n !== '');
  if (names.length === 0) {
    ctl.output(String(await ctl.rpc('supervisor.getPID', [], intReply)));
    return;
  }
  if (names.includes('all')) {
    for (const info of await ctl.rpc('supervisor.getAllProcessInfo', [], processInfoList)) ctl.output(String(info.pid));
    return;
  }
  for (const name of names) {
    try {
      const info = await ctl.rpc('supervisor.getProcessInfo', [name], processInfo);
      ctl.output(String(info.pid));
      if (info.pid === 0) ctl.exitStatus = ExitStatus.NOT_RUNNING;
    } catch (error) {
      if (!(error instanceof RpcFault)) throw error;
      ctl.exitStatus = ExitStatus.GENERIC;
      if (error.faultCode !== FaultCode.BAD_NAME) throw error;
      ctl.output(`No such process ${name}`);
    }
  }
}

function startResult(result: ResultReply): string {
  const name = makeNamespec(result.group, result.name);
  const messages: Record<number, string> = {
    [FaultCode.BAD_NAME]: 'no such process',
    [FaultCode.NO_FILE]: 'no such file',
    [FaultCode.NOT_EXECUTABLE]: 'file is not executable',
    [FaultCode.ALREADY_STARTED]: 'already started',
    [FaultCode.SPAWN_ERROR]: 'spawn error',
    [FaultCode.ABNORMAL_TERMINATION]: 'abnormal termination',
  };
  if (result.status === FaultCode.SUCCESS) return `${name}: started`;
  const message = messages[result.status];
  if (message === undefined) throw new Error(`Unknown result code ${result.status} for ${name}`);
  return `${name}: ERROR (${message})`;
}

function signalResult(result: ResultReply, success = 'signalled'): string {
  const name = makeNamespec(result.group, result.name);
  switch (result.status) {
    case FaultCode.BAD_NAME:
      return `${name}: ERROR (no such process)`;
    case FaultCode.BAD_SIGNAL:
      return `${name}: ERROR (bad signal name)`;
    case FaultCode.NOT_RUNNING:
      return `${name}: ERROR (not running)`;
    case FaultCode.SUCCESS:
      return `${name}: ${success}`;
    case FaultCode.FAILED:
      return result.description;
    default:
      throw new Error(`Unknown result code ${result.status} for ${name}`);
  }
}

async function start(ctl: CtlSession, arg: string): Promise<void> {
  if (!(await ctl.upcheck())) return;
  const names = arg.split(/\s+/).filter((n) => n !== '');
  if (names.length === 0) {
    ctl.output('Error: start requires a process name');
    ctl.exitStatus = ExitStatus.INVALID_ARGS;
    ctl.helpFor('start');
    return;
  }
  await onProcesses(ctl, names, [], {
    verb: 'start',
    done: 'started',
    describe: (result) => startResult(result),
    harmlessFault: FaultCode.ALREADY_STARTED,
    noSuchGroupExit: ExitStatus.INVALID_ARGS,
  });
}

async function stop(ctl: CtlSession, arg: string): Promise<void> {
  if (!(await ctl.upcheck())) return;
  const names = arg.split(/\s+/).filter((n) => n !== '');
  if (names.length === 0) {
    ctl.output('Error: stop requires a process name');
    ctl.exitStatus = ExitStatus.GENERIC;
    ctl.helpFor('stop');
    return;
  }
  await onProcesses(ctl, names, [], {
    verb: 'stop',
    done: 'stopped',
    describe: (result) => signalResult(result, 'stopped'),
    harmlessFault: FaultCode.NOT_RUNNING,
    noSuchGroupExit: ExitStatus.GENERIC,
  });
}

/**
 * start/stop/signal on `all`, on `group:*` names and on single processes, through
 * supervisor.<verb>AllProcesses / <verb>ProcessGroup / <verb>Process, reporting each result
 * line as the real client does. `extra` follows the name in each call (the signal).
 */
async function onProcesses(
  ctl: CtlSession,
  names: readonly string[],
  extra: string[],
  how: {
    verb: 'start' | 'stop' | 'signal';
    done: string;
    describe(result: ResultReply): string;
    /** A per-process fault that does not change the exit status (already started / not running). */
    harmlessFault?: number;
    noSuchGroupExit: number;
  },
): Promise<void> {
  const report = (results: ResultReply[]): void => {
    for (const result of results) {
      ctl.output(how.describe(result));
      ctl.setExitFromFault(result.status, how.harmlessFault);
    }
  };
  if (names.includes('all')) {
    report(await ctl.rpc(`supervisor.${how.verb}AllProcesses`, extra, resultList));
    return;
  }
  for (const name of names) {
    const { group, process } = splitNamespec(name);
    if (process === null) {
      try {
        report(await ctl.rpc(`supervisor.${how.verb}ProcessGroup`, [group, ...extra], resultList));
      } catch (error) {
        if (!(error instanceof RpcFault && error.faultCode === FaultCode.BAD_NAME)) throw error;
        ctl.output(`${group}: ERROR (no such group)`);
        ctl.exitStatus = how.noSuchGroupExit;
      }
      continue;
    }
    try {
      await ctl.client.call(`supervisor.${how.verb}Process`, [name, ...extra]);
      ctl.output(`${makeNamespec(group, process)}: ${how.done}`);
    } catch (error) {
      report([ctl.faultResult(error, group, process)]);
    }
  }
}

async function restart(ctl: CtlSession, arg: string): Promise<void> {
  if (!(await ctl.upcheck())) return;
  if (arg.trim() === '') {
    ctl.output('Error: restart requires a process name');
    ctl.exitStatus = ExitStatus.GENERIC;
    ctl.helpFor('restart');
    return;
  }
  await stop(ctl, arg);
  await start(ctl, arg);
}

async function signal(ctl: CtlSession, arg: string): Promise<void> {
  if (!(await ctl.upcheck())) return;
  const args = arg.split(/\s+/).filter((n) => n !== '');
  const [signal, ...names] = args;
  if (signal === undefined || names.length === 0) {
    ctl.output('Error: signal requires a signal name and a process name');
    ctl.helpFor('signal');
    ctl.exitStatus = ExitStatus.GENERIC;
    return;
  }
  await onProcesses(ctl, names, [signal], {
    verb: 'signal',
    done: 'signalled',
    describe: (result) => signalResult(result),
    noSuchGroupExit: ExitStatus.GENERIC,
  });
}

async function fg(ctl: CtlSession, arg: string): Promise<void> {
  if (!(await ctl.upcheck())) return;
  const names = arg.split(/\s+/).filter((n) => n !== '');
  if (names.length === 0) {
    ctl.output('ERROR: no process name supplied');
    ctl.exitStatus = ExitStatus.GENERIC;
    ctl.helpFor('fg');
    return;
  }
  if (names.length > 1) ctl.fail(ExitStatus.GENERIC, 'ERROR: too many process names supplied');
  const name = names[0] ?? '';
  let info;
  try {
    info = await ctl.rpc('supervisor.getProcessInfo', [name], processInfo);
  } catch (error) {
    if (!(error instanceof RpcFault)) throw error;
    if (error.faultCode === FaultCode.BAD_NAME) ctl.fail(ExitStatus.GENERIC, 'ERROR: bad process name supplied');
    ctl.output(`ERROR: ${error.message}`);
    return;
  }
  if (info.state !== ProcessState.RUNNING) ctl.fail(ExitStatus.GENERIC, 'ERROR: process not running');
  ctl.output('==> Press Ctrl-C to exit <==');
  // The process's stdout and stderr stream to us; each line typed goes to its stdin.
  const streams = (['stdout', 'stderr'] as const).map((channel) => {
    const path = `/logtail/${name}/${channel}`;
    return openStream(ctl.client.target, path, ctl.options, {
      status: (code) => {
        if (code !== 200) ctl.io.err(`${ctl.options.serverurl}${path} Cannot read, status code ${code}\n`);
      },
      data: (chunk) => ctl.io.out(chunk.toString('utf8')),
      end: () => undefined,
      error: () => undefined,
    });
  });
  const interrupted = ctl.io.interrupted().then(() => null);
  try {
    for (;;) {
      const line = await Promise.race([ctl.io.readLine(), interrupted]);
      if (line === null) {
        ctl.output('Exiting foreground');
        return;
      }
      try {
        await ctl.client.call('supervisor.sendProcessStdin', [name, `${line}\n`]);
      } catch (error) {
        if (!(error instanceof RpcFault)) throw error;
        ctl.output(error.faultCode === FaultCode.NOT_RUNNING ? 'Process got killed' : `ERROR: ${error.message}`);
        ctl.output('Exiting foreground');
        return;
      }
      const now = await ctl.rpc('supervisor.getProcessInfo', [name], processInfo);
      if (now.state !== ProcessState.RUNNING) {
        ctl.output('Process got killed');
        ctl.output('Exiting foreground');
        return;
      }
    }
  } finally {
    for (const stream of streams) stream.close();
  }
}
