import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Queue } from '../../src/queue/queue.js';
import { runCli } from '../support/cli.js';
import { fixtureDir } from '../support/fixtures.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'p1logger-import-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function capture(name: string, ...fixtures: string[]): Promise<{ path: string; raws: string[] }> {
  const raws = await Promise.all(fixtures.map((f) => readFile(`${fixtureDir}${f}`, 'latin1')));
  const path = join(dir, name);
  await writeFile(path, Buffer.from(raws.join(''), 'latin1'));
  return { path, raws };
}

async function stored(): Promise<Array<{ seq: number; receivedAt: string; raw: string }>> {
  const queue = await Queue.open(join(dir, 'data'), { readOnly: true });
  try {
    return await queue.readAfter(0, 1000);
  } finally {
    await queue.close();
  }
}

describe('p1logger import', () => {
  it('stores each telegram as sent, received at its meter time', async () => {
    const { path, raws } = await capture('cap.txt', 'V4_2.txt', 'V5.txt', 'FLUVIUS_V171.txt');
    const result = await runCli(['import', path, '--data-dir', join(dir, 'data')]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/imported 3 telegrams .*\(seq 1-3,/);
    expect(await stored()).toEqual([
      { seq: 1, receivedAt: '2016-11-13T19:57:57.000Z', protocol: 'dsmr', raw: raws[0] },
      { seq: 2, receivedAt: '2017-01-02T18:20:02.000Z', protocol: 'dsmr', raw: raws[1] },
      { seq: 3, receivedAt: '2020-05-12T11:54:09.000Z', protocol: 'dsmr', raw: raws[2] },
    ]);
  });

  it('DSMR 2.2/3 carry no time: refused without --start, spaced by --interval with it', async () => {
    const { path } = await capture('old.txt', 'V2_2.txt', 'V3.txt', 'SEED_KAMSTRUP162_V2_2.txt');
    const refused = await runCli(['import', path, '--data-dir', join(dir, 'data')]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/telegram 1 carries no time .*--start TIME .*--interval SECONDS/);
    const result = await runCli(['import', path, '--data-dir', join(dir, 'data'), '--start', '2016-11-07T18:00:00Z', '--interval', '10']);
    expect(result.code, result.stderr).toBe(0);
    expect((await stored()).map((r) => r.receivedAt)).toEqual(['2016-11-07T18:00:00.000Z', '2016-11-07T18:00:10.000Z', '2016-11-07T18:00:20.000Z']);
  });

  it('skips and counts a telegram whose CRC does not match', async () => {
    const good = await readFile(`${fixtureDir}V5.txt`, 'latin1');
    const bad = good.replace('1-0:1.8.1(000004.426*kWh)', '1-0:1.8.1(000004.427*kWh)');
    const path = join(dir, 'crc.txt');
    await writeFile(path, Buffer.from(bad + good, 'latin1'));
    const result = await runCli(['import', path, '--data-dir', join(dir, 'data')]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/imported 1 telegrams.*CRC errors: 1/);
    expect((await stored()).map((r) => r.raw)).toEqual([good]);
  });

  it('a missing file is a usage error', async () => {
    const result = await runCli(['import', join(dir, 'nope.txt'), '--data-dir', join(dir, 'data')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/no such file: .*nope\.txt/);
  });
});
