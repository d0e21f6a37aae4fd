// Part of `npm run bench:processor` (6), output keeping: a plain durable keeper written the obvious way in Node,
// for reference beside curl and ours. Per file only what issue 12's rules ask, with nothing else: GET over
// keep-alive (node:http, `parallel` transfers at once, as curl gets), SHA-256 of every byte, the bytes piped to a
// temporary file (fs.createWriteStream, fsync'ed before close), rename, and one fsync of the folder at the end.
// No database, no task, no retry, one folder for all files. It is not a ceiling: the processor's own GET client
// (src/store/http-get.ts) beats it at 20 MB. Run as its own process (`node --import tsx bench/plain-keeper.ts
// <dir> <parallel> <url>...`, `--no-hash` leaves out the hash); prints {"bytes","wallMs"} measured from the first
// request to the folder's fsync, so its start-up is not counted (nor is curl's process start in curl's rounds).
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

async function keepOne(agent: http.Agent, url: string, file: string, hash: boolean): Promise<number> {
  const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
    http.get(url, { agent }, resolve).on('error', reject);
  });
  if (response.statusCode !== 200) throw new Error(`${url}: HTTP ${response.statusCode}`);
  const sha256 = hash ? createHash('sha256') : undefined;
  let bytes = 0;
  response.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    sha256?.update(chunk);
  });
  const temporary = `${file}.part`;
  // flush: fsync of the file before it is closed (fdatasync is not offered; for a new file they write the same).
  await pipeline(response, createWriteStream(temporary, { flush: true }));
  sha256?.digest('hex');
  await rename(temporary, file);
  return bytes;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const hash = !args.includes('--no-hash');
  const [dir, parallelText, ...urls] = args.filter((a) => a !== '--no-hash');
  const parallel = Number(parallelText);
  if (dir === undefined || !(parallel >= 1) || urls.length === 0) throw new Error('usage: plain-keeper.ts [--no-hash] <dir> <parallel> <url>...');
  await mkdir(dir, { recursive: true });
  const agent = new http.Agent({ keepAlive: true, maxSockets: parallel });
  const started = performance.now();
  let next = 0;
  let total = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallel, urls.length) }, async () => {
      while (next < urls.length) {
        const i = next++;
        const bytes = await keepOne(agent, urls[i]!, path.join(dir, String(i)), hash);
        total += bytes;
      }
    }),
  );
  const folder = await open(dir, 'r');
  await folder.sync();
  await folder.close();
  const wallMs = performance.now() - started;
  agent.destroy();
  process.stdout.write(`${JSON.stringify({ bytes: total, wallMs })}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
