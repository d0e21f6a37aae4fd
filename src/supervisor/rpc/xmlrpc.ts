// XML-RPC codec shared by the server (rpc/) and the client (ctl/).
// The output mirrors Python's xmlrpc.client Marshaller line for line (newline placement, `<value><string>`
// for every string, `<int>`/`<boolean>`), because supervisord's peers were written against that output.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { decodeUtf8Strict, describeInvalidUtf8, findInvalidUtf8, findUnsafeText, describeUnsafeText } from '../../shared/text.js';

/** A double that happens to be integral would otherwise be sent as `<int>`. */
export class XmlRpcDouble {
  constructor(readonly value: number) {}
}

export type XmlRpcValue =
  | string
  | number
  | boolean
  | null
  | XmlRpcDouble
  | Uint8Array
  | XmlRpcValue[]
  | { [key: string]: XmlRpcValue };

export interface XmlRpcFault {
  faultCode: number;
  faultString: string;
}

export interface XmlRpcCall {
  methodName: string;
  params: XmlRpcValue[];
}

export type XmlRpcResponse = { kind: 'result'; value: XmlRpcValue } | { kind: 'fault'; fault: XmlRpcFault };

/** Malformed XML or a document that is not XML-RPC. */
export class XmlRpcParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XmlRpcParseError';
  }
}

const INT_MIN = -(2 ** 31);
const INT_MAX = 2 ** 31 - 1;

function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function encodeValue(value: XmlRpcValue, out: string[]): void {
  if (typeof value === 'string') {
    out.push('<value><string>', escapeText(value), '</string></value>\n');
  } else if (typeof value === 'boolean') {
    out.push('<value><boolean>', value ? '1' : '0', '</boolean></value>\n');
  } else if (typeof value === 'number') {
    if (Number.isInteger(value)) {
      // Python refuses ints outside int32; supervisord caps its times instead, and so do we.
      out.push('<value><int>', String(Math.min(INT_MAX, Math.max(INT_MIN, value))), '</int></value>\n');
    } else {
      out.push('<value><double>', doubleText(value), '</double></value>\n');
    }
  } else if (value === null) {
    out.push('<value><nil/></value>');
  } else if (value instanceof XmlRpcDouble) {
    out.push('<value><double>', doubleText(value.value), '</double></value>\n');
  } else if (value instanceof Uint8Array) {
    out.push('<value><base64>\n', base64Lines(value), '</base64></value>\n');
  } else if (Array.isArray(value)) {
    out.push('<value><array><data>\n');
    for (const item of value) encodeValue(item, out);
    out.push('</data></array></value>\n');
  } else {
    out.push('<value><struct>\n');
    for (const [key, member] of Object.entries(value)) {
      out.push('<member>\n<name>', escapeText(key), '</name>\n');
      encodeValue(member, out);
      out.push('</member>\n');
    }
    out.push('</struct></value>\n');
  }
}

function doubleText(value: number): string {
  if (Number.isInteger(value)) return `${value}.0`;
  return String(value);
}

/** base64.encodebytes: lines of 76 characters, each ending in a newline. */
function base64Lines(bytes: Uint8Array): string {
  const text = Buffer.from(bytes).toString('base64');
  let result = '';
  for (let i = 0; i < text.length; i += 76) result += `${text.slice(i, i + 76)}\n`;
  return result;
}

const XML_HEADER = "<?xml version='1.0'?>\n";

export function encodeCall(methodName: string, params: readonly XmlRpcValue[]): string {
  const out = [XML_HEADER, '<methodCall>\n<methodName>', escapeText(methodName), '</methodName>\n<params>\n'];
  for (const param of params) {
    out.push('<param>\n');
    encodeValue(param, out);
    out.push('</param>\n');
  }
  out.push('</params>\n</methodCall>\n');
  return out.join('');
}

export function encodeResult(value: XmlRpcValue): string {
  const out = [XML_HEADER, '<methodResponse>\n<params>\n<param>\n'];
  encodeValue(value, out);
  out.push('</param>\n</params>\n</methodResponse>\n');
  return out.join('');
}

export function encodeFault(fault: XmlRpcFault): string {
  const out = [XML_HEADER, '<methodResponse>\n<fault>\n'];
  encodeValue({ faultCode: fault.faultCode, faultString: fault.faultString }, out);
  out.push('</fault>\n</methodResponse>\n');
  return out.join('');
}

// ---- decoding ----

/** fast-xml-parser's ordered output: `{ tag: children, ':@'?: attrs }` or `{ '#text': text }`. */
type OrderedNode = Record<string, unknown>;

let parser: XMLParser | undefined;
// Built on first use: supervisorctl's start-up should not pay for it before it sends anything.
const parserOptions = {
  preserveOrder: true,
  trimValues: false,
  parseTagValue: false,
  parseAttributeValue: false,
  ignoreAttributes: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  // Entities are decoded by decodeEntities() in one pass: the library's entity tables cost a
  // client several ms of start-up, and would double-decode `&amp;#65;`.
  processEntities: false,
} as const;

const NAMED_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

// XML 1.0's Char production. A character outside it, raw or as a reference (`&#0;`, `&#xD800;`), makes
// the document malformed: expat, and so supervisord, answers such a request with HTTP 400. U+0000 and
// lone surrogates (src/shared/text.ts) are outside it too.
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

function isXmlChar(codePoint: number): boolean {
  return !Number.isNaN(codePoint) && codePoint <= 0x10ffff && !NOT_XML_CHAR.test(String.fromCodePoint(codePoint));
}

/** A request's text: strictly UTF-8 (bytes), and only characters XML allows. */
function requestText(body: string | Uint8Array): string {
  let text: string;
  if (typeof body === 'string') text = body;
  else {
    const decoded = decodeUtf8Strict(body);
    if (decoded === undefined) {
      const invalid = findInvalidUtf8(body);
      throw new XmlRpcParseError(`not UTF-8: ${invalid ? describeInvalidUtf8(body, invalid) : 'undecodable bytes'}`);
    }
    text = decoded;
  }
  const bad = NOT_XML_CHAR.exec(text);
  if (bad !== null) {
    const unsafe = findUnsafeText(text);
    const codePoint = (bad[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0');
    const what =
      unsafe !== null && unsafe.index === bad.index ? describeUnsafeText(unsafe) : `holds U+${codePoint} at character ${bad.index + 1}`;
    throw new XmlRpcParseError(`not well-formed (invalid token): the request ${what}`);
  }
  return text;
}

/** XML's five named entities and numeric character references. */
function decodeEntities(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (match, name: string) => {
    if (name.startsWith('#')) {
      const codePoint = name.startsWith('#x') ? Number.parseInt(name.slice(2), 16) : Number(name.slice(1));
      if (!isXmlChar(codePoint)) throw new XmlRpcParseError(`reference to invalid character number: ${match}`);
      return String.fromCodePoint(codePoint);
    }
    const named = NAMED_ENTITIES[name];
    if (named === undefined) throw new XmlRpcParseError(`unknown entity ${match}`);
    return named;
  });
}

function tagOf(node: OrderedNode): string | undefined {
  for (const key of Object.keys(node)) if (key !== ':@') return key;
  return undefined;
}

function childrenOf(node: OrderedNode): OrderedNode[] {
  const tag = tagOf(node);
  const children = tag === undefined ? undefined : node[tag];
  return Array.isArray(children) ? (children as OrderedNode[]) : [];
}

function textOf(nodes: OrderedNode[]): string {
  let text = '';
  for (const node of nodes) {
    const value = node['#text'];
    if (typeof value === 'string') text += decodeEntities(value);
    else if (typeof value === 'number' || typeof value === 'boolean') text += String(value);
    else throw new XmlRpcParseError(`unexpected element <${tagOf(node) ?? '?'}> inside a scalar value`);
  }
  return text;
}

/** Child elements, ignoring whitespace between them; other text is an error. */
function elementsOf(nodes: OrderedNode[], where: string): OrderedNode[] {
  const elements: OrderedNode[] = [];
  for (const node of nodes) {
    const tag = tagOf(node);
    if (tag === '#text') {
      if (String(node['#text']).trim() !== '') throw new XmlRpcParseError(`unexpected text inside <${where}>`);
    } else if (tag !== undefined && tag !== '#comment') {
      elements.push(node);
    }
  }
  return elements;
}

function only(nodes: OrderedNode[], tag: string, where: string): OrderedNode {
  const found = nodes.filter((n) => tagOf(n) === tag);
  const first = found[0];
  if (found.length !== 1 || first === undefined) throw new XmlRpcParseError(`expected one <${tag}> inside <${where}>`);
  return first;
}

function decodeInt(text: string, tag: string): number {
  const trimmed = text.trim();
  if (!/^[+-]?\d+$/.test(trimmed)) throw new XmlRpcParseError(`bad <${tag}> value '${text}'`);
  const value = Number(trimmed);
  if (!Number.isSafeInteger(value)) throw new XmlRpcParseError(`<${tag}> value out of range: '${text}'`);
  return value;
}

function decodeValueNode(valueNode: OrderedNode): XmlRpcValue {
  const children = childrenOf(valueNode);
  const typed = children.filter((n) => {
    const tag = tagOf(n);
    return tag !== '#text' && tag !== '#comment';
  });
  // A <value> without a type element is a string (XML-RPC spec; Python does the same).
  if (typed.length === 0) return textOf(children);
  const typeNode = elementsOf(children, 'value');
  const node = typeNode[0];
  if (typeNode.length !== 1 || node === undefined) throw new XmlRpcParseError('a <value> holds more than one type element');
  const tag = tagOf(node) ?? '';
  const inner = childrenOf(node);
  switch (tag) {
    case 'string':
      return textOf(inner);
    case 'int':
    case 'i4':
    case 'i8':
    case 'i1':
    case 'i2':
    case 'biginteger':
      return decodeInt(textOf(inner), tag);
    case 'boolean': {
      const text = textOf(inner).trim();
      if (text === '1') return true;
      if (text === '0') return false;
      throw new XmlRpcParseError(`bad <boolean> value '${text}'`);
    }
    case 'double':
    case 'float': {
      const text = textOf(inner).trim();
      const value = Number(text);
      if (text === '' || Number.isNaN(value)) throw new XmlRpcParseError(`bad <double> value '${text}'`);
      return new XmlRpcDouble(value);
    }
    case 'nil':
      return null;
    case 'base64':
      return new Uint8Array(Buffer.from(textOf(inner).replace(/\s+/g, ''), 'base64'));
    case 'dateTime.iso8601':
      return textOf(inner);
    case 'array': {
      const data = only(elementsOf(inner, 'array'), 'data', 'array');
      return elementsOf(childrenOf(data), 'data').map((item) => {
        if (tagOf(item) !== 'value') throw new XmlRpcParseError(`unexpected <${tagOf(item) ?? '?'}> inside <data>`);
        return decodeValueNode(item);
      });
    }
    case 'struct': {
      const struct: { [key: string]: XmlRpcValue } = {};
      for (const member of elementsOf(inner, 'struct')) {
        if (tagOf(member) !== 'member') throw new XmlRpcParseError(`unexpected <${tagOf(member) ?? '?'}> inside <struct>`);
        const parts = elementsOf(childrenOf(member), 'member');
        const name = textOf(childrenOf(only(parts, 'name', 'member')));
        struct[name] = decodeValueNode(only(parts, 'value', 'member'));
      }
      return struct;
    }
    default:
      throw new XmlRpcParseError(`unknown XML-RPC type <${tag}>`);
  }
}

function parseDocument(xml: string): OrderedNode {
  // Entity declarations are the XML bomb vector; XML-RPC never needs a DTD.
  if (/<!DOCTYPE/i.test(xml)) throw new XmlRpcParseError('DOCTYPE is not allowed in XML-RPC');
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new XmlRpcParseError(`malformed XML: ${valid.err.msg} (line ${valid.err.line})`);
  parser ??= new XMLParser(parserOptions);
  const roots = elementsOf(parser.parse(xml) as OrderedNode[], 'document');
  const root = roots[0];
  if (roots.length !== 1 || root === undefined) throw new XmlRpcParseError('expected one root element');
  return root;
}

function decodeParams(nodes: OrderedNode[]): XmlRpcValue[] {
  const paramsNode = nodes.find((n) => tagOf(n) === 'params');
  if (paramsNode === undefined) return [];
  return elementsOf(childrenOf(paramsNode), 'params').map((param) => {
    if (tagOf(param) !== 'param') throw new XmlRpcParseError(`unexpected <${tagOf(param) ?? '?'}> inside <params>`);
    return decodeValueNode(only(elementsOf(childrenOf(param), 'param'), 'value', 'param'));
  });
}

/**
 * A request as the server reads it: pass the body's bytes, so that bytes that are not UTF-8 are refused
 * rather than turned into U+FFFD. Text breaking XML's character rules throws XmlRpcParseError.
 */
export function decodeCall(body: string | Uint8Array): XmlRpcCall {
  const root = parseDocument(requestText(body));
  if (tagOf(root) !== 'methodCall') throw new XmlRpcParseError(`expected <methodCall>, got <${tagOf(root) ?? '?'}>`);
  const parts = elementsOf(childrenOf(root), 'methodCall');
  const methodName = textOf(childrenOf(only(parts, 'methodName', 'methodCall'))).trim();
  return { methodName, params: decodeParams(parts) };
}

export function decodeResponse(xml: string): XmlRpcResponse {
  const root = parseDocument(xml);
  if (tagOf(root) !== 'methodResponse') throw new XmlRpcParseError(`expected <methodResponse>, got <${tagOf(root) ?? '?'}>`);
  const parts = elementsOf(childrenOf(root), 'methodResponse');
  const faultNode = parts.find((n) => tagOf(n) === 'fault');
  if (faultNode !== undefined) {
    const value = decodeValueNode(only(elementsOf(childrenOf(faultNode), 'fault'), 'value', 'fault'));
    if (
      typeof value !== 'object' ||
      value === null ||
      Array.isArray(value) ||
      value instanceof XmlRpcDouble ||
      value instanceof Uint8Array ||
      typeof value.faultCode !== 'number' ||
      typeof value.faultString !== 'string'
    ) {
      throw new XmlRpcParseError('a <fault> must hold a struct with faultCode (int) and faultString (string)');
    }
    return { kind: 'fault', fault: { faultCode: value.faultCode, faultString: value.faultString } };
  }
  const params = decodeParams(parts);
  const first = params[0];
  if (params.length !== 1 || first === undefined) throw new XmlRpcParseError('a method response holds exactly one param');
  return { kind: 'result', value: first };
}
