// The `system.*` namespace: introspection (listMethods, methodHelp, methodSignature) and multicall.
// These are not guarded: supervisord answers them during shutdown too.
import { _default, array, custom, object, safeParse, string, unknown, type ZodMiniType } from 'zod/mini';
import { FaultCode, SupervisorFault } from '../types.js';
import { define, isFault, nameParam, param, type MethodDefinition, type MethodTable } from './method-definition.js';
import type { XmlRpcValue } from './xmlrpc.js';

/** What system.* needs of the server: the methods it serves (read at call time) and a way to call one. */
export interface MethodDispatcher {
  readonly methods: ReadonlyMap<string, MethodDefinition>;
  call(methodName: string, params: XmlRpcValue[]): Promise<XmlRpcValue>;
}

const xmlRpcValue: ZodMiniType<XmlRpcValue> = custom<XmlRpcValue>(() => true);
const multicallEntry = object({ methodName: string(), params: _default(array(xmlRpcValue), []) });

function helpText(method: MethodDefinition): string {
  const lines = [method.help, ''];
  for (const p of method.params) lines.push(`@param ${p.type} ${p.name}`);
  lines.push(`@return ${method.returns} result`);
  return lines.join('\n');
}

async function multicallOne(dispatcher: MethodDispatcher, raw: unknown): Promise<XmlRpcValue> {
  const call = safeParse(multicallEntry, raw);
  try {
    if (!call.success) throw new SupervisorFault(FaultCode.INCORRECT_PARAMETERS, 'No methodName');
    if (call.data.methodName === 'system.multicall') {
      throw new SupervisorFault(FaultCode.INCORRECT_PARAMETERS, 'Recursive system.multicall forbidden');
    }
    return await dispatcher.call(call.data.methodName, call.data.params);
  } catch (error) {
    if (isFault(error)) return { faultCode: error.code, faultString: error.message };
    return { faultCode: FaultCode.FAILED, faultString: `FAILED: ${error instanceof Error ? error.message : String(error)}` };
  }
}

export function systemMethods(dispatcher: MethodDispatcher): MethodTable {
  const lookUpMethod = (method: string): MethodDefinition => {
    const found = dispatcher.methods.get(method);
    if (found === undefined) throw new SupervisorFault(FaultCode.SIGNATURE_UNSUPPORTED);
    return found;
  };
  return {
    'system.listMethods': define({
      help: 'Return an array listing the available method names.',
      returns: 'array',
      params: [],
      guarded: false,
      run: () => [...dispatcher.methods.keys()],
    }),
    'system.methodHelp': define({
      help: "Return a string showing the method's documentation.",
      returns: 'string',
      params: [nameParam],
      guarded: false,
      run: ([method]) => helpText(lookUpMethod(method)),
    }),
    'system.methodSignature': define({
      help: 'Return [rtype, ptype, ptype...] for the method.',
      returns: 'array',
      params: [nameParam],
      guarded: false,
      run: ([method]) => {
        const found = lookUpMethod(method);
        return [found.returns, ...found.params.map((p) => p.type)];
      },
    }),
    'system.multicall': define({
      help: 'Process an array of {methodName, params} calls; each result is a value or a fault struct.',
      returns: 'array',
      params: [param('array', 'calls', array(unknown()))],
      guarded: false,
      run: async ([calls]) => {
        const results: XmlRpcValue[] = [];
        // One after the other, as supervisord does: a later call may depend on an earlier one.
        for (const raw of calls) results.push(await multicallOne(dispatcher, raw));
        return results;
      },
    }),
  };
}
