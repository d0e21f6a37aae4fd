// supervisorctl's log actions: tail (-f), maintail (-f), clear.
import { makeNamespec, splitNamespec } from '../protocol.js';
import { FaultCode } from '../types.js';
import { resultList, stringReply, type ResultReply } from './replies.js';
import { ExitStatus, type ActionTable, type CtlSession } from './session.js';
import { openStream, RpcFault } from './transport.js';

export function logActions(ctl: CtlSession): ActionTable {
  return {
    tail: (arg) => tail(ctl, arg),
    maintail: (arg) => maintail(ctl, arg),
    clear: (arg) => clear(ctl, arg),
  };
}

async function tail(ctl: CtlSession, arg: string): Promise<void> {
  if (!(await ctl.upcheck())) return;
  const args = arg.split(/\s+/).filter((n) => n !== '');
  if (args.length < 1) {
    ctl.output('Error: too few arguments');
    ctl.exitStatus = ExitStatus.GENERIC;
    ctl.helpFor('tail');
    return;
  }
  if (args.length > 3) {
    ctl.output('Error: too many arguments');
    ctl.exitStatus = ExitStatus.GENERIC;
    ctl.helpFor('tail');
    return;
  }
  const modifier = args[0]?.startsWith('-') ? args.shift() : undefined;
  let name: string;
  let channel = 'stdout';
  if (args.length === 1) {
    name = args[0] ?? '';
  } else if (args.length > 0) {
    name = args[0] ?? '';
    channel = (args[args.length - 1] ?? '').toLowerCase();
    if (channel !== 'stderr' && channel !== 'stdout') ctl.fail(ExitStatus.GENERIC, `Error: bad channel '${channel}'`);
  } else {
    ctl.fail(ExitStatus.GENERIC, 'Error: tail requires process name');
  }
  let bytes: number | 'follow' = 1600;
  if (modifier !== undefined) {
    const what = modifier.slice(1);
    if (what === 'f') bytes = 'follow';
    else if (/^\s*[+-]?\d+\s*$/.test(what)) bytes = Number(what);
    else ctl.fail(ExitStatus.GENERIC, `Error: bad argument ${modifier}`);
  }
  if (bytes === 'follow') {
    await follow(ctl, `/logtail/${name}/${channel}`);
    return;
  }
  try {
    const method = channel === 'stdout' ? 'supervisor.readProcessStdoutLog' : 'supervisor.readProcessStderrLog';
    ctl.output(await ctl.rpc(method, [name, -bytes, 0], stringReply));
  } catch (error) {
    if (!(error instanceof RpcFault)) throw error;
    ctl.exitStatus = ExitStatus.GENERIC;
    if (error.faultCode === FaultCode.NO_FILE) ctl.output(`${name}: ERROR (no log file)`);
    else if (error.faultCode === FaultCode.FAILED) ctl.output(`${name}: ERROR (unknown error reading log)`);
    else if (error.faultCode === FaultCode.BAD_NAME) ctl.output(`${name}: ERROR (no such process name)`);
    else throw error;
  }
}

async function maintail(ctl: CtlSession, arg: string): Promise<void> {
  if (!(await ctl.upcheck())) return;
  const args = arg.split(/\s+/).filter((n) => n !== '');
  let bytes = 1600;
  if (args.length > 1) {
    ctl.output('Error: too many arguments');
    ctl.exitStatus = ExitStatus.GENERIC;
    ctl.helpFor('maintail');
    return;
  }
  const first = args[0];
  if (first !== undefined) {
    if (!first.startsWith('-')) ctl.fail(ExitStatus.GENERIC, `Error: bad argument ${first}`);
    const what = first.slice(1);
    if (what === 'f') {
      await follow(ctl, '/mainlogtail');
      return;
    }
    if (!/^\s*[+-]?\d+\s*$/.test(what)) ctl.fail(ExitStatus.GENERIC, `Error: bad argument ${first}`);
    bytes = Number(what);
  }
  try {
    ctl.output(await ctl.rpc('supervisor.readLog', [-bytes, 0], stringReply));
  } catch (error) {
    if (!(error instanceof RpcFault)) throw error;
    ctl.exitStatus = ExitStatus.GENERIC;
    if (error.faultCode === FaultCode.NO_FILE) ctl.output('supervisord: ERROR (no log file)');
    else if (error.faultCode === FaultCode.FAILED) ctl.output('supervisord: ERROR (unknown error reading log)');
    else throw error;
  }
}

/** `tail -f`: stream an HTTP log endpoint until the server closes it or the user presses Ctrl-C. */
async function follow(ctl: CtlSession, path: string): Promise<void> {
  ctl.output('==> Press Ctrl-C to exit <==');
  const url = `${ctl.options.serverurl}${path}`;
  let stream: { close(): void } | undefined;
  const ended = new Promise<'ended'>((resolve) => {
    stream = openStream(ctl.client.target, path, ctl.options, {
      status: (code) => {
        if (code !== 200) ctl.io.err(`${url} Cannot read, status code ${code}\n`);
      },
      data: (chunk) => ctl.io.out(chunk.toString('utf8')),
      end: () => resolve('ended'),
      error: (error) => {
        ctl.io.err(`${url} Cannot connect, error: ${error.code} (${error.message})\n`);
        resolve('ended');
      },
    });
  });
  const outcome = await Promise.race([ended, ctl.io.interrupted().then(() => 'interrupted' as const)]);
  stream?.close();
  if (outcome === 'interrupted') ctl.output('');
}

function clearResult(result: ResultReply): string {
  const name = makeNamespec(result.group, result.name);
  if (result.status === FaultCode.BAD_NAME) return `${name}: ERROR (no such process)`;
  if (result.status === FaultCode.FAILED) return `${name}: ERROR (failed)`;
  if (result.status === FaultCode.SUCCESS) return `${name}: cleared`;
  throw new Error(`Unknown result code ${result.status} for ${name}`);
}

async function clear(ctl: CtlSession, arg: string): Promise<void> {
  if (!(await ctl.upcheck())) return;
  const names = arg.split(/\s+/).filter((n) => n !== '');
  if (names.length === 0) {
    ctl.output('Error: clear requires a process name');
    ctl.exitStatus = ExitStatus.GENERIC;
    ctl.helpFor('clear');
    return;
  }
  const report = (results: ResultReply[]): void => {
    for (const result of results) {
      ctl.output(clearResult(result));
      ctl.setExitFromFault(result.status);
    }
  };
  if (names.includes('all')) {
    report(await ctl.rpc('supervisor.clearAllProcessLogs', [], resultList));
    return;
  }
  for (const name of names) {
    const { group, process } = splitNamespec(name);
    try {
      await ctl.client.call('supervisor.clearProcessLogs', [name]);
      ctl.output(`${process === null ? group : makeNamespec(group, process)}: cleared`);
    } catch (error) {
      report([ctl.faultResult(error, group, process)]);
    }
  }
}
