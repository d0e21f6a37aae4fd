// Unit tests of the XML-RPC codec (pure logic): the bytes must match what Python's xmlrpc.client
// produces, since supervisord's own client and server were written against those bytes.
import { describe, expect, it } from 'vitest';
import {
  decodeCall,
  decodeResponse,
  encodeCall,
  encodeFault,
  encodeResult,
  XmlRpcDouble,
  XmlRpcParseError,
} from '../../../src/supervisor/rpc/xmlrpc.js';

describe('encoding (Python Marshaller layout)', () => {
  it('encodes a call exactly as supervisorctl sends getAllProcessInfo (122 bytes)', () => {
    const xml = encodeCall('supervisor.getAllProcessInfo', []);
    expect(xml).toBe(
      "<?xml version='1.0'?>\n<methodCall>\n<methodName>supervisor.getAllProcessInfo</methodName>\n<params>\n</params>\n</methodCall>\n",
    );
    expect(Buffer.byteLength(xml)).toBe(122);
  });

  it('encodes the BAD_NAME fault body byte for byte (272 bytes)', () => {
    const xml = encodeFault({ faultCode: 10, faultString: 'BAD_NAME: nosuch' });
    expect(xml).toBe(
      [
        "<?xml version='1.0'?>",
        '<methodResponse>',
        '<fault>',
        '<value><struct>',
        '<member>',
        '<name>faultCode</name>',
        '<value><int>10</int></value>',
        '</member>',
        '<member>',
        '<name>faultString</name>',
        '<value><string>BAD_NAME: nosuch</string></value>',
        '</member>',
        '</struct></value>',
        '</fault>',
        '</methodResponse>',
        '',
      ].join('\n'),
    );
    expect(Buffer.byteLength(xml)).toBe(272);
  });

  it('uses <string>, <int>, <boolean>, <array><data>, <struct><member> with Python newlines', () => {
    expect(encodeResult(['', 0, false])).toBe(
      "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><array><data>\n" +
        '<value><string></string></value>\n<value><int>0</int></value>\n<value><boolean>0</boolean></value>\n' +
        '</data></array></value>\n</param>\n</params>\n</methodResponse>\n',
    );
    expect(encodeResult({ statecode: 1, statename: 'RUNNING' })).toContain(
      '<value><struct>\n<member>\n<name>statecode</name>\n<value><int>1</int></value>\n</member>\n',
    );
  });

  it('escapes &, < and > in strings and caps ints to the XML-RPC int32 range', () => {
    expect(encodeResult('a<b>&c')).toContain('<value><string>a&lt;b&gt;&amp;c</string></value>');
    expect(encodeResult(2 ** 40)).toContain('<int>2147483647</int>');
    expect(encodeResult(new XmlRpcDouble(2))).toContain('<double>2.0</double>');
  });
});

describe('decoding', () => {
  it('round-trips every type through encode → decode', () => {
    const value = { s: ' spaced \n text ', n: -5, t: true, f: false, list: [1, 'two', [3]], nested: { k: '' } };
    const decoded = decodeResponse(encodeResult(value));
    expect(decoded).toEqual({ kind: 'result', value });
  });

  it('reads untyped <value> as a string, <i4>/<i8> as ints, entities and char refs', () => {
    const call = decodeCall(
      "<?xml version='1.0'?><methodCall><methodName>supervisor.startProcess</methodName><params>" +
        '<param><value>a &amp; b &#65;</value></param><param><value><i4>7</i4></value></param>' +
        '<param><value><i8>-3</i8></value></param><param><value><boolean>1</boolean></value></param>' +
        '</params></methodCall>',
    );
    expect(call).toEqual({ methodName: 'supervisor.startProcess', params: ['a & b A', 7, -3, true] });
  });

  describe('text that is not XML (as expat refuses it, so supervisord answers 400)', () => {
    const withName = (name: string | Buffer) => {
      const head = "<?xml version='1.0'?><methodCall><methodName>supervisor.getProcessInfo</methodName><params><param><value><string>";
      const tail = '</string></value></param></params></methodCall>';
      return typeof name === 'string' ? head + name + tail : Buffer.concat([Buffer.from(head), name, Buffer.from(tail)]);
    };
    it.each([
      ['a NUL reference', 'a&#0;b', /reference to invalid character number: &#0;/],
      ['a surrogate reference', 'a&#xD800;b', /reference to invalid character number/],
      ['a reference beyond Unicode', '&#x110000;', /reference to invalid character number/],
      ['a control character reference', '&#1;', /reference to invalid character number/],
      ['a raw NUL', 'a\u0000b', /not well-formed \(invalid token\): the request contains U\+0000 \(NUL\)/],
      ['a raw lone surrogate', 'a\udc00b', /lone surrogate U\+DC00/],
      ['a raw U+FFFE', 'a\ufffeb', /holds U\+FFFE/],
    ])('refuses %s', (_what, name, message) => {
      expect(() => decodeCall(withName(name))).toThrow(XmlRpcParseError);
      expect(() => decodeCall(withName(name))).toThrow(message);
    });

    it('refuses bytes that are not UTF-8, naming them as Python would', () => {
      expect(() => decodeCall(withName(Buffer.from([0x61, 0xff])))).toThrow(
        "not UTF-8: 'utf-8' codec can't decode byte 0xff in position 114: invalid start byte",
      );
      expect(() => decodeCall(withName(Buffer.from([0xed, 0xa0, 0x80])))).toThrow(XmlRpcParseError);
    });

    it('keeps every character XML allows, given as bytes or as references', () => {
      const text = 'tab\t é 海 \ud83d\ude00 \ufffd';
      expect(decodeCall(withName(Buffer.from(text, 'utf8'))).params).toEqual([text]);
      expect(decodeCall(withName('&#9;&#xE9;&#x1F600;&#xFFFD;')).params).toEqual(['\té\ud83d\ude00\ufffd']);
    });
  });

  it('accepts a call without <params>', () => {
    expect(decodeCall('<methodCall><methodName>system.listMethods</methodName></methodCall>')).toEqual({
      methodName: 'system.listMethods',
      params: [],
    });
  });

  it('decodes a fault response', () => {
    expect(decodeResponse(encodeFault({ faultCode: 6, faultString: 'SHUTDOWN_STATE' }))).toEqual({
      kind: 'fault',
      fault: { faultCode: 6, faultString: 'SHUTDOWN_STATE' },
    });
  });

  it.each([
    ['unclosed tags', '<methodCall><methodName>x</methodName>'],
    ['not XML at all', 'hello'],
    ['a bad int', '<methodCall><methodName>x</methodName><params><param><value><int>1x</int></value></param></params></methodCall>'],
    ['a bad boolean', '<methodCall><methodName>x</methodName><params><param><value><boolean>yes</boolean></value></param></params></methodCall>'],
    ['an unknown type', '<methodCall><methodName>x</methodName><params><param><value><blob>1</blob></value></param></params></methodCall>'],
    ['a DOCTYPE (entity bombs)', '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><methodCall><methodName>&a;</methodName></methodCall>'],
    ['the wrong root', '<methodResponse><params></params></methodResponse>'],
  ])('rejects %s with an XmlRpcParseError', (_what, xml) => {
    expect(() => decodeCall(xml)).toThrow(XmlRpcParseError);
  });
});
