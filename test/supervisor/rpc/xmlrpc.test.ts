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

  it('skips an element it does not know outside a <value>, as Python xmlrpc.client does', () => {
    expect(decodeCall('<methodCall><methodName>m</methodName><foo/><params><param><value><struct><member><name>a</name><value><int>1</int></value><x/></member></struct></value></param></params></methodCall>')).toEqual({
      methodName: 'm',
      params: [{ a: 1 }],
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

  // Each malformed case the hand-written reader handles, with the problem named as expat names it.
  const inValue = (v: string) => `<methodCall><methodName>m</methodName><params><param><value>${v}</value></param></params></methodCall>`;
  it.each([
    ['an empty document', '', /no element found/],
    ['a mismatched close tag', '<methodCall><methodName>m</methodname></methodCall>', /malformed XML: mismatched tag: line 1, column 25/],
    ['a close tag with no open tag', '</methodCall>', /syntax error/],
    ['trailing text', '<methodCall><methodName>m</methodName></methodCall>junk', /junk after document element/],
    ['a second root', '<methodCall><methodName>m</methodName></methodCall><methodCall/>', /junk after document element/],
    ['a bare &', inValue('<string>a & b</string>'), /not well-formed \(invalid token\)/],
    ['an & without ;', inValue('<string>&amp</string>'), /not well-formed \(invalid token\)/],
    ['an undefined entity', inValue('<string>&nbsp;</string>'), /undefined entity &nbsp;/],
    [']]> in text', inValue('<string>a ]]> b</string>'), /not well-formed/],
    ['< in an attribute', '<methodCall a="<"><methodName>m</methodName></methodCall>', /not well-formed/],
    ['a duplicate attribute', '<methodCall a="1" a="2"><methodName>m</methodName></methodCall>', /duplicate attribute/],
    ['an unquoted attribute', '<methodCall a=1><methodName>m</methodName></methodCall>', /not well-formed/],
    ['an unclosed comment', '<methodCall><!-- x <methodName>m</methodName></methodCall>', /unclosed comment/],
    ['-- inside a comment', '<methodCall><!-- a -- b --><methodName>m</methodName></methodCall>', /not well-formed/],
    ['an unclosed CDATA section', inValue('<string><![CDATA[x</string>'), /unclosed CDATA section/],
    ['a declaration not at the start', ' <?xml version="1.0"?><methodCall><methodName>m</methodName></methodCall>', /declaration not at start/],
    ['an unclosed declaration', '<?xml version="1.0"<methodCall/>', /unclosed XML declaration/],
    ['an unclosed start tag', '<methodCall', /not well-formed|no element found/],
    ['a DOCTYPE', '<!DOCTYPE methodCall><methodCall><methodName>m</methodName></methodCall>', /DOCTYPE is not allowed/],
    ['nesting deeper than 512', inValue('<array><data><value>'.repeat(300) + '</value></data></array>'.repeat(300)), /nested deeper than 512/],
    ['two <methodName>', '<methodCall><methodName>m</methodName><methodName>n</methodName></methodCall>', /more than one <methodName>/],
    ['a <member> without <value>', inValue('<struct><member><name>a</name></member></struct>'), /expected one <value> inside <member>/],
    ['an element inside a scalar', inValue('<string>a<b/></string>'), /unexpected element <b> inside <string>/],
    ['text beside a type element', inValue('x<int>1</int>'), /unexpected text inside <value>/],
    ['two type elements', inValue('<int>1</int><int>2</int>'), /more than one type element/],
    ['text in <nil>', inValue('<nil>x</nil>'), /<nil> holds text/],
    ['a hex <double>', inValue('<double>0x10</double>'), /bad <double> value '0x10'/],
    ['an empty <double>', inValue('<double></double>'), /bad <double> value ''/],
    ['an int beyond 2^53', inValue('<i8>123456789012345678901</i8>'), /out of range/],
  ])('rejects %s, naming the problem', (_what, xml, message) => {
    expect(() => decodeCall(xml)).toThrow(XmlRpcParseError);
    expect(() => decodeCall(xml)).toThrow(message);
  });

  it('rejects a response holding both <params> and <fault>, or neither', () => {
    const fault = '<fault><value><struct><member><name>faultCode</name><value><int>1</int></value></member><member><name>faultString</name><value>x</value></member></struct></value></fault>';
    expect(() => decodeResponse(`<methodResponse><params><param><value>1</value></param></params>${fault}</methodResponse>`)).toThrow(/not both/);
    expect(() => decodeResponse('<methodResponse></methodResponse>')).toThrow(/exactly one param/);
    expect(decodeResponse(`<methodResponse>${fault}</methodResponse>`)).toEqual({ kind: 'fault', fault: { faultCode: 1, faultString: 'x' } });
  });

  it('accepts the declaration, comments, PIs, attributes, CDATA (literal), and normalises line ends as expat does', () => {
    const xml =
      '\uFEFF<?xml version="1.0" encoding="utf-8"?>\n<!-- before --><?pi data?>\n<methodCall kind=\'x\'>\r\n' +
      '<methodName>\n m \n</methodName><!-- c --><params><param><value><string>a<!-- gone -->b<![CDATA[<&amp;>\r\n]]>c\r\nd\re&#13;</string></value></param>' +
      '<param><value><nil/></value></param><param><value><double> -1.5e3 </double></value></param>' +
      '<param><value><double>inf</double></value></param><param><value><base64>aGVs\nbG8=\n</base64></value></param>' +
      '<param><value><dateTime.iso8601>20260101T00:00:00</dateTime.iso8601></value></param><param><value>' +
      '<struct><member><name>k</name><value><i4>1</i4></value></member></struct></value></param></params></methodCall>\n<!-- after -->\n';
    expect(decodeCall(xml)).toEqual({
      methodName: 'm',
      params: ['ab<&amp;>\nc\nd\ne\r', null, new XmlRpcDouble(-1500), new XmlRpcDouble(Infinity), new Uint8Array(Buffer.from('hello')), '20260101T00:00:00', { k: 1 }],
    });
  });
});
