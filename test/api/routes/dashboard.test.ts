// The dashboard's documents and assets as the api serves them (the page itself is tested in a real
// Chromium: test/api/dashboard/browser.test.ts).
import { gunzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../support/db.js';
import { startTestApp } from '../support.js';

describe('dashboard routes', () => {
  let db: TestDatabase;
  let app: FastifyInstance;
  beforeAll(async () => {
    db = await createTestDatabase('api_dashboard');
    // With a token: the documents stay open (they hold no data), /api does not.
    app = await startTestApp(db.pool, { apiToken: 'write-token-0123456789abcdef' });
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('links the dashboard from /', async () => {
    const res = await request(app.server).get('/').expect(200).expect('content-type', /text\/html/);
    expect(res.text).toContain('href="/ui"');
  });

  it('serves the shell at /ui naming only our own assets (no CDN)', async () => {
    const res = await request(app.server).get('/ui').expect(200).expect('content-type', /text\/html/);
    const urls = [...res.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(urls).toContain(urls.find((u) => u.startsWith('/ui/assets/app.js?v=')));
    expect(urls.filter((u) => /^(https?:)?\/\//.test(u))).toEqual([]);
    // The api has /api/storyboards: the page is told so (and shows its link) without asking.
    expect(res.text).toContain('data-storyboards="yes"');
    expect(res.text).toMatch(/<a href="#\/storyboards" data-nav="storyboards">/);
  });

  it('sends the assets gzipped when asked, cacheable, with an ETag answered by 304', async () => {
    // inject, not supertest: supertest would decompress the body before the test sees it.
    const gz = await app.inject({ url: '/ui/assets/app.js', headers: { 'accept-encoding': 'gzip, br' } });
    expect(gz.statusCode).toBe(200);
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.headers['cache-control']).toMatch(/immutable/);
    const plain = await request(app.server).get('/ui/assets/app.js').set('accept-encoding', 'identity').expect(200);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.text.length).toBeGreaterThan(1000);
    expect(gunzipSync(gz.rawPayload).toString('utf8')).toBe(plain.text);
    await request(app.server).get('/ui/assets/app.js').set('if-none-match', String(gz.headers.etag)).expect(304);
    await request(app.server).get('/ui/assets/app.css').expect(200).expect('content-type', /text\/css/);
  });

  it("serves the chunks app.js imports (uPlot is one, for the Queue page's charts)", async () => {
    const app_js = await request(app.server).get('/ui/assets/app.js').expect(200);
    const chunks = [...app_js.text.matchAll(/"\.\/(chunk-[\w-]+\.js)"/g)].map((m) => m[1]!);
    expect(chunks.length).toBeGreaterThan(0);
    for (const chunk of chunks) {
      const res = await request(app.server).get(`/ui/assets/${chunk}`).expect(200).expect('content-type', /javascript/);
      expect(res.headers['cache-control']).toMatch(/immutable/);
    }
  });

  it('answers 404 for any other asset name (no file system path from the URL)', async () => {
    const res = await request(app.server).get('/ui/assets/..%2F..%2Fpackage.json').expect(404);
    expect(res.body.error.code).toBe('NOT_FOUND');
    await request(app.server).get('/ui/assets/app.js.gz').expect(404);
  });
});
