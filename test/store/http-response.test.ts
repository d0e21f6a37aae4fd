// The response parser alone (pure logic): the same bytes cut at every place give the same head and body,
// so heads, chunk-size lines and trailers that span reads are read as if whole.
import { describe, expect, it } from 'vitest';
import { ResponseParser, type ResponseHead } from '../../src/store/http-response.js';

function parse(parts: Buffer[]): { head: ResponseHead | undefined; body: string; ended: boolean } {
  const result = { head: undefined as ResponseHead | undefined, body: '', ended: false };
  const parser = new ResponseParser({
    head: (head) => (result.head = head),
    body: (piece) => (result.body += piece.toString('latin1')),
    end: () => (result.ended = true),
  });
  for (const part of parts) {
    // A feed stops after the head (the caller then decides about the body): the rest is fed again.
    for (let at = 0; at < part.length && !parser.done; ) at += parser.feed(part.subarray(at));
  }
  return result;
}

describe('ResponseParser', () => {
  const response = Buffer.from(
    'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nSet-Cookie: a\r\nSet-Cookie: b\r\n\r\n' +
      '5;ext=1\r\nhello\r\n1A\r\n, a chunked body of 26 byt\r\n2\r\nes\r\n0\r\nTrailer: x\r\n\r\n',
    'latin1',
  );

  it('reads a response cut at every byte boundary the same as whole', () => {
    const whole = parse([response]);
    expect(whole.head?.status).toBe(200);
    expect(whole.head?.headers.get('set-cookie')).toBe('a, b');
    expect(whole).toMatchObject({ body: 'hello, a chunked body of 26 bytes', ended: true });
    for (let cut = 1; cut < response.length; cut++) {
      expect(parse([response.subarray(0, cut), response.subarray(cut)]), `cut at ${cut}`).toEqual(whole);
    }
    expect(parse([...response].map((byte) => Buffer.from([byte])))).toEqual(whole);
  });

  it('ends a Content-Length body at its length and a close-delimited one only at close', () => {
    const sized = parse([Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc')]);
    expect(sized).toMatchObject({ body: 'abc', ended: true });
    const parser = new ResponseParser({ head: () => undefined, body: () => undefined, end: () => undefined });
    parser.feed(Buffer.from('HTTP/1.0 200 OK\r\n\r\n'));
    parser.feed(Buffer.from('abc'));
    expect(parser.done).toBe(false);
    parser.close();
    expect(parser.done).toBe(true);
    expect(parser.reusable).toBe(false);
  });

  it('names what is wrong: obsolete line folding, a bad Content-Length, a 101', () => {
    const fails = (text: string) => () => parse([Buffer.from(text, 'latin1')]);
    expect(fails('HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n\r\n')).toThrow('malformed header line " folded"');
    expect(fails('HTTP/1.1 200 OK\r\nContent-Length: 3, 4\r\n\r\n')).toThrow('malformed Content-Length "3, 4"');
    expect(fails('HTTP/1.1 101 Switching Protocols\r\n\r\n')).toThrow('101 Switching Protocols to a GET that asked for no upgrade');
  });
});
