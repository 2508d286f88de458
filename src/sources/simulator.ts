import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { P1Error } from '../errors.js';
import { encryptGlo, type DlmsKeys } from '../frames/gcm.js';
import type { Logger } from '../log.js';
import { zoneOffsetAt } from '../telegram/time.js';
import { hanFrame, hanNotification, type HanMaker } from './han-meter.js';
import type { ByteSource, SourceStats } from './source.js';
import { describeSpec, type SimulatedDsmr, type SimulatedProtocol, type SimulateSpec } from './spec.js';
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
  for await (const frame of simulatedFrames(options, signal)) yield frame.toString('latin1');
}

export interface FrameSimulationOptions extends SimulationOptions {
  /** dsmr (default): DSMR text; dlms: a HAN meter's HDLC frames; smarty: DSMR 5 encrypted as Luxembourg's Smarty. */
  protocol?: SimulatedProtocol;
  meter?: HanMaker;
  /** The key the frames are encrypted with: needed for smarty, encrypts dlms frames when given. */
  keys?: DlmsKeys;
}

/** The meters' clocks: local time as the DSMR simulator's (Amsterdam's rules, which Oslo, Stockholm and Vienna share). */
const SIMULATED_ZONE = 'Europe/Amsterdam';
const SMARTY_TITLE = Buffer.from('SAG10307', 'latin1');

/** The virtual meter's frames at its pace, in the protocol asked for: DSMR text, HAN frames, or Smarty's. */
export async function* simulatedFrames(options: FrameSimulationOptions, signal: AbortSignal): AsyncGenerator<Buffer> {
  const clock = options.clock ?? Date.now;
  const intervalMs = Math.max(10, Math.round(options.intervalS * 1000));
  const startMs = options.fast ? (options.startMs ?? clock()) : Math.ceil(clock() / intervalMs) * intervalMs;
  const protocol = options.protocol ?? 'dsmr';
  const dsmr = protocol === 'dsmr' ? options.dsmr : '5';
  const meter = new VirtualMeter({ dsmr, startMs, ...(options.seed === undefined ? {} : { seed: options.seed }) });
  if (protocol === 'smarty' && options.keys === undefined) throw smartyNeedsKey();
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
    if (protocol === 'dsmr') {
      yield Buffer.from(meter.telegramAt(next), 'latin1');
    } else if (protocol === 'smarty') {
      yield encryptGlo(Buffer.from(meter.telegramAt(next), 'latin1'), options.keys!, SMARTY_TITLE, n + 1);
    } else {
      meter.advance(next);
      const localMs = next + zoneOffsetAt(next, SIMULATED_ZONE) * 60_000;
      const apdu = hanNotification(meter.reading, { maker: options.meter ?? 'kamstrup', localMs, serial: options.seed ?? 1, hourly: localMs % 3_600_000 < intervalMs });
      yield hanFrame(apdu, options.keys, n + 1);
    }
    next += intervalMs;
    // After a stall (a suspended laptop), skip the missed slots rather than sending a burst.
    if (!options.fast && next < clock()) next = Math.ceil(clock() / intervalMs) * intervalMs;
  }
}

/** `simulate?...` as a source: the embedded default for demos and `p1logger run` without configuration. */
export function createSimulatorSource(spec: SimulateSpec, options: { logger: Logger; clock?: () => number; keys?: DlmsKeys }): ByteSource {
  const description = describeSpec(spec);
  if (spec.protocol === 'smarty' && options.keys === undefined) throw smartyNeedsKey();
  const settings = spec.protocol === 'dsmr' ? `simulated DSMR ${spec.dsmr}` : spec.protocol === 'smarty' ? 'simulated Smarty (encrypted DSMR 5)' : `simulated ${spec.meter} HAN port`;
  const stats: SourceStats = { state: 'closed', reconnects: 0, bytes: 0, settings };
  return {
    description,
    stats,
    read(signal: AbortSignal): AsyncIterable<Buffer> {
      return (async function* () {
        stats.state = 'open';
        options.logger.info({ source: description }, `${description}: simulated meter running`);
        try {
          const frames = simulatedFrames(
            {
              dsmr: spec.dsmr,
              intervalS: spec.intervalS,
              protocol: spec.protocol,
              ...(spec.meter === undefined ? {} : { meter: spec.meter }),
              ...(spec.seed === undefined ? {} : { seed: spec.seed }),
              ...(options.clock ? { clock: options.clock } : {}),
              ...(options.keys ? { keys: options.keys } : {}),
            },
            signal,
          );
          for await (const bytes of frames) {
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

function smartyNeedsKey(): P1Error {
  return new P1Error('P1_SOURCE_SPEC', 'simulate?protocol=smarty encrypts with the decryption key: set decryptionKey (P1LOGGER_DECRYPTION_KEY, 32 hex digits)');
}
