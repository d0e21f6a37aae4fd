// supervisorctl's configuration actions: avail, reread, update, add, remove.
import { makeNamespec } from '../protocol.js';
import { FaultCode } from '../types.js';
import { configInfoList, processInfoList, reloadReply, resultList } from './replies.js';
import { ExitStatus, padRight, type ActionTable, type CtlSession } from './session.js';
import { RpcFault } from './transport.js';

export function configActions(ctl: CtlSession): ActionTable {
  return {
    avail: (arg) => avail(ctl, arg),
    reread: (arg) => reread(ctl, arg),
    update: (arg) => update(ctl, arg),
    add: (arg) => add(ctl, arg),
    remove: (arg) => remove(ctl, arg),
  };
}

async function avail(ctl: CtlSession, arg: string): Promise<void> {
  ctl.noArguments('avail', arg);
  try {
    const infos = await ctl.rpc('supervisor.getAllConfigInfo', [], configInfoList);
    for (const info of infos) {
      const name = padRight(makeNamespec(info.group, info.name), 32);
      const inuse = padRight(info.inuse ? 'in use' : 'avail', 9);
      const autostart = padRight(info.autostart ? 'auto' : 'manual', 9);
      ctl.output(`${name} ${inuse} ${autostart} ${info.group_prio}:${info.process_prio}`);
    }
  } catch (error) {
    ctl.shuttingDownOr(error, 'ERROR: supervisor shutting down');
  }
}

async function reread(ctl: CtlSession, arg: string): Promise<void> {
  ctl.noArguments('reread', arg);
  let result;
  try {
    result = await ctl.rpc('supervisor.reloadConfig', [], reloadReply);
  } catch (error) {
    if (error instanceof RpcFault && error.faultCode === FaultCode.CANT_REREAD) {
      ctl.exitStatus = ExitStatus.GENERIC;
      ctl.output(`ERROR: ${error.faultString}`);
      return;
    }
    ctl.shuttingDownOr(error, 'ERROR: supervisor shutting down');
    return;
  }
  const [added, changed, removed] = result[0] ?? [[], [], []];
  const changes = new Map<string, string>();
  for (const name of added) changes.set(name, 'available');
  for (const name of changed) changes.set(name, 'changed');
  for (const name of removed) changes.set(name, 'disappeared');
  if (changes.size === 0) {
    ctl.output('No config updates to processes');
    return;
  }
  for (const name of [...changes.keys()].sort()) ctl.output(`${name}: ${changes.get(name) ?? ''}`);
}

async function update(ctl: CtlSession, arg: string): Promise<void> {
  let result;
  try {
    result = await ctl.rpc('supervisor.reloadConfig', [], reloadReply);
  } catch (error) {
    if (error instanceof RpcFault && error.faultCode === FaultCode.SHUTDOWN_STATE) {
      ctl.exitStatus = ExitStatus.GENERIC;
      ctl.output('ERROR: already shutting down');
      return;
    }
    ctl.exitStatus = ExitStatus.GENERIC;
    throw error;
  }
  const [added, changed, removed] = result[0] ?? [[], [], []];
  let wanted = new Set(arg.split(/\s+/).filter((n) => n !== ''));
  if (wanted.has('all')) wanted = new Set();
  if (wanted.size > 0) {
    const groups = new Set((await ctl.rpc('supervisor.getAllProcessInfo', [], processInfoList)).map((info) => info.group));
    for (const name of added) groups.add(name);
    // Python iterates a set here; sorted keeps our output stable.
    for (const name of [...wanted].sort()) {
      if (!groups.has(name)) {
        ctl.output(`ERROR: no such group: ${name}`);
        ctl.exitStatus = ExitStatus.GENERIC;
      }
    }
  }
  const selected = (name: string): boolean => wanted.size === 0 || wanted.has(name);
  for (const name of removed.filter(selected)) {
    const results = await ctl.rpc('supervisor.stopProcessGroup', [name], resultList);
    ctl.output(`${name}: stopped`);
    if (results.some((r) => r.status === FaultCode.FAILED)) {
      ctl.output(`${name}: has problems; not removing`);
      ctl.exitStatus = ExitStatus.GENERIC;
      continue;
    }
    await ctl.client.call('supervisor.removeProcessGroup', [name]);
    ctl.output(`${name}: removed process group`);
  }
  for (const name of changed.filter(selected)) {
    await ctl.rpc('supervisor.stopProcessGroup', [name], resultList);
    ctl.output(`${name}: stopped`);
    await ctl.client.call('supervisor.removeProcessGroup', [name]);
    await ctl.client.call('supervisor.addProcessGroup', [name]);
    ctl.output(`${name}: updated process group`);
  }
  for (const name of added.filter(selected)) {
    await ctl.client.call('supervisor.addProcessGroup', [name]);
    ctl.output(`${name}: added process group`);
  }
}

async function add(ctl: CtlSession, arg: string): Promise<void> {
  for (const name of arg.split(/\s+/).filter((n) => n !== '')) {
    try {
      await ctl.client.call('supervisor.addProcessGroup', [name]);
      ctl.output(`${name}: added process group`);
    } catch (error) {
      if (!(error instanceof RpcFault)) throw error;
      if (error.faultCode === FaultCode.SHUTDOWN_STATE) {
        ctl.output('ERROR: shutting down');
        ctl.exitStatus = ExitStatus.GENERIC;
      } else if (error.faultCode === FaultCode.ALREADY_ADDED) {
        ctl.output('ERROR: process group already active');
      } else if (error.faultCode === FaultCode.BAD_NAME) {
        ctl.output(`ERROR: no such process/group: ${name}`);
        ctl.exitStatus = ExitStatus.GENERIC;
      } else {
        ctl.exitStatus = ExitStatus.GENERIC;
        throw error;
      }
    }
  }
}

async function remove(ctl: CtlSession, arg: string): Promise<void> {
  for (const name of arg.split(/\s+/).filter((n) => n !== '')) {
    try {
      await ctl.client.call('supervisor.removeProcessGroup', [name]);
      ctl.output(`${name}: removed process group`);
    } catch (error) {
      if (!(error instanceof RpcFault)) throw error;
      ctl.exitStatus = ExitStatus.GENERIC;
      if (error.faultCode === FaultCode.STILL_RUNNING) ctl.output(`ERROR: process/group still running: ${name}`);
      else if (error.faultCode === FaultCode.BAD_NAME) ctl.output(`ERROR: no such process/group: ${name}`);
      else throw error;
    }
  }
}
