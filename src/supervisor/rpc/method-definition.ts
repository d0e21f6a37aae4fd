// How an XML-RPC method is described: its positional parameters (XML-RPC type, name, zod schema: each
// call's parameters are parsed once, here) and its handler; plus the helpers the method tables share.
// zod/mini, as the config loader: supervisord keeps whatever it loads (npm run bench:supervisor). The English
// messages of full zod are loaded with it (./zod-messages.ts), so parameter faults read as before.
import { int, number, string, tuple, type core, type ZodMiniType } from 'zod/mini';
import './zod-messages.js';
import { SupervisorFault } from '../types.js';
import type { XmlRpcValue } from './xmlrpc.js';
import { makeNamespec } from '../protocol.js';

export type WireType = 'string' | 'int' | 'boolean' | 'array' | 'struct';

/** One positional parameter: its XML-RPC type and name (for system.methodSignature/methodHelp) and its schema. */
export interface Param<T> {
  type: WireType;
  name: string;
  schema: ZodMiniType<T, unknown>;
}

type ParamValues<P extends readonly Param<unknown>[]> = { [K in keyof P]: P[K] extends Param<infer T> ? T : never };

export interface MethodDefinition {
  help: string;
  returns: WireType;
  params: readonly Param<unknown>[];
  schema: ZodMiniType<unknown[], unknown>;
  /** False for system.*: supervisord answers those during shutdown too. */
  guarded: boolean;
  run(args: never): Promise<XmlRpcValue> | XmlRpcValue;
}

/** A namespace's methods by full name (`supervisor.getState`). */
export type MethodTable = Record<string, MethodDefinition>;

export const param = <T>(type: WireType, paramName: string, schema: ZodMiniType<T, unknown>): Param<T> => ({ type, name: paramName, schema });
/** Full zod's number().int(): a number schema checked by the int format (mini's int() alone is not it). */
export const integer = (): ZodMiniType<number, number> => number().check(int());

export const nameParam = param('string', 'name', string());
export const offsetParam = param('int', 'offset', integer());
export const lengthParam = param('int', 'length', integer());

export function define<const P extends readonly Param<unknown>[]>(definition: {
  help: string;
  returns: WireType;
  params: P;
  guarded?: boolean;
  run: (args: ParamValues<P>) => Promise<XmlRpcValue> | XmlRpcValue;
}): MethodDefinition {
  const schemas = definition.params.map((p) => p.schema) as [ZodMiniType];
  return {
    guarded: true,
    ...definition,
    schema: tuple(schemas),
    run: definition.run,
  };
}

export function namespec(info: { group: string; name: string }): string {
  return makeNamespec(info.group, info.name);
}

export function isFault(error: unknown): error is SupervisorFault {
  return error instanceof SupervisorFault;
}

/** A fault passes through; anything else thrown by the control becomes the fault `otherwise` builds. */
export function asFault(error: unknown, otherwise: (message: string) => SupervisorFault): SupervisorFault {
  return isFault(error) ? error : otherwise(error instanceof Error ? error.message : String(error));
}

export const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function describeParamError(methodName: string, method: MethodDefinition, error: core.$ZodError): string {
  const expected = method.params.map((p) => `${p.type} ${p.name}`).join(', ');
  const issue = error.issues[0];
  const where = issue && issue.path.length > 0 ? ` (param ${String(issue.path[0])}: ${issue.message})` : issue ? ` (${issue.message})` : '';
  return `${methodName}(${expected})${where}`;
}
