// The codec checked against Python's xmlrpc.client (a real python3 child process, as supervisord's peers
// use it): what Python's dumps writes, ours decodes to what Python's loads gives; what ours writes, Python
// loads to the value we meant. One python3 run covers both directions.
import { execFileSync } from 'node:child_process';
import { beforeAll, expect, it } from 'vitest';
import { decodeCall, decodeResponse, encodeCall, encodeResult, XmlRpcDouble, type XmlRpcValue } from '../../../src/supervisor/rpc/xmlrpc.js';
import { describeWithPeers } from '../fixtures.js';

/** Values as JSON with their XML-RPC type kept: what both sides are compared on. */
type Tagged = string | null | { int: number } | { boolean: boolean } | { double: number } | { base64: string } | Tagged[] | { struct: Record<string, Tagged> };

const PYTHON = String.raw`
import json, sys
from xmlrpc.client import Binary, DateTime, Fault, dumps, loads

def tag(v):
    if isinstance(v, bool): return {'boolean': v}
    if isinstance(v, int): return {'int': v}
    if isinstance(v, float): return {'double': v}
    if isinstance(v, str): return v
    if isinstance(v, Binary): return {'base64': v.data.hex()}
    if isinstance(v, DateTime): return v.value
    if v is None: return None
    if isinstance(v, (list, tuple)): return [tag(x) for x in v]
    if isinstance(v, dict): return {'struct': {k: tag(x) for k, x in v.items()}}
    raise TypeError(type(v))

RICH = [0, -2**31, 2**31 - 1, True, False, '', 'plain', ' spaced \n\t text ', '<&>"\'', 'é 海 😀 \ufffd', 'a\r\nb\rc',
        1.5, -0.25, 1e300, 2.0, Binary(bytes(range(256)) * 2), Binary(b''), None, [], [1, [2, ['deep']]], {},
        {'k': 'v', 'nested': {'a': [1, 'x']}, ' spaced key ': 1, '<k&>': 2}, DateTime('20260101T12:00:00')]

ours = json.load(sys.stdin)
call = dumps(tuple(RICH), 'supervisor.rich', allow_none=True)
response = dumps((RICH,), methodresponse=True, allow_none=True)
out = {
    'call': call,
    'response': response,
    'fault': dumps(Fault(10, 'BAD_NAME: <x> & "y"')),
    # What Python itself reads back ('a\r\nb\rc' arrives as 'a\nb\nc': XML normalises line ends).
    'loadedCall': tag(loads(call, use_builtin_types=False)[0]),
    'loadedResponse': tag(loads(response, use_builtin_types=False)[0][0]),
    'loaded': [tag(loads(doc, use_builtin_types=False)) for doc in ours],
}
json.dump(out, sys.stdout)
`;

function tagged(value: XmlRpcValue): Tagged {
  if (typeof value === 'string' || value === null) return value;
  if (typeof value === 'boolean') return { boolean: value };
  if (typeof value === 'number') return Number.isInteger(value) ? { int: value } : { double: value };
  if (value instanceof XmlRpcDouble) return { double: value.value };
  if (value instanceof Uint8Array) return { base64: Buffer.from(value).toString('hex') };
  if (Array.isArray(value)) return value.map(tagged);
  return { struct: Object.fromEntries(Object.entries(value).map(([key, member]) => [key, tagged(member)])) };
}

const OURS: XmlRpcValue[] = [
  0,
  -(2 ** 31),
  2 ** 31 - 1,
  true,
  '',
  ' spaced \n\t text ',
  '<&>"\' ]]> &amp;',
  'é 海 😀 \ufffd',
  new XmlRpcDouble(2),
  new XmlRpcDouble(-0.1),
  1.5,
  new Uint8Array(300).map((_, i) => i % 256),
  null,
  [[], {}, [1, ['deep']]],
  { k: 'v', nested: { a: [1, 'x'] }, ' spaced key ': 1, '<k&>': false },
];

interface PythonReply {
  call: string;
  response: string;
  fault: string;
  loadedCall: Tagged[];
  loadedResponse: Tagged[];
  loaded: Tagged[];
}

describeWithPeers(['/usr/bin/python3'])('the codec against Python xmlrpc.client', () => {
  let python: PythonReply;
  beforeAll(() => {
    const ourDocuments = [encodeCall('supervisor.rich', OURS), encodeResult(OURS)];
    python = JSON.parse(execFileSync('python3', ['-c', PYTHON], { input: JSON.stringify(ourDocuments), encoding: 'utf8' })) as PythonReply;
  });

  it('decodes what Python dumps to what Python loads (a call, a response, a fault)', () => {
    const call = decodeCall(python.call);
    expect(call.methodName).toBe('supervisor.rich');
    expect(call.params.map(tagged)).toEqual(python.loadedCall);
    const response = decodeResponse(python.response);
    expect(response.kind === 'result' && tagged(response.value)).toEqual(python.loadedResponse);
    expect(python.loadedCall).toContain('a\nb\nc');
    expect(decodeResponse(python.fault)).toEqual({ kind: 'fault', fault: { faultCode: 10, faultString: 'BAD_NAME: <x> & "y"' } });
  });

  it('writes what Python loads back to the same values', () => {
    const [loadedCall, loadedResponse] = python.loaded;
    // loads gives (params, methodname) for a call and ((value,), None) for a response.
    expect(loadedCall).toEqual([OURS.map(tagged), 'supervisor.rich']);
    expect(loadedResponse).toEqual([[OURS.map(tagged)], null]);
  });
});
