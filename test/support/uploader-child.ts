/**
 * A p1logger uploader as its own process, for the crash test: drains DATA_DIR to SINK_SPEC with batches of
 * BATCH records, prints "drained" and exits 0 once the sink's cursor reaches the last record. SIGKILL it anywhere.
 * Usage: node --import tsx test/support/uploader-child.ts DATA_DIR SINK_SPEC BATCH
 */
import { Queue } from '../../src/queue/queue.js';
import { createSink } from '../../src/sinks/create.js';
import { parseSinkSpec } from '../../src/sinks/spec.js';
import { Uploader } from '../../src/delivery/uploader.js';

const [dataDir, spec, batch] = process.argv.slice(2);
if (dataDir === undefined || spec === undefined || batch === undefined) throw new Error('usage: uploader-child DATA_DIR SINK_SPEC BATCH');
const queue = await Queue.open(dataDir, { retentionIntervalMs: 0 });
const last = (await queue.status()).lastSeq ?? 0;
const uploader = new Uploader({
  name: 'db',
  sink: createSink(parseSinkSpec(spec), { timeoutMs: 10_000 }),
  log: queue,
  batchSize: Number(batch),
  retry: { baseMs: 20, capMs: 200 },
  pollIntervalMs: 20,
});
uploader.start();
process.stdout.write('started\n');
while ((await queue.cursor('db')) < last) await new Promise((r) => setTimeout(r, 20));
await uploader.stop();
await queue.close();
process.stdout.write(`drained ${JSON.stringify(uploader.stats())}\n`);
