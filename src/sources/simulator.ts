import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Logger } from '../log.js';
import type { ByteSource, SourceStats } from './source.js';
import { describeSpec, type SimulatedDsmr, type SimulateSpec } from './spec.js';
import { VirtualMeter } from './virtual-meter.js';
import { wait } from './wait.js';

export interface SimulationOptions {
  dsmr: SimulatedDsmr;
  intervalS: number;
  seed?: number;
  /** Stop after this many telegrams. */
  count?: number;
  /** Don't wait: the meter's clock advances by the interval per telegram, starting at `startMs`. */
  fast?: boolean;
  /** First telegram's time in fast mode (default: now). */
  startMs?: number;
  /** Injectable clock (tests); default Date.now. */
  clock?: () => number;
}

/**
 * The virtual meter's telegrams at its pace: like a real meter it sends on whole multiples of its interval
 * (DSMR 5: every second on the second). In fast mode the meter's clock runs ahead, without waiting.
 */
export async function* simulatedTelegrams(options: SimulationOptions, signal: AbortSignal): AsyncGenerator<string> {
  const clock = options.clock ?? Date.now;
  const intervalMs = Math.max(10, Math.round(options.intervalS * 1000));
  const startMs = options.fast ? (options.startMs ?? clock()) : Math.ceil(clock() / intervalMs) * intervalMs;
  const meter = new VirtualMeter({ dsmr: options.dsmr, startMs, ...(options.seed === undefined ? {} : { seed: options.seed }) });
  let next = startMs;
  for (let n = 0; options.count === undefined || n < options.count; n++) {
    if (options.fast) {
      // Let I/O and signals through now and then.
      if (n % 256 === 255) await yieldToEventLoop();
    } else {
      // Timers may fire a millisecond before the wall clock reaches the slot: wait again for the rest.
      for (let delay = next - clock(); delay > 0 && !signal.aborted; delay = next - clock()) await wait(delay, signal);
    }
    if (signal.aborted) return;
    yield meter.telegramAt(next);
    next += intervalMs;
    // After a stall (a suspended laptop), skip the missed slots rather than sending a burst.
    if (!options.fast && next < clock()) next = Math.ceil(clock() / intervalMs) * intervalMs;
  }
}

/** `simulate?...` as a source: the embedded default for demos and `p1logger run` without configuration. */
export function createSimulatorSource(spec: SimulateSpec, options: { logger: Logger; clock?: () => number }): ByteSource {
  const description = describeSpec(spec);
  const stats: SourceStats = { state: 'closed', reconnects: 0, bytes: 0, settings: `simulated DSMR ${spec.dsmr}` };
  return {
    description,
    stats,
    read(signal: AbortSignal): AsyncIterable<Buffer> {
      return (async function* () {
        stats.state = 'open';
        options.logger.info({ source: description }, `${description}: simulated meter running`);
        try {
          const telegrams = simulatedTelegrams(
            {
              dsmr: spec.dsmr,
              intervalS: spec.intervalS,
              ...(spec.seed === undefined ? {} : { seed: spec.seed }),
              ...(options.clock ? { clock: options.clock } : {}),
            },
            signal,
          );
          for await (const text of telegrams) {
            const bytes = Buffer.from(text, 'latin1');
            stats.bytes += bytes.length;
            yield bytes;
          }
        } finally {
          stats.state = 'closed';
        }
      })();
    },
  };
}
