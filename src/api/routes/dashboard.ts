// The dashboard's pages (/ and /ui) and its two bundled assets (scripts/build.mjs writes them to dist/ui/).
// The HTML holds no data: the script asks /api for it with the token the user gave (sessionStorage), so
// these routes are open like /docs.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { errorBody } from '../errors.js';
import { dashboardPage, indexPage } from '../dashboard/pages.js';

/** dist/ui next to dist/api.js (the program), or the project's dist/ui when running from src/ (tests). */
function findAssetsDir(): string | null {
  const candidates = [new URL('./ui/', import.meta.url), new URL('../../../dist/ui/', import.meta.url)].map((u) => fileURLToPath(u));
  return candidates.find((dir) => existsSync(`${dir}app.js`)) ?? null;
}

interface Asset {
  type: string;
  body: Buffer;
  gzip: Buffer | null;
  etag: string;
}

/** The bundle's files: app.js, app.css and content-named chunks (chunk-<hash>.js); anything else is 404. */
const ASSET_NAME = /^[\w-]{1,64}\.(js|css)$/;
const assetParamsSchema = z.object({ file: z.string().regex(ASSET_NAME) });

async function loadAsset(dir: string, file: string): Promise<Asset> {
  const body = await readFile(`${dir}${file}`);
  const gzip = existsSync(`${dir}${file}.gz`) ? await readFile(`${dir}${file}.gz`) : null;
  const type = file.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8';
  return { type, body, gzip, etag: `"${createHash('sha1').update(body).digest('base64url').slice(0, 16)}"` };
}

export const dashboardRoutes: FastifyPluginAsync = async (app) => {
  const dir = findAssetsDir();
  // Read once at start: the assets change only with a new build, i.e. a new program.
  const assets = new Map<string, Asset>();
  if (dir) for (const file of (await readdir(dir)).filter((name) => ASSET_NAME.test(name))) assets.set(file, await loadAsset(dir, file));
  const version = createHash('sha1')
    .update(`${assets.get('app.js')?.etag ?? ''}${assets.get('app.css')?.etag ?? ''}`)
    .digest('base64url')
    .slice(0, 8);
  // Which optional parts this api has: known once every route is registered (at the first request), and
  // written into the page, so that the page does not ask.
  let html: string | null = null;
  const page = (): string =>
    (html ??= dashboardPage(version, { storyboards: app.hasRoute({ method: 'GET', url: '/api/storyboards' }) }));

  app.get('/', { schema: { hide: true } }, async (_request, reply) => reply.type('text/html; charset=utf-8').send(indexPage()));

  app.get('/ui', { schema: { hide: true } }, async (_request, reply) => {
    if (!dir) {
      return reply.code(503).send(errorBody('DASHBOARD_NOT_BUILT', 'the dashboard assets are missing (dist/ui/app.js): run `npm run build`'));
    }
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(page());
  });

  app.get('/ui/assets/:file', { schema: { hide: true } }, async (request, reply) => {
    const params = assetParamsSchema.safeParse(request.params);
    const asset = params.success ? assets.get(params.data.file) : undefined;
    if (!asset) return reply.code(404).send(errorBody('NOT_FOUND', `no dashboard asset ${request.url}`));
    // The page names app.js and app.css with ?v=<hash>, chunks carry a hash in their name: cached for good,
    // a new build has new URLs.
    reply.header('cache-control', 'public, max-age=31536000, immutable').header('etag', asset.etag).header('vary', 'accept-encoding');
    if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
    reply.type(asset.type);
    if (asset.gzip && /\bgzip\b/.test(request.headers['accept-encoding'] ?? '')) {
      return reply.header('content-encoding', 'gzip').send(asset.gzip);
    }
    return reply.send(asset.body);
  });
};
