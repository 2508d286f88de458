import { CosmSink } from '../../src/sinks/cosm.js';
import { parseSinkSpec, type CosmSpec } from '../../src/sinks/spec.js';
import { CosmServer } from '../support/cosm-server.js';
import { freePort } from '../support/free-port.js';
import { sinkContract } from './contract.js';

const KEY = 'contract-cosm-key-1414';
const WRONG = 'contract-cosm-wrong-key-1732';

sinkContract('cosm (the Cosm-compatible test server)', async () => {
  const server = await CosmServer.start({ apiKey: KEY, feeds: ['1001'] });
  const spec = (url: string): CosmSpec => parseSinkSpec(`cosm:${url}/v2/feeds/1001`) as CosmSpec;
  return {
    sink: () => new CosmSink({ spec: spec(server.url), apiKey: KEY, timeoutMs: 10_000 }),
    refused: () => new CosmSink({ spec: spec(server.url), apiKey: WRONG, timeoutMs: 10_000 }),
    unreachable: async () => new CosmSink({ spec: spec(`http://127.0.0.1:${await freePort()}`), apiKey: KEY, timeoutMs: 10_000 }),
    stored: () =>
      Promise.resolve(server.datastreams('1001').flatMap((id) => server.datapoints('1001', id).map((p) => `${id} ${p.timeMs} ${p.value}`))),
    secrets: [KEY, WRONG],
    close: () => server.close(),
  };
});
