import { InfluxV2Sink } from '../../src/sinks/influxdb.js';
import { parseSinkSpec, type InfluxV2Spec } from '../../src/sinks/spec.js';
import { freePort } from '../support/free-port.js';
import { Victoria } from '../support/victoria.js';
import { sinkContract } from './contract.js';

const TOKEN = 'contract-v2-token-3141';

sinkContract('influxdb (v2 API, VictoriaMetrics)', async () => {
  const open = await Victoria.start();
  // A VictoriaMetrics that wants Basic auth: the v2 client's "Token" is refused with 401, as a wrong token is.
  const guarded = await Victoria.start({ args: ['-httpAuth.username=p1logger', '-httpAuth.password=contract-vm-password-2718'] });
  const spec = (url: string): InfluxV2Spec => parseSinkSpec(`influxdb:${url}?org=home&bucket=p1`) as InfluxV2Spec;
  return {
    sink: () => new InfluxV2Sink({ spec: spec(open.url), token: TOKEN, timeoutMs: 10_000 }),
    refused: () => new InfluxV2Sink({ spec: spec(guarded.url), token: TOKEN, timeoutMs: 10_000 }),
    unreachable: async () => new InfluxV2Sink({ spec: spec(`http://127.0.0.1:${await freePort()}`), token: TOKEN, timeoutMs: 10_000 }),
    stored: async () =>
      (await open.export('{__name__=~"(electricity|gas|water|heat|mbus)_.*"}')).flatMap((s) =>
        s.timestamps.map((t, i) => `${JSON.stringify(s.metric)} ${t} ${s.values[i]}`),
      ),
    secrets: [TOKEN, 'contract-vm-password-2718'],
    close: async () => {
      await open.close();
      await guarded.close();
    },
  };
});
