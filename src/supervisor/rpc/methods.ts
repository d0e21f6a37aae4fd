// The `supervisor.*` and `system.*` namespaces: each method's parameters go through a zod tuple once,
// then the typed handler runs against SupervisorControl. Group and "all" operations are composed
// (process-targets.ts) from the per-process ones, in supervisord's order, returning its result structs.
// The methods live by namespace, as in supervisord's rpcinterface.py: status-methods.ts (status and
// control), process-control-methods.ts, log-methods.ts and system-methods.ts.
import { safeParse } from 'zod/mini';
import { FaultCode, SupervisorFault, SupervisordState, type SupervisorControl } from '../types.js';
import { logMethods } from './log-methods.js';
import { compareStrings, describeParamError, type MethodDefinition } from './method-definition.js';
import { processControlMethods } from './process-control-methods.js';
import { ProcessTargets } from './process-targets.js';
import { statusMethods } from './status-methods.js';
import { systemMethods } from './system-methods.js';
import type { XmlRpcValue } from './xmlrpc.js';

export { API_VERSION } from '../protocol.js';
export { parseSignal } from './process-control-methods.js';

export class SupervisorRpc {
  readonly methods: ReadonlyMap<string, MethodDefinition>;

  /**
   * @param supervisorNamespace false without `[rpcinterface:supervisor]`: then only system.* exists,
   *   and supervisorctl says so (as with supervisord).
   */
  constructor(
    private readonly control: SupervisorControl,
    supervisorNamespace = true,
  ) {
    const targets = new ProcessTargets(control);
    const all = {
      ...statusMethods(control),
      ...processControlMethods(control, targets),
      ...logMethods(control, targets),
      ...systemMethods(this),
    };
    this.methods = new Map(
      Object.entries(all)
        .filter(([methodName]) => supervisorNamespace || methodName.startsWith('system.'))
        .sort(([a], [b]) => compareStrings(a, b)),
    );
  }

  /** Runs one call; every failure comes back as a SupervisorFault (the HTTP layer turns others into 500). */
  async call(methodName: string, params: XmlRpcValue[]): Promise<XmlRpcValue> {
    const parts = methodName.split('.');
    // Only `namespace.method` (supervisord's CVE-2017-11610 rule); no private names.
    const method = parts.length === 2 && !(parts[1] ?? '').startsWith('_') ? this.methods.get(methodName) : undefined;
    if (method === undefined) throw new SupervisorFault(FaultCode.UNKNOWN_METHOD);
    const parsed = safeParse(method.schema, params);
    if (!parsed.success) {
      throw new SupervisorFault(FaultCode.INCORRECT_PARAMETERS, describeParamError(methodName, method, parsed.error));
    }
    if (method.guarded) this.ensureRunning();
    return method.run(parsed.data as never);
  }

  private ensureRunning(): void {
    const state = this.control.state();
    if (state === SupervisordState.SHUTDOWN || state === SupervisordState.RESTARTING) {
      throw new SupervisorFault(FaultCode.SHUTDOWN_STATE);
    }
  }
}
