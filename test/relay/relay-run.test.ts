import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCli, watchCli } from '../support/cli.js';
import { freePort } from '../support/free-port.js';

const COUNT = 15;

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface RelayStatus {
  relay?: { listen: string | null; clients: number; connections: number; bytes: number; telegrams: number };
}

/** stdout of a finished command as bytes (telegrams are latin1). */
async function bytesOf(args: string[]): Promise<Buffer> {
  const child = spawnCli(args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  child.stdout!.on('data', (c: Buffer) => chunks.push(c));
  const [code] = (await once(child, 'close')) as [number | null];
  expect(code).toBe(0);
  return Buffer.concat(chunks);
}

describe('p1logger run with the P1 relay', () => {
  let dir: string;
  const cleanups: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'p1logger-relay-'));
  });
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  it('`p1logger read --source tcp:` through the relay gets the telegrams the queue stored, byte for byte', async () => {
    const [httpPort, relayPort] = [await freePort(), await freePort()];
    const dataDir = join(dir, 'data');
    const config = join(dir, 'config.yaml');
    await writeFile(
      config,
      ['source: simulate?interval=0.1', `dataDir: ${dataDir}`, `http: { listen: "127.0.0.1:${httpPort}" }`, `relay: { listen: "127.0.0.1:${relayPort}" }`].join('\n'),
    );
    const run = watchCli(['run', '--config', config], cleanups);
    const status = async (): Promise<RelayStatus> => (await fetch(`http://127.0.0.1:${httpPort}/api/status`)).json() as Promise<RelayStatus>;
    await until('the relay listening', async () => ((await status()).relay?.listen === `127.0.0.1:${relayPort}` ? true : undefined));

    // A second p1logger reads the meter through the first, as Home Assistant's DSMR integration would.
    const reader = watchCli(['read', '--source', `tcp:127.0.0.1:${relayPort}`, '--raw', '--count', String(COUNT)], cleanups);
    await until('the reader connected', async () => ((await status()).relay?.clients === 1 ? true : undefined));
    expect(await reader.exit, reader.stderr()).toBe(0);

    const seen = await status();
    expect(seen.relay).toMatchObject({ connections: 1 });
    expect(seen.relay!.bytes).toBeGreaterThanOrEqual(Buffer.byteLength(reader.stdout(), 'latin1'));
    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    expect(metrics).toMatch(/^p1logger_relay_connections_total 1$/m);
    expect(metrics).toMatch(/^p1logger_relay_bytes_total [1-9]\d*$/m);

    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(0);

    // The reader's telegrams are a run of consecutive stored telegrams, exactly as the queue has them.
    const relayed = Buffer.from(reader.stdout(), 'latin1');
    const telegrams = relayed.toString('latin1').split(/(?=^\/)/m);
    expect(telegrams).toHaveLength(COUNT);
    const stored = await bytesOf(['export', '--data-dir', dataDir, '--format', 'raw']);
    expect(stored.indexOf(relayed)).toBeGreaterThanOrEqual(0);
  });
});
