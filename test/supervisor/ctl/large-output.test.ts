// Output larger than a pipe holds (64 KiB) reaches the reader whole: supervisorctl ends with process.exit once
// its output is written, so an exit that came before the last write was taken would cut it short.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { bigLogProgram, describeWithRealPeers, runCtl, startDaemons, waitForWholeLog, type Daemon } from './harness.js';

const BIG_LOG_BYTES = 200_000;

describeWithRealPeers('output larger than a pipe', () => {
  const daemons: Daemon[] = [];

  beforeAll(async () => {
    daemons.push(...(await startDaemons(['real', 'ours'], () => ({ programs: bigLogProgram('big', BIG_LOG_BYTES) }))));
  });

  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.stop()));
  });

  it('tail of 200 kB through a pipe arrives whole from both clients', async () => {
    for (const daemon of daemons) {
      await waitForWholeLog(daemon, 'big', BIG_LOG_BYTES);
      for (const client of ['real', 'ours'] as const) {
        const result = await runCtl(client, ['-c', daemon.conf, 'tail', `-${BIG_LOG_BYTES}`, 'big']);
        expect(result.exitCode, `${client} client, ${daemon.kind} supervisord`).toBe(0);
        expect(result.stdout, `${client} client, ${daemon.kind} supervisord`).toBe(`${'x'.repeat(BIG_LOG_BYTES)}\n`);
      }
    }
  });
});
