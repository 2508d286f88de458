import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from '../../src/queue/queue.js';
import { runCli, spawnCli } from '../support/cli.js';

const corpus = fileURLToPath(new URL('../fixtures/external/', import.meta.url));
const KEY = '0123456789abcdef0123456789abcdef';
const AUTH = 'ffeeddccbbaa99887766554433221100';
const ENCRYPTED = join(corpus, 'athombv-node-dsmr-parser/encrypted/dlms-aidon-example-2-with-aad.bin');
/** Lines without meter keys in the environment: the tests set the ones they mean. */
const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('P1LOGGER_')));

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'p1logger-dlms-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Reading {
  protocol: string;
  meter: string | null;
  time: string | null;
  objects: Record<string, { value: unknown; unit?: string; text?: string }>;
}

/** A command's stdout as bytes (runCli decodes it as text, which binary frames do not survive). */
async function stdoutBytes(args: string[]): Promise<Buffer> {
  const child = spawnCli(args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const chunks: Buffer[] = [];
  child.stdout!.on('data', (chunk: Buffer) => chunks.push(chunk));
  const [code] = (await once(child, 'close')) as [number | null];
  expect(code).toBe(0);
  return Buffer.concat(chunks);
}

function readings(stdout: string): Reading[] {
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Reading);
}

describe('p1logger with DLMS meters', () => {
  it('parse gives a HAN frame in the NDJSON contract: OBIS keys, values after the scaler, units', async () => {
    const result = await runCli(['parse', join(corpus, 'turbokongen-hass-AMS/kamstrup-list3.bin')], { env });
    expect(result.code, result.stderr).toBe(0);
    const [reading] = readings(result.stdout);
    expect(reading).toMatchObject({ protocol: 'dlms', meter: '5706567271589419', list: 'Kamstrup_V0001', time: '2022-11-26T15:00:05+01:00' });
    expect(reading!.objects['1-1:1.8.0']).toEqual({ value: 155232510, unit: 'Wh' });
    expect(reading!.objects['1-1:31.7.0']).toEqual({ value: 2.84, unit: 'A' });
  });

  it('parse reads an encrypted frame with the key from the environment, and says which key is missing without it', async () => {
    const withKey = await runCli(['parse', ENCRYPTED], { env: { ...env, P1LOGGER_DECRYPTION_KEY: KEY, P1LOGGER_AUTHENTICATION_KEY: AUTH } });
    expect(withKey.code, withKey.stderr).toBe(0);
    expect(readings(withKey.stdout)[0]!.objects['1-0:1.7.0']).toEqual({ value: 1122, unit: 'W' });

    const without = await runCli(['parse', ENCRYPTED], { env });
    expect(without.code).toBe(1);
    expect(without.stdout).toBe('');
    expect(without.stderr).toMatch(/P1_KEY_REQUIRED.*system title 7379737469746C65.*set decryptionKey \(P1LOGGER_DECRYPTION_KEY\)/);

    const wrong = await runCli(['parse', ENCRYPTED], { env: { ...env, P1LOGGER_DECRYPTION_KEY: 'f'.repeat(32) } });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/P1_DECRYPT_FAILED.*check decryptionKey/);
    expect(wrong.stderr).toContain('decryption failures: 1');
    for (const output of [withKey, without, wrong]) expect(`${output.stdout}${output.stderr}`.toLowerCase()).not.toMatch(new RegExp(`${KEY}|${AUTH}|f{32}`));
  });

  it('detect names the protocol and meter of a capture and the config lines to use', async () => {
    const result = await runCli(['detect', '--source', `file:${join(corpus, 'turbokongen-hass-AMS/kamstrup-list3.bin')}`, '--timeout', '20'], { env });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('protocol: DLMS/COSEM data-notifications in HDLC frames (HAN port)');
    expect(result.stdout).toContain('meter: Kamstrup, id 5706567271589419, list Kamstrup_V0001');
    expect(result.stdout).toContain('config lines to use:');
  });

  it('import stores the frames decrypted with their protocol; export gives them back as NDJSON and as raw frames', async () => {
    const files = ['turbokongen-hass-AMS/kamstrup-list2.bin', 'turbokongen-hass-AMS/kaifa-ma304h3e-list2.bin', 'athombv-node-dsmr-parser/encrypted/dlms-aidon-example-2-with-aad.bin'];
    const capture = join(dir, 'han.bin');
    await writeFile(capture, Buffer.concat(await Promise.all(files.map((f) => readFile(join(corpus, f))))));
    const data = join(dir, 'data');
    const keyEnv = { ...env, P1LOGGER_DECRYPTION_KEY: KEY, P1LOGGER_AUTHENTICATION_KEY: AUTH };
    // The Aidon list carries no time: --start gives the receive times of frames without one.
    const imported = await runCli(['import', capture, '--data-dir', data, '--start', '2019-12-16T07:59:40+01:00'], { env: keyEnv });
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stderr).toMatch(/imported 3 telegrams/);

    const queue = await Queue.open(data, { readOnly: true });
    const records = await queue.readAfter(0, 10).finally(() => queue.close());
    expect(records.map((r) => [r.protocol, r.receivedAt, r.raw.charCodeAt(0)])).toEqual([
      ['dlms', '2021-06-14T15:37:30.000Z', 0x0f],
      ['dlms', '2022-11-07T08:44:40.000Z', 0x0f],
      ['dlms', '2019-12-16T06:59:40.000Z', 0x0f],
    ]);

    // Stored decrypted: exporting needs no key.
    const ndjson = await runCli(['export', '--data-dir', data, '--format', 'ndjson'], { env });
    expect(ndjson.code, ndjson.stderr).toBe(0);
    const exported = readings(ndjson.stdout);
    expect(exported.map((r) => r.meter)).toEqual(['5706567275940841', '6970631404129954', null]);
    expect(exported[2]!.objects['1-0:32.7.0']).toEqual({ value: 230.7, unit: 'V' });

    const rawFile = join(dir, 'export.bin');
    await writeFile(rawFile, await stdoutBytes(['export', '--data-dir', data, '--format', 'raw']));
    const reparsed = await runCli(['parse', rawFile], { env });
    expect(readings(reparsed.stdout)).toEqual(exported);
  });
});
