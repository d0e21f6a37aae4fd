// supervisord's "status and control" methods (rpcinterface.py): versions, identification, state, pid,
// shutdown/restart, and the re-read configuration's groups (reloadConfig, add/removeProcessGroup).
import { FaultCode, SUPERVISOR_VERSION, SupervisorFault, SupervisordState, type SupervisorControl } from '../types.js';
import { define, nameParam, type MethodTable } from './method-definition.js';
import { API_VERSION } from '../protocol.js';

export function statusMethods(control: SupervisorControl): MethodTable {
  const version = define({
    help: 'Return the version of the RPC API used by supervisord.',
    returns: 'string',
    params: [],
    run: () => API_VERSION,
  });
  return {
    'supervisor.getAPIVersion': version,
    'supervisor.getVersion': version,
    'supervisor.getSupervisorVersion': define({
      help: 'Return the version of the supervisor package in use by supervisord.',
      returns: 'string',
      params: [],
      run: () => SUPERVISOR_VERSION,
    }),
    'supervisor.getIdentification': define({
      help: 'Return the identifying string of supervisord.',
      returns: 'string',
      params: [],
      run: () => control.identification,
    }),
    'supervisor.getState': define({
      help: 'Return the current state of supervisord as a struct {statecode, statename}.',
      returns: 'struct',
      params: [],
      run: () => {
        const state = control.state();
        return { statecode: state, statename: SupervisordState[state] ?? 'UNKNOWN' };
      },
    }),
    'supervisor.getPID': define({
      help: 'Return the PID of supervisord.',
      returns: 'int',
      params: [],
      run: () => control.pid,
    }),
    'supervisor.shutdown': define({
      help: 'Shut down the supervisor process.',
      returns: 'boolean',
      params: [],
      run: () => {
        control.shutdown();
        return true;
      },
    }),
    'supervisor.restart': define({
      help: 'Restart the supervisor process.',
      returns: 'boolean',
      params: [],
      run: () => {
        control.restart();
        return true;
      },
    }),
    'supervisor.reloadConfig': define({
      help: 'Re-read the configuration: [[added, changed, removed]] group names.',
      returns: 'array',
      params: [],
      run: async () => {
        const result = await control.reloadConfig();
        return [[result.added, result.changed, result.removed]];
      },
    }),
    'supervisor.addProcessGroup': define({
      help: 'Start managing a process group from the re-read configuration.',
      returns: 'boolean',
      params: [nameParam],
      run: async ([group]) => {
        await control.addProcessGroup(group);
        return true;
      },
    }),
    'supervisor.removeProcessGroup': define({
      help: 'Remove a stopped process group from the active configuration.',
      returns: 'boolean',
      params: [nameParam],
      run: async ([group]) => {
        if (!control.processes().some((p) => p.group === group)) throw new SupervisorFault(FaultCode.BAD_NAME, group);
        await control.removeProcessGroup(group);
        return true;
      },
    }),
  };
}
