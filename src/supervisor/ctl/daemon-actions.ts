// supervisorctl's actions on supervisord itself and on the shell: help, shutdown, reload, version,
// open, and quit/exit/EOF.
import { FaultCode } from '../types.js';
import { HELP_TEXT, TOPICS_TABLE } from './help.js';
import { status } from './process-actions.js';
import { stringReply } from './replies.js';
import { ExitStatus, type ActionTable, type CtlSession } from './session.js';
import { RpcConnectionError, RpcFault } from './transport.js';

export function daemonActions(ctl: CtlSession): ActionTable {
  const leave = async (): Promise<boolean> => {
    ctl.output('');
    return true;
  };
  return {
    help: (arg) => help(ctl, arg),
    EOF: leave,
    quit: leave,
    exit: leave,
    shutdown: (arg) => shutdown(ctl, arg),
    reload: (arg) => reload(ctl, arg),
    version: (arg) => version(ctl, arg),
    open: (arg) => open(ctl, arg),
  };
}

async function help(ctl: CtlSession, arg: string): Promise<void> {
  const topic = arg.trim();
  if (topic === '') {
    ctl.output('');
    ctl.io.out(TOPICS_TABLE);
    return;
  }
  if (HELP_TEXT[arg] !== undefined) ctl.helpFor(arg);
  else ctl.output(`*** No help on ${arg}`);
}

async function shutdown(ctl: CtlSession, arg: string): Promise<void> {
  if (arg !== '') {
    ctl.output('Error: shutdown accepts no arguments');
    ctl.exitStatus = ExitStatus.GENERIC;
    ctl.helpFor('shutdown');
    return;
  }
  if (!(await ctl.confirm('Really shut the remote supervisord process down y/N? '))) return;
  try {
    await ctl.client.call('supervisor.shutdown', []);
    ctl.output('Shut down');
  } catch (error) {
    if (error instanceof RpcFault) {
      if (error.faultCode === FaultCode.SHUTDOWN_STATE) {
        ctl.output('ERROR: already shutting down');
        return;
      }
      ctl.exitStatus = ExitStatus.GENERIC;
      throw error;
    }
    if (error instanceof RpcConnectionError && (error.code === 'ECONNREFUSED' || error.code === 'ENOENT')) {
      ctl.exitStatus = ExitStatus.GENERIC;
      const what = error.code === 'ECONNREFUSED' ? 'refused connection' : 'no such file';
      ctl.output(`ERROR: ${ctl.options.serverurl} ${what} (already shut down?)`);
      return;
    }
    if (error instanceof RpcConnectionError) ctl.exitStatus = ExitStatus.GENERIC;
    throw error;
  }
}

async function reload(ctl: CtlSession, arg: string): Promise<void> {
  if (arg !== '') {
    ctl.output('Error: reload accepts no arguments');
    ctl.exitStatus = ExitStatus.GENERIC;
    ctl.helpFor('reload');
    return;
  }
  if (!(await ctl.confirm('Really restart the remote supervisord process y/N? '))) return;
  try {
    await ctl.client.call('supervisor.restart', []);
    ctl.output('Restarted supervisord');
  } catch (error) {
    if (error instanceof RpcFault) {
      ctl.exitStatus = ExitStatus.GENERIC;
      if (error.faultCode === FaultCode.SHUTDOWN_STATE) {
        ctl.output('ERROR: already shutting down');
        return;
      }
    }
    throw error;
  }
}

async function version(ctl: CtlSession, arg: string): Promise<void> {
  ctl.noArguments('version', arg);
  if (!(await ctl.upcheck())) return;
  ctl.output(await ctl.rpc('supervisor.getSupervisorVersion', [], stringReply));
}

async function open(ctl: CtlSession, arg: string): Promise<void> {
  const url = arg.trim();
  if (!/^(unix|http):/.test(url)) {
    ctl.output('ERROR: url must be http:// or unix://');
    ctl.exitStatus = ExitStatus.GENERIC;
    return;
  }
  ctl.reconnect(url);
  const before = ctl.exitStatus;
  await status(ctl, '');
  ctl.exitStatus = before;
}
