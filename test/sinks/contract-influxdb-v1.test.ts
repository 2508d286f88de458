import { InfluxV1Sink } from '../../src/sinks/influxdb-v1.js';
import { parseSinkSpec, type InfluxV1Spec } from '../../src/sinks/spec.js';
import { freePort } from '../support/free-port.js';
import { Influxd } from '../support/influxd.js';
import { sinkContract } from './contract.js';

const ADMIN = { username: 'p1logger', password: 'contract-v1-password-1618' };
const WRONG = 'contract-v1-wrong-password-0577';

sinkContract('influxdb-v1 (InfluxDB 1.6 with authentication)', async () => {
  const influxd = await Influxd.start({ admin: ADMIN });
  await influxd.createDatabase('p1');
  const spec = (url: string): InfluxV1Spec => parseSinkSpec(`influxdb-v1:${url}?db=p1`) as InfluxV1Spec;
  return {
    sink: () => new InfluxV1Sink({ spec: spec(influxd.url), ...ADMIN, timeoutMs: 10_000 }),
    refused: () => new InfluxV1Sink({ spec: spec(influxd.url), username: ADMIN.username, password: WRONG, timeoutMs: 10_000 }),
    unreachable: async () => new InfluxV1Sink({ spec: spec(`http://127.0.0.1:${await freePort()}`), ...ADMIN, timeoutMs: 10_000 }),
    stored: async () => {
      const rows = [];
      for (const measurement of ['electricity', 'gas', 'water', 'heat', 'mbus']) rows.push(...(await influxd.rows('p1', measurement)).map((row) => JSON.stringify(row)));
      return rows;
    },
    secrets: [ADMIN.password, WRONG],
    close: () => influxd.close(),
  };
});
