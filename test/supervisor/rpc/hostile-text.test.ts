// Property test of issue 15 on the control socket: generated hostile text (NUL, lone surrogates,
// characters XML forbids, bytes that are not UTF-8) in the string parameters of XML-RPC calls, sent
// to our supervisord and to Debian's supervisord 4.2.5 side by side. Ours never answers 5xx or drops
// the connection; it answers 400 exactly when the request is malformed, as supervisord does (expat
// refuses the document); a well-formed request gets the same reply from both, and the text arrives
// unchanged (the BAD_NAME fault echoes it). Fixed seed, bounded runs.
import { request } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { decodeResponse } from '../../../src/supervisor/rpc/index.js';
import { HOSTILE_SEED, hostileString } from '../../support/hostile-text.js';
import { describeWithRealPeers, startDaemons, type Daemon } from '../ctl/harness.js';

/** WTF-8: UTF-8 that also writes lone surrogates (as ED A0 80 …), so that the bytes carry them. */
function wtf8(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const code = text.codePointAt(i)!;
    if (code > 0xffff) i++;
    if (code < 0x80) bytes.push(code);
    else if (code < 0x800) bytes.push(0xc0 | (code >> 6), 0x80 | (code & 0x3f));
    else if (code < 0x10000) bytes.push(0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f));
    else bytes.push(0xf0 | (code >> 18), 0x80 | ((code >> 12) & 0x3f), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f));
  }
  return Buffer.from(bytes);
}

/** The string as XML text: raw characters, or every character outside printable ASCII as `&#N;`. */
function xmlString(text: string, asReferences: boolean): Buffer {
  const escaped = text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
  if (!asReferences) return wtf8(escaped);
  let out = '';
  for (let i = 0; i < escaped.length; i++) {
    const code = escaped.codePointAt(i)!;
    if (code > 0xffff) i++;
    out += code >= 0x20 && code < 0x7f ? String.fromCodePoint(code) : `&#${code};`;
  }
  return Buffer.from(out, 'ascii');
}

/** XML 1.0 Char, written independently of the code under test. */
function isXmlText(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.codePointAt(i)!;
    if (code > 0xffff) {
      i++;
      continue;
    }
    const ok = code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd);
    if (!ok) return false;
  }
  return true;
}

type Reply = { status: number; body: string } | { dropped: string };

function post(socketPath: string, body: Buffer): Promise<Reply> {
  return new Promise((resolve) => {
    const req = request({ socketPath, method: 'POST', path: '/RPC2', agent: false, headers: { 'content-type': 'text/xml' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (error) => resolve({ dropped: error.message }));
    });
    req.on('error', (error) => resolve({ dropped: error.message }));
    req.end(body);
  });
}

const METHODS = [
  { name: 'supervisor.getProcessInfo', params: (s: Buffer) => [s] },
  { name: 'supervisor.signalProcess', params: (s: Buffer) => [Buffer.from('cat'), s] },
  { name: 'supervisor.readProcessStdoutLog', params: (s: Buffer) => [s, Buffer.from('<int>0</int>'), Buffer.from('<int>0</int>')] },
] as const;

function call(method: (typeof METHODS)[number], text: Buffer): Buffer {
  const params = method.params(text).map((p) => {
    const typed = p.toString('latin1').startsWith('<int>');
    const [open, close] = typed ? ['<param><value>', '</value></param>\n'] : ['<param><value><string>', '</string></value></param>\n'];
    return Buffer.concat([Buffer.from(open), p, Buffer.from(close)]);
  });
  const head = `<?xml version='1.0'?>\n<methodCall>\n<methodName>${method.name}</methodName>\n<params>\n`;
  return Buffer.concat([Buffer.from(head), ...params, Buffer.from('</params>\n</methodCall>\n')]);
}

describeWithRealPeers('hostile text on the control socket, ours against Debian supervisord (property, fixed seed)', () => {
  let real: Daemon;
  let ours: Daemon;
  beforeAll(async () => {
    const daemons = await startDaemons(['real', 'ours'], () => ({ programs: '[program:cat]\ncommand=cat\nautostart=false\n' }));
    [real, ours] = [daemons[0]!, daemons[1]!];
  }, 60_000);
  afterAll(async () => {
    await Promise.all([real?.stop(), ours?.stop()]);
  });

  it('text in any string parameter, raw or as character references: same answer as supervisord, 400 exactly when malformed', async () => {
    const statuses = new Set<number>();
    await fc.assert(
      fc.asyncProperty(hostileString, fc.boolean(), fc.constantFrom(...METHODS), async (text, asReferences, method) => {
        const body = call(method, xmlString(text, asReferences));
        const [fromReal, fromOurs] = await Promise.all([post(real.socket, body), post(ours.socket, body)]);
        if ('dropped' in fromOurs) throw new Error(`ours dropped the connection: ${fromOurs.dropped}`);
        statuses.add(fromOurs.status);
        expect(fromOurs.status).toBe(isXmlText(text) ? 200 : 400);
        // supervisord drops the connection on bytes that are not UTF-8 (a raw lone surrogate): ours says 400.
        if ('dropped' in fromReal) {
          expect(asReferences).toBe(false);
          expect(fromOurs.status).toBe(400);
          return;
        }
        expect(fromOurs.status).toBe(fromReal.status);
        if (fromOurs.status === 200) {
          const [ourReply, realReply] = [decodeResponse(fromOurs.body), decodeResponse(fromReal.body)];
          expect(ourReply).toEqual(realReply);
          // The fault echoes the name or the signal as received: unchanged (line ends aside, which XML normalises).
          if (ourReply.kind === 'fault' && method.name !== 'supervisor.readProcessStdoutLog') {
            expect(ourReply.fault.faultString).toContain(text.replace(/\r\n?/g, '\n').trim());
          }
        }
      }),
      { seed: HOSTILE_SEED, numRuns: 120, endOnFailure: true },
    );
    expect([...statuses].sort()).toEqual([200, 400]);
  });

  it('arbitrary bytes in a string parameter: ours answers 200 or 400, never drops the connection', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 12 }), async (bytes) => {
        const safe = Buffer.from(bytes.map((b) => (b === 0x3c || b === 0x26 ? 0x20 : b)));
        const reply = await post(ours.socket, call(METHODS[0], safe));
        if ('dropped' in reply) throw new Error(`dropped: ${reply.dropped}`);
        const utf8 = Buffer.from(safe.toString('utf8'), 'utf8').equals(safe);
        expect(reply.status).toBe(utf8 && isXmlText(safe.toString('utf8')) ? 200 : 400);
      }),
      { seed: HOSTILE_SEED, numRuns: 60, endOnFailure: true },
    );
  });
});
