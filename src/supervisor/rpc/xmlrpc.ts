// XML-RPC codec shared by the server (rpc/) and the client (ctl/).
// The output mirrors Python's xmlrpc.client Marshaller line for line (newline placement, `<value><string>`
// for every string, `<int>`/`<boolean>`), because supervisord's peers were written against that output.
import { parseXml, XmlSyntaxError, type XmlElement } from './xml-tree.js';
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

// XML 1.0's Char production. A character outside it, raw or as a reference (`&#0;`, `&#xD800;`), makes
// the document malformed: expat, and so supervisord, answers such a request with HTTP 400. U+0000 and
// lone surrogates (src/shared/text.ts) are outside it too. References are checked by xml-tree.ts.
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

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

/** The text of a scalar: its text and CDATA joined (comments were dropped); an element inside is an error. */
function textOf(element: XmlElement): string {
  let text = '';
  for (const child of element.children) {
    if (typeof child === 'string') text += child;
    else throw new XmlRpcParseError(`unexpected element <${child.name}> inside <${element.name}>`);
  }
  return text;
}

/** Child elements, ignoring whitespace between them; other text is an error. */
function elementsOf(element: XmlElement): XmlElement[] {
  const elements: XmlElement[] = [];
  for (const child of element.children) {
    if (typeof child !== 'string') elements.push(child);
    else if (child.trim() !== '') throw new XmlRpcParseError(`unexpected text inside <${element.name}>`);
  }
  return elements;
}

/**
 * The child elements of `element` by name, each of `allowed` at most once. Any other element is skipped, as
 * Python's xmlrpc.client (so supervisord) skips a tag it does not know outside a <value>.
 */
function partsOf(element: XmlElement, allowed: readonly string[]): Map<string, XmlElement> {
  const parts = new Map<string, XmlElement>();
  for (const child of elementsOf(element)) {
    if (!allowed.includes(child.name)) continue;
    if (parts.has(child.name)) throw new XmlRpcParseError(`more than one <${child.name}> inside <${element.name}>`);
    parts.set(child.name, child);
  }
  return parts;
}

function required(parts: Map<string, XmlElement>, name: string, where: string): XmlElement {
  const part = parts.get(name);
  if (part === undefined) throw new XmlRpcParseError(`expected one <${name}> inside <${where}>`);
  return part;
}

function decodeInt(text: string, tag: string): number {
  const trimmed = text.trim();
  if (!/^[+-]?\d+$/.test(trimmed)) throw new XmlRpcParseError(`bad <${tag}> value '${text}'`);
  const value = Number(trimmed);
  if (!Number.isSafeInteger(value)) throw new XmlRpcParseError(`<${tag}> value out of range: '${text}'`);
  return value;
}

// Python's float(): decimal notation, inf/infinity/nan; not hex or the empty string.
const DOUBLE = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity|nan)$/i;

function doubleValue(text: string): number {
  const lower = text.toLowerCase();
  if (lower.endsWith('nan')) return Number.NaN;
  if (lower.endsWith('inf') || lower.endsWith('infinity')) return lower.startsWith('-') ? -Infinity : Infinity;
  return Number(text);
}

function decodeValue(valueElement: XmlElement): XmlRpcValue {
  const elements = typeElementsOf(valueElement);
  // A <value> without a type element is a string (XML-RPC spec; Python does the same).
  if (elements === null) return textOf(valueElement);
  const node = elements[0];
  if (elements.length !== 1 || node === undefined) throw new XmlRpcParseError('a <value> holds more than one type element');
  switch (node.name) {
    case 'string':
      return textOf(node);
    case 'int':
    case 'i4':
    case 'i8':
    case 'i1':
    case 'i2':
    case 'biginteger':
      return decodeInt(textOf(node), node.name);
    case 'boolean': {
      const text = textOf(node).trim();
      if (text === '1') return true;
      if (text === '0') return false;
      throw new XmlRpcParseError(`bad <boolean> value '${text}'`);
    }
    case 'double':
    case 'float': {
      const text = textOf(node).trim();
      if (!DOUBLE.test(text)) throw new XmlRpcParseError(`bad <double> value '${text}'`);
      return new XmlRpcDouble(doubleValue(text));
    }
    case 'nil':
      if (textOf(node).trim() !== '') throw new XmlRpcParseError('<nil> holds text');
      return null;
    case 'base64':
      return new Uint8Array(Buffer.from(textOf(node).replace(/\s+/g, ''), 'base64'));
    case 'dateTime.iso8601':
      return textOf(node);
    case 'array': {
      const data = required(partsOf(node, ['data']), 'data', 'array');
      return elementsOf(data).map((item) => {
        if (item.name !== 'value') throw new XmlRpcParseError(`unexpected <${item.name}> inside <data>`);
        return decodeValue(item);
      });
    }
    case 'struct': {
      const struct: { [key: string]: XmlRpcValue } = {};
      for (const member of elementsOf(node)) {
        if (member.name !== 'member') throw new XmlRpcParseError(`unexpected <${member.name}> inside <struct>`);
        const parts = partsOf(member, ['name', 'value']);
        const name = textOf(required(parts, 'name', 'member'));
        struct[name] = decodeValue(required(parts, 'value', 'member'));
      }
      return struct;
    }
    default:
      throw new XmlRpcParseError(`unknown XML-RPC type <${node.name}>`);
  }
}

/** The element children of a <value>, or null when it holds text only (whitespace beside a type element is allowed). */
function typeElementsOf(valueElement: XmlElement): XmlElement[] | null {
  return valueElement.children.some((child) => typeof child !== 'string') ? elementsOf(valueElement) : null;
}

function parseDocument(xml: string): XmlElement {
  try {
    return parseXml(xml);
  } catch (error) {
    if (!(error instanceof XmlSyntaxError)) throw error;
    throw new XmlRpcParseError(error.message.startsWith('DOCTYPE') ? error.message : `malformed XML: ${error.message}`);
  }
}

function decodeParams(params: XmlElement | undefined): XmlRpcValue[] {
  if (params === undefined) return [];
  return elementsOf(params).map((param) => {
    if (param.name !== 'param') throw new XmlRpcParseError(`unexpected <${param.name}> inside <params>`);
    return decodeValue(required(partsOf(param, ['value']), 'value', 'param'));
  });
}

/**
 * A request as the server reads it: pass the body's bytes, so that bytes that are not UTF-8 are refused
 * rather than turned into U+FFFD. Text breaking XML's character rules throws XmlRpcParseError.
 */
export function decodeCall(body: string | Uint8Array): XmlRpcCall {
  const root = parseDocument(requestText(body));
  if (root.name !== 'methodCall') throw new XmlRpcParseError(`expected <methodCall>, got <${root.name}>`);
  const parts = partsOf(root, ['methodName', 'params']);
  const methodName = textOf(required(parts, 'methodName', 'methodCall')).trim();
  return { methodName, params: decodeParams(parts.get('params')) };
}

export function decodeResponse(xml: string): XmlRpcResponse {
  const root = parseDocument(xml);
  if (root.name !== 'methodResponse') throw new XmlRpcParseError(`expected <methodResponse>, got <${root.name}>`);
  const parts = partsOf(root, ['params', 'fault']);
  const faultNode = parts.get('fault');
  if (faultNode !== undefined && parts.has('params')) throw new XmlRpcParseError('a method response holds <params> or <fault>, not both');
  if (faultNode !== undefined) {
    const value = decodeValue(required(partsOf(faultNode, ['value']), 'value', 'fault'));
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
  const params = decodeParams(parts.get('params'));
  const first = params[0];
  if (params.length !== 1 || first === undefined) throw new XmlRpcParseError('a method response holds exactly one param');
  return { kind: 'result', value: first };
}
