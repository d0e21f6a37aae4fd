// The line supervisorctl prints for a connection error it has no message of its own for: Python's
// exception class, errno and strerror text, checked against Python itself (the table is ours; the words
// are glibc's through Python), and a host name that does not resolve, against the real client.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { NAME_LOOKUP_ERRORS, OS_ERRORS, pythonErrorLine } from '../../../src/supervisor/ctl/controller.js';
import { RpcConnectionError } from '../../../src/supervisor/ctl/transport.js';
import { describeWithRealPeers, runCtl } from './harness.js';

const SOCKET_PY = '/usr/lib/python3.11/socket.py';

/** What Python raises for each errno name: `OSError(n, strerror(n))` becomes its subclass by itself. */
function pythonOsErrors(names: string[]): Record<string, string> {
  const script = `
import errno, json, os, sys
out = {}
for name in sys.argv[1:]:
    n = getattr(errno, name)
    e = OSError(n, os.strerror(n))
    out[name] = "<class '%s'>, %s" % (type(e).__name__, e)
print(json.dumps(out))`;
  return JSON.parse(execFileSync('python3', ['-c', script, ...names], { encoding: 'utf8' })) as Record<string, string>;
}

/** glibc's gai_strerror through Python, as socket.gaierror prints it. */
function pythonNameLookupErrors(): Record<string, string> {
  const script = `
import ctypes, json, socket
libc = ctypes.CDLL(None)
libc.gai_strerror.restype = ctypes.c_char_p
print(json.dumps({name: "[Errno %d] %s" % (n, libc.gai_strerror(n).decode()) for name, n in
                  (("ENOTFOUND", socket.EAI_NONAME), ("EAI_AGAIN", socket.EAI_AGAIN))}))`;
  return JSON.parse(execFileSync('python3', ['-c', script], { encoding: 'utf8' })) as Record<string, string>;
}

describe("supervisorctl's line for a connection error", () => {
  it("names Python's class, errno and text for every errno in the table", () => {
    const names = Object.keys(OS_ERRORS);
    expect(names).toContain('EHOSTUNREACH');
    const python = pythonOsErrors(names);
    for (const name of names) {
      expect(pythonErrorLine(new RpcConnectionError(name, `connect ${name} 192.0.2.1:9001`), false), name).toBe(
        `error: ${python[name]}: file: ${SOCKET_PY} line: 836`,
      );
    }
  });

  it('gives a failed name lookup as socket.gaierror (TCP only), an unknown errno as OSError with its message', () => {
    const python = pythonNameLookupErrors();
    for (const name of Object.keys(NAME_LOOKUP_ERRORS)) {
      expect(pythonErrorLine(new RpcConnectionError(name, `getaddrinfo ${name} x`), false)).toBe(
        `error: <class 'socket.gaierror'>, ${python[name]}: file: ${SOCKET_PY} line: 962`,
      );
    }
    expect(pythonErrorLine(new RpcConnectionError('EWHATEVER', 'connect EWHATEVER /s'), true)).toBe(
      "error: <class 'OSError'>, connect EWHATEVER /s: file: /usr/lib/python3/dist-packages/supervisor/xmlrpc.py line: 557",
    );
  });
});

describeWithRealPeers('a server URL whose host does not resolve (ours vs real)', () => {
  it('prints the same socket.gaierror line and exit code as the real client', async () => {
    // One quick try per name server, whatever this machine's resolver is (none reachable gives EAI_AGAIN).
    const env = { RES_OPTIONS: 'timeout:1 attempts:1' };
    const args = ['-s', 'http://no-such-host.invalid:9001', 'avail'];
    const real = await runCtl('real', args, { env });
    const ours = await runCtl('ours', args, { env });
    expect(real.stdout + real.stderr).toMatch(/^error: <class 'socket\.gaierror'>, \[Errno -\d+\] /);
    expect(ours.stdout + ours.stderr).toBe(real.stdout + real.stderr);
    expect(ours.exitCode).toBe(real.exitCode);
  });
});
