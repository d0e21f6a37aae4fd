// The dashboard's pages (/ and /ui) and its two bundled assets (scripts/build.mjs writes them to dist/ui/).
// The HTML holds no data: the script asks /api for it with the token the user gave (sessionStorage), so
// these routes are open like /docs.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
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

const ASSET_TYPES = { 'app.js': 'text/javascript; charset=utf-8', 'app.css': 'text/css; charset=utf-8' } as const;
const assetParamsSchema = z.object({ file: z.enum(Object.keys(ASSET_TYPES) as ['app.js', 'app.css']) });

async function loadAsset(dir: string, file: keyof typeof ASSET_TYPES): Promise<Asset> {
  const body = await readFile(`${dir}${file}`);
  const gzip = existsSync(`${dir}${file}.gz`) ? await readFile(`${dir}${file}.gz`) : null;
  return { type: ASSET_TYPES[file], body, gzip, etag: `"${createHash('sha1').update(body).digest('base64url').slice(0, 16)}"` };
}

export const dashboardRoutes: FastifyPluginAsync = async (app) => {
  const dir = findAssetsDir();
  // Read once at start: the assets change only with a new build, i.e. a new program.
  const assets = new Map<string, Asset>();
  if (dir) for (const file of Object.keys(ASSET_TYPES) as (keyof typeof ASSET_TYPES)[]) assets.set(file, await loadAsset(dir, file));
  const version = assets.get('app.js')?.etag.slice(1, 9) ?? 'none';
  const html = dashboardPage(version);

  app.get('/', { schema: { hide: true } }, async (_request, reply) => reply.type('text/html; charset=utf-8').send(indexPage()));

  app.get('/ui', { schema: { hide: true } }, async (_request, reply) => {
    if (!dir) {
      return reply.code(503).send(errorBody('DASHBOARD_NOT_BUILT', 'the dashboard assets are missing (dist/ui/app.js): run `npm run build`'));
    }
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(html);
  });

  app.get('/ui/assets/:file', { schema: { hide: true } }, async (request, reply) => {
    const params = assetParamsSchema.safeParse(request.params);
    const asset = params.success ? assets.get(params.data.file) : undefined;
    if (!asset) return reply.code(404).send(errorBody('NOT_FOUND', `no dashboard asset ${request.url}`));
    // The page names assets with ?v=<hash>: cached for good, a new build has a new URL.
    reply.header('cache-control', 'public, max-age=31536000, immutable').header('etag', asset.etag).header('vary', 'accept-encoding');
    if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
    reply.type(asset.type);
    if (asset.gzip && /\bgzip\b/.test(request.headers['accept-encoding'] ?? '')) {
      return reply.header('content-encoding', 'gzip').send(asset.gzip);
    }
    return reply.send(asset.body);
  });
};
