/**
 * DLMS decoding next to DSMR parsing, in-process: an hour of the simulator's frames at one a second, framed by the
 * detector and decoded to readings (HDLC + A-XDR + the list layouts), the same frames encrypted (AES-128-GCM
 * through node:crypto), and the same hour as DSMR 5 telegrams framed and parsed. Best of five turns each.
 *
 *   node --import tsx scripts/bench-dlms.ts [--frames N]
 */
import { FrameDetector } from '../src/frames/detector.js';
import { decodeDataNotification } from '../src/frames/dlms/apdu.js';
import { readNotification } from '../src/frames/dlms/reading.js';
import { simulatedFrames, type FrameSimulationOptions } from '../src/sources/simulator.js';
import { parseTelegram } from '../src/telegram/parse.js';

const args = process.argv.slice(2);
const countArg = args.indexOf('--frames');
const count = countArg === -1 ? 3600 : Number(args[countArg + 1]);
const keys = { decryptionKey: Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex') };

async function stream(options: Partial<FrameSimulationOptions>): Promise<Buffer> {
  const frames: Buffer[] = [];
  const base = { dsmr: '5' as const, intervalS: 1, fast: true, startMs: Date.UTC(2024, 0, 15), count };
  for await (const frame of simulatedFrames({ ...base, ...options }, new AbortController().signal)) frames.push(frame);
  return Buffer.concat(frames);
}

/** Frames and decodes the whole stream in 64 KB chunks; returns the readings (or telegrams) it gave. */
function decode(bytes: Buffer, withKeys: boolean): number {
  const detector = new FrameDetector(withKeys ? { keys } : {});
  let readings = 0;
  const take = (events: ReturnType<FrameDetector['push']>): void => {
    for (const event of events) {
      if (event.type === 'dlms') {
        readNotification(decodeDataNotification(event.apdu)!);
        readings++;
      } else if (event.type === 'telegram') {
        parseTelegram(event.raw, { crc: event.crc });
        readings++;
      }
    }
  };
  for (let at = 0; at < bytes.length; at += 65536) take(detector.push(bytes.subarray(at, at + 65536)));
  take(detector.end());
  return readings;
}

const contestants = [
  { label: 'DSMR 5 text: frame + CRC + parse', bytes: await stream({ protocol: 'dsmr' }), keys: false },
  { label: 'DLMS Aidon list 2 in HDLC: frame + HCS/FCS + A-XDR + layout', bytes: await stream({ protocol: 'dlms', meter: 'aidon' }), keys: false },
  { label: 'DLMS Kaifa positional list in HDLC', bytes: await stream({ protocol: 'dlms', meter: 'kaifa' }), keys: false },
  { label: 'DLMS Aidon, AES-128-GCM encrypted: + decrypt', bytes: await stream({ protocol: 'dlms', meter: 'aidon', keys }), keys: true },
  { label: 'Smarty (encrypted DSMR 5): decrypt + frame + parse', bytes: await stream({ protocol: 'smarty', keys }), keys: true },
];

const best = new Map<string, number>();
for (let turn = 0; turn < 5; turn++) {
  for (const c of contestants) {
    const started = performance.now();
    const readings = decode(c.bytes, c.keys);
    const seconds = (performance.now() - started) / 1000;
    if (readings !== count) throw new Error(`${c.label}: ${readings} readings of ${count}`);
    best.set(c.label, Math.min(best.get(c.label) ?? Infinity, seconds));
  }
}
console.log(`${count.toLocaleString('en-US')} frames each (an hour at one a second), best of five turns`);
console.log('| stream | bytes/frame | frames/s | MB/s |');
console.log('|---|---:|---:|---:|');
for (const c of contestants) {
  const seconds = best.get(c.label)!;
  console.log(`| ${c.label} | ${Math.round(c.bytes.length / count)} | ${Math.round(count / seconds).toLocaleString('en-US')} | ${(c.bytes.length / seconds / 1e6).toFixed(1)} |`);
}
