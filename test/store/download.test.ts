// Downloads with a host allow-list (UPLOAD_URL_ALLOWED_HOSTS' check while fetching), on real loopback
// sockets: the URL's host and every redirect's are checked before a request goes out.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AllowedHosts, discardFile, downloadToTemporary, HostNotAllowedError } from '../../src/store/index.js';

describe('downloadToTemporary with allowedHosts', () => {
  let dir: string;
  let target: Server;
  let redirector: Server;
  const requests = { target: 0 };
  /** The target as "localhost" (a host name the lists below may or may not name). */
  let targetUrl: string;
  let redirectorUrl: string;

  const listen = async (server: Server) => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'download-'));
    target = createServer((_req, res) => {
      requests.target++;
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': 4 }).end('\x89PNG');
    });
    targetUrl = `http://localhost:${await listen(target)}/image.png`;
    redirector = createServer((_req, res) => res.writeHead(302, { location: targetUrl }).end());
    redirectorUrl = `http://127.0.0.1:${await listen(redirector)}/start`;
  });
  afterAll(async () => {
    await Promise.all([target, redirector].map((s) => new Promise((resolve) => s.close(resolve))));
    await rm(dir, { recursive: true, force: true });
  });

  const download = (url: string, allowed: string) =>
    downloadToTemporary(url, { dir, idleTimeoutMs: 5_000, allowHttp: true, allowedHosts: AllowedHosts.parse(allowed) });

  it('refuses a URL whose host is not listed, before connecting', async () => {
    const error = await download(targetUrl, '127.0.0.1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostNotAllowedError);
    expect(error).toMatchObject({ host: 'localhost', redirected: false });
    expect(requests.target).toBe(0);
  });

  it('refuses a redirect to a host that is not listed, without requesting it, and leaves no file', async () => {
    const error = await download(redirectorUrl, '127.0.0.1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostNotAllowedError);
    expect((error as HostNotAllowedError).message).toBe('redirected to host "localhost", which is not in UPLOAD_URL_ALLOWED_HOSTS');
    expect(requests.target).toBe(0);
    expect(await readdir(dir)).toEqual([]);
  });

  it('follows a redirect between listed hosts', async () => {
    const file = await download(redirectorUrl, '127.0.0.1,localhost');
    expect(file.size).toBe(4);
    expect(requests.target).toBe(1);
    await discardFile(file.temporaryPath);
  });
});
