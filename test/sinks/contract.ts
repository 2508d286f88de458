import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isP1Error } from '../../src/errors.js';
import type { QueueRecord } from '../../src/queue/types.js';
import { isSinkError, type Sink } from '../../src/sinks/sink.js';
import { fixtureDir } from '../support/fixtures.js';

/** A sink kind against its real test server, as the contract suite drives it. */
export interface ContractTarget {
  /** A sink with working credentials. */
  sink(): Sink;
  /** A sink whose credentials the server refuses. */
  refused(): Sink;
  /** A sink pointed at a server that is down (a port nothing listens on). */
  unreachable(): Promise<Sink>;
  /** What the server holds (or, for a broker, what a subscriber received): one string per stored item. */
  stored(): Promise<string[]>;
  /** Every secret the sinks were given, the refused ones included: none may appear in any message. */
  secrets: string[];
  close(): Promise<void>;
}

const FIXTURES = ['V4_2.txt', 'V5_TWO_MBUS.txt', 'FLUVIUS_V171.txt', 'ESY5Q3DA1004_V304.txt'];
const RECEIVED = '2025-01-14T08:00:00.000Z';

export function contractRecords(): QueueRecord[] {
  return FIXTURES.map((name, i) => ({ seq: i + 1, receivedAt: RECEIVED, protocol: 'dsmr' as const, raw: readFileSync(`${fixtureDir}${name}`, 'latin1') }));
}

/** Every way a failure reaches a user: the message, the reason, logs (pino serialises errors), inspect. */
function renderings(error: unknown): string[] {
  const e = error as { message?: unknown; reason?: unknown; stack?: unknown };
  return [String(e.message), String(e.reason), String(e.stack), JSON.stringify(error), inspect(error, { depth: 5 }), String(error)];
}

/**
 * The one suite every sink passes (design.md "Sinks keep one interface"), as abstract-level's implementations
 * pass theirs: a re-send changes nothing but exact copies, failures are classified the way the uploader acts on
 * them, and no secret is in any message or description.
 */
export function sinkContract(kind: string, start: () => Promise<ContractTarget>): void {
  describe(`sink contract: ${kind}`, () => {
    let target: ContractTarget;
    beforeAll(async () => {
      target = await start();
    });
    afterAll(async () => {
      await target?.close();
    });

    it('a re-send is idempotent: the same records twice leave what once left (at most exact copies)', async () => {
      const sink = target.sink();
      try {
        const first = await sink.send(contractRecords());
        expect(first.points).toBeGreaterThan(0);
        const once = await target.stored();
        expect(once.length).toBeGreaterThan(0);
        const second = await sink.send(contractRecords());
        expect(second.points).toBe(first.points);
        const twice = await target.stored();
        expect(new Set(twice)).toEqual(new Set(once));
      } finally {
        await sink.close();
      }
    });

    it('refused credentials are P1_SINK_AUTH (the sink fails loudly, nothing is parked)', async () => {
      const sink = target.refused();
      try {
        const error = await sink.send(contractRecords()).then(() => expect.fail('expected P1_SINK_AUTH'), (e: unknown) => e);
        expect(isSinkError(error)).toBe(true);
        expect(isP1Error(error, 'P1_SINK_AUTH')).toBe(true);
        for (const text of renderings(error)) for (const secret of target.secrets) expect(text).not.toContain(secret);
      } finally {
        await sink.close();
      }
    });

    it('a server that is down is P1_SINK_UNAVAILABLE (retried with backoff)', async () => {
      const sink = await target.unreachable();
      try {
        const error = await sink.send(contractRecords()).then(() => expect.fail('expected P1_SINK_UNAVAILABLE'), (e: unknown) => e);
        expect(isP1Error(error, 'P1_SINK_UNAVAILABLE')).toBe(true);
        for (const text of renderings(error)) for (const secret of target.secrets) expect(text).not.toContain(secret);
      } finally {
        await sink.close();
      }
    });

    it('no secret in how the sink is described', () => {
      for (const sink of [target.sink(), target.refused()]) {
        for (const text of [sink.description, inspect(sink.description)]) for (const secret of target.secrets) expect(text).not.toContain(secret);
      }
    });
  });
}
