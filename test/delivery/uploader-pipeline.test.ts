import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Uploader } from '../../src/delivery/uploader.js';
import { Queue } from '../../src/queue/queue.js';
import type { QueueRecord } from '../../src/queue/types.js';
import { SinkError, type SendResult, type Sink } from '../../src/sinks/sink.js';
import { VirtualMeter } from '../../src/sources/virtual-meter.js';
import { until } from '../support/until.js';

const START = Date.UTC(2024, 2, 1);
const FAST = { baseMs: 5, capMs: 40, maxRetryAfterMs: 5000 };

/** One send() as the sink saw it: the seqs of its batch, when it came, and how it ended. */
interface Call {
  seqs: number[];
  at: number;
  outcome: 'ok' | 'failed';
}

/** A sink that takes two batches at once, as a pipelined one does, and fails the sends it is told to. */
class TwoAtOnceSink implements Sink {
  readonly kind = 'mqtt';
  readonly description = 'two-at-once test sink';
  readonly maxInFlight = 2;
  readonly maxBatchRecords = 5000;
  readonly calls: Call[] = [];
  /** Seqs each delivered batch held, in the order the sink took them. */
  readonly delivered: number[] = [];
  /** The first seq of batches whose next send fails (once each), with this Retry-After. */
  readonly failFirstSeq = new Map<number, number>();
  /** Fails the send waiting to fail: called by the next send, after the sink took that one. */
  private failWaiting: (() => void) | undefined;

  async send(records: readonly QueueRecord[]): Promise<SendResult> {
    const call: Call = { seqs: records.map((r) => r.seq), at: Date.now(), outcome: 'ok' };
    this.calls.push(call);
    const fail = this.failWaiting;
    this.failWaiting = undefined;
    const retryAfterMs = this.failFirstSeq.get(call.seqs[0]!);
    if (retryAfterMs !== undefined) {
      this.failFirstSeq.delete(call.seqs[0]!);
      // Fails only once the batch behind it was taken: the order that would let a naive pipeline deliver out of order.
      await new Promise<void>((resolve) => (this.failWaiting = resolve));
      call.outcome = 'failed';
      throw new SinkError('P1_SINK_UNAVAILABLE', 'test: unavailable', { reason: 'test', retryAfterMs });
    }
    this.delivered.push(...call.seqs);
    fail?.();
    return { points: records.length, requests: 1 };
  }

  async close(): Promise<void> {}
}

let dir: string;
let queue: Queue;
const uploaders: Uploader[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'p1logger-pipeline-'));
  queue = await Queue.open(dir, { retentionIntervalMs: 0 });
  const meter = new VirtualMeter({ dsmr: '5', startMs: START });
  for (let i = 0; i < 60; i++) await queue.append(meter.telegramAt(START + i * 1000), new Date(START + i * 1000));
});
afterEach(async () => {
  for (const u of uploaders.splice(0)) await u.stop();
  await queue.close();
  await rm(dir, { recursive: true, force: true });
});

/** Drains the 60 records into `sink` in batches of 10, and waits (15 s at most) until all are acknowledged. */
async function drained(sink: Sink): Promise<Uploader> {
  const u = new Uploader({ name: 'pipe', sink, log: queue, retry: FAST, pollIntervalMs: 20, batchSize: 10 });
  uploaders.push(u);
  u.start();
  await until(async () => u.stats().cursor === 60 && (await queue.cursor('pipe')) === 60, 'all 60 records acknowledged', 15_000);
  return u;
}

describe('Uploader with two batches in flight (a pipelined sink)', () => {
  it('a failed batch is retried before the batch behind it is sent again: in order, its Retry-After kept, counted once', async () => {
    const sink = new TwoAtOnceSink();
    sink.failFirstSeq.set(21, 300);
    const u = await drained(sink);

    const failed = sink.calls.findIndex((c) => c.outcome === 'failed');
    expect(sink.calls[failed]!.seqs[0]).toBe(21);
    // The batch behind it (31-40) was sent beside it and taken, then given up: after the failure, the next send
    // is the failed batch again, then 31-40 again, then on.
    const after = sink.calls.slice(failed + 1).map((c) => c.seqs[0]);
    expect(after[0]).toBe(31);
    expect(after.slice(1, 4)).toEqual([21, 31, 41]);
    // The retry waited for the Retry-After the failure asked for.
    const retry = sink.calls.slice(failed + 1).find((c) => c.seqs[0] === 21)!;
    expect(retry.at - sink.calls[failed]!.at).toBeGreaterThanOrEqual(300);
    // Whatever came twice came twice only across the failure; read once each, the records are in order.
    const firstRetry = sink.delivered.indexOf(21);
    expect(sink.delivered.slice(firstRetry)).toEqual(Array.from({ length: 40 }, (_, i) => 21 + i));
    expect(sink.delivered.slice(0, firstRetry)).toEqual([...Array.from({ length: 20 }, (_, i) => 1 + i), ...Array.from({ length: 10 }, (_, i) => 31 + i)]);
    expect(u.stats()).toMatchObject({ state: 'ok', sent: 60, retries: 1, cursor: 60 });
  });

  it('a batch that fails behind a delivered one: the delivered one is acknowledged, the failed one retried next', async () => {
    const sink = new TwoAtOnceSink();
    sink.failFirstSeq.set(11, 0);
    const u = await drained(sink);
    // 1-10 is acknowledged; 21-30, taken beside the failed 11-20, is sent again after it.
    expect(sink.calls.map((c) => c.seqs[0]).slice(0, 6)).toEqual([1, 11, 21, 11, 21, 31]);
    expect(sink.delivered).toEqual([...Array.from({ length: 10 }, (_, i) => 1 + i), ...Array.from({ length: 10 }, (_, i) => 21 + i), ...Array.from({ length: 50 }, (_, i) => 11 + i)]);
    expect(u.stats()).toMatchObject({ sent: 60, retries: 1 });
  });
});
