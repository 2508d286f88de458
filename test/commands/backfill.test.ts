import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { progressLine } from '../../src/commands/backfill.js';
import { Queue } from '../../src/queue/queue.js';
import { parseTelegram } from '../../src/telegram/parse.js';
import { runCli } from '../support/cli.js';
import { CosmServer } from '../support/cosm-server.js';
import { fixtureDir } from '../support/fixtures.js';
import { Victoria } from '../support/victoria.js';

const FIXTURES = ['V4_2.txt', 'V5.txt', 'V5_TWO_MBUS.txt', 'FLUVIUS_V171.txt'];
const KEY = 'backfill-key-4321';
let vm: Victoria;
let cosm: CosmServer;
let dir: string;
let dataDir: string;
let raws: string[];

beforeAll(async () => {
  [vm, cosm] = await Promise.all([Victoria.start(), CosmServer.start({ apiKey: KEY, feeds: ['42'] })]);
  dir = await mkdtemp(join(tmpdir(), 'p1logger-backfill-'));
  dataDir = join(dir, 'data');
  raws = await Promise.all(FIXTURES.map((f) => readFile(`${fixtureDir}${f}`, 'latin1')));
  const queue = await Queue.open(dataDir, { retentionIntervalMs: 0 });
  for (const raw of raws) await queue.append(raw, new Date(parseTelegram(raw).time!));
  await queue.close();
});
afterAll(async () => {
  await Promise.all([vm?.close(), cosm?.close()]);
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('p1logger backfill', () => {
  it('re-sends a time range to a new sink, each reading at its original time (years ago)', async () => {
    const result = await runCli(['backfill', '--data-dir', dataDir, '--sink', `influxdb:${vm.url}?org=-&bucket=p1`, '--from', '2017-01-01', '--to', '2020-12-31']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/backfill to influxdb:http:\/\/127\.0\.0\.1:\d+\?org=-&bucket=p1: 3 telegrams sent \(\d+ points\) in [\d.]+ s, 0 refused/);
    const series = await vm.export('{__name__="electricity_import_t1"}');
    const times = series.flatMap((s) => s.timestamps).sort();
    // V4_2 (2016) is outside the range; the other three arrive at their meter times.
    expect(times).toEqual([Date.parse('2017-01-02T19:20:02+01:00'), Date.parse('2020-04-26T22:33:25+02:00'), Date.parse('2020-05-12T13:54:09+02:00')]);
    const gas = await vm.export('{__name__="gas_value"}');
    expect(gas.flatMap((s) => s.values).sort()).toEqual([0.107, 112.384, 246.138]);
  });

  it('a named sink of the configuration file, with its key from the environment; a refused record is listed', async () => {
    const config = join(dir, 'config.yaml');
    await writeFile(config, `dataDir: ${dataDir}\nsinks:\n  - name: feed\n    url: cosm:${cosm.url}/v2/feeds/42\n    token: { env: MY_COSM_KEY }\n`);
    await chmod(config, 0o600);
    cosm.rejectTime(Date.parse('2020-04-26T22:33:25+02:00'), 'datapoint rejected by the test');
    const result = await runCli(['backfill', '--config', config, '--sink', 'feed', '--from', '2000-01-01'], { env: { ...process.env, MY_COSM_KEY: KEY } });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/3 telegrams sent .* 1 refused/);
    expect(result.stderr).toMatch(/refused seq 3 \(received 2020-04-26T20:33:25.000Z\): datapoint rejected by the test/);
    expect(result.stderr).not.toContain(KEY);
    expect(cosm.datapoints('42', 'import_t1').map((p) => p.timeMs)).toEqual([
      Date.parse('2016-11-13T20:57:57+01:00'),
      Date.parse('2017-01-02T19:20:02+01:00'),
      Date.parse('2020-05-12T13:54:09+02:00'),
    ]);
  });

  it('stops and says how to resume when the sink refuses the credentials', async () => {
    const result = await runCli(['backfill', '--data-dir', dataDir, '--sink', `cosm:${cosm.url}/v2/feeds/42`, '--from', '2000-01-01'], {
      env: { ...process.env, COSM_API_KEY: 'wrong-key-0000' },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/stopped: P1_SINK_AUTH: You do not have permission/);
    expect(result.stderr).toMatch(/resume with: --from 2016-11-13T19:57:57\.000Z/);
    expect(result.stderr).not.toContain('wrong-key-0000');
  });

  it('refuses to run beside the service holding the data directory', async () => {
    const queue = await Queue.open(dataDir, { retentionIntervalMs: 0 });
    try {
      const result = await runCli(['backfill', '--data-dir', dataDir, '--sink', `influxdb:${vm.url}?org=-&bucket=p1`, '--from', '2000-01-01']);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/in use by another process/);
    } finally {
      await queue.close();
    }
  });

  it('usage errors: a bad spec names the part; --from after --to', async () => {
    const spec = await runCli(['backfill', '--data-dir', dataDir, '--sink', `influxdb:${vm.url}?bucket=p1`, '--from', '2000-01-01']);
    expect(spec.code).toBe(2);
    expect(spec.stderr).toMatch(/parameter "org": missing/);
    const order = await runCli(['backfill', '--data-dir', dataDir, '--sink', `influxdb:${vm.url}?org=-&bucket=p1`, '--from', '2021-01-01', '--to', '2020-01-01']);
    expect(order.code).toBe(2);
  });

  it('draws its progress as a bar', () => {
    expect(progressLine(13_500, 27_000, 8120.4, 20)).toBe('[##########----------]  50%  13,500/27,000 telegrams  8,120/s');
    expect(progressLine(0, 0, 0, 4)).toBe('[####] 100%  0/0 telegrams  0/s');
  });
});
