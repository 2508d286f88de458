import { TelegramFramer, type FrameEvent } from '../telegram/frame.js';
import { readDsmrText, SLASH, SLASH_WITH_PARITY } from './dsmr-text.js';
import { readGloCiphering, type DlmsKeys } from './gcm.js';
import { HDLC_FLAG, HDLC_MAX_LENGTH, HdlcReassembler, hasCrLf, readHdlcFrame, readRelayedHdlcFrame, stripLlc } from './hdlc.js';
import { MBUS_START, MbusReassembler, readMbusFrame } from './mbus.js';
import { PayloadUnwrapper, type PayloadResult } from './payload.js';
import { APDU, decodeDataNotification } from './dlms/apdu.js';

/** What a stream carries, as the detector recognises it from its bytes. */
export type StreamProtocol = 'dsmr' | 'dsmr-encrypted' | 'hdlc' | 'mbus';
export type Transport = 'hdlc' | 'mbus' | 'ciphered';

export type DetectorEvent =
  | FrameEvent
  /** A DLMS data-notification APDU (decrypted when it came ciphered): what the queue stores. */
  | { type: 'dlms'; apdu: Uint8Array; transport: Transport; encrypted: boolean; systemTitle: Uint8Array | null }
  /** A binary frame that failed its check, could not be decrypted, or held no APDU p1logger reads. */
  | {
      type: 'frame-rejected';
      code: 'P1_CRC_MISMATCH' | 'P1_DECRYPT_FAILED' | 'P1_KEY_REQUIRED' | 'P1_TELEGRAM_INVALID';
      transport: Transport;
      reason: string;
      systemTitle?: Uint8Array;
    }
  /** The first frame of a protocol, and each change: for the log and `p1logger detect`. */
  | { type: 'detected'; protocol: StreamProtocol; encrypted: boolean };

export interface DetectorStats {
  /** DSMR telegrams (plain or decrypted) that passed their CRC. */
  telegrams: number;
  /** DLMS data-notifications read. */
  frames: number;
  crcErrors: number;
  decryptErrors: number;
  /** Ciphered frames that arrived while no key was configured. */
  keyMissing: number;
  invalid: number;
  truncated: number;
  junkBytes: number;
}

export interface DetectorOptions {
  keys?: DlmsKeys;
  maxTelegramBytes?: number;
}

/** The security control bytes of the frames p1logger decrypts (0x10 authenticated, 0x20 encrypted; suite 0 or 1). */
const CIPHERED_CONTROLS = new Set([0x10, 0x11, 0x20, 0x21, 0x30, 0x31]);
/** A bare ciphered APDU longer than this is not one (a Smarty telegram ciphered is some 1.5 KB). */
const MAX_CIPHERED_BYTES = 16 * 1024;

type Candidate = { kind: 'accepted'; end: number } | { kind: 'need-more' } | { kind: 'failed' };

/**
 * The framer in front of everything: finds DSMR text telegrams, HDLC frames, wired M-Bus long frames and bare
 * general-glo-ciphering APDUs (Smarty) in one byte stream, in chunks of any size. Each start byte ('/', 0x7E,
 * 0x68, 0xDB) opens a candidate; one that fails its check is rescanned from its next start byte, so a frame behind
 * junk or a false start is still found. Pure: no I/O, no timers.
 */
export class FrameDetector {
  private readonly text: TelegramFramer;
  /** Decrypted Smarty telegrams go through their own framer: its state never mixes with the plain stream's. */
  private readonly decrypted: TelegramFramer;
  private readonly hdlc = new HdlcReassembler();
  private readonly mbus = new MbusReassembler();
  private readonly unwrapper: PayloadUnwrapper;
  private readonly maxTelegramBytes: number;
  private readonly own = { frames: 0, crcErrors: 0, decryptErrors: 0, keyMissing: 0, invalid: 0, junkBytes: 0 };
  private pending: Uint8Array = new Uint8Array(0);
  /** Bytes of `pending` before this offset belong to a frame already reported: never junk. */
  private coveredUntil = 0;
  private last: { protocol: StreamProtocol; encrypted: boolean } | null = null;

  constructor(options: DetectorOptions = {}) {
    this.maxTelegramBytes = options.maxTelegramBytes ?? 64 * 1024;
    this.text = new TelegramFramer({ maxTelegramBytes: this.maxTelegramBytes });
    this.decrypted = new TelegramFramer({ maxTelegramBytes: this.maxTelegramBytes });
    this.unwrapper = new PayloadUnwrapper(options.keys);
  }

  get stats(): DetectorStats {
    const t = this.text.stats;
    const d = this.decrypted.stats;
    return {
      telegrams: t.telegrams + d.telegrams,
      frames: this.own.frames,
      crcErrors: t.crcErrors + d.crcErrors + this.own.crcErrors,
      decryptErrors: this.own.decryptErrors,
      keyMissing: this.own.keyMissing,
      invalid: t.invalid + d.invalid + this.own.invalid,
      truncated: t.truncated + d.truncated,
      junkBytes: t.junkBytes + d.junkBytes + this.own.junkBytes,
    };
  }

  /** Bytes held while a candidate frame waits for the rest of itself. */
  get bufferedBytes(): number {
    return this.pending.length;
  }

  push(chunk: Uint8Array): DetectorEvent[] {
    const events: DetectorEvent[] = [];
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    this.scan(events, false);
    return events;
  }

  /** End of stream: whatever is still open is judged as it stands. */
  end(): DetectorEvent[] {
    const events: DetectorEvent[] = [];
    this.scan(events, true);
    this.pending = new Uint8Array(0);
    this.coveredUntil = 0;
    this.hdlc.reset();
    this.mbus.reset();
    return events;
  }

  private scan(events: DetectorEvent[], atEnd: boolean): void {
    const buf = this.pending;
    let pos = 0;
    while (pos < buf.length) {
      const next = nextStart(buf, pos);
      if (next === -1) {
        this.junk(events, pos, buf.length);
        pos = buf.length;
        break;
      }
      this.junk(events, pos, next);
      pos = next;
      const result = this.candidate(buf, pos, atEnd, events);
      // A candidate waits for its bytes only so long: whatever it is, it cannot be longer than the longest frame.
      if (result.kind === 'need-more' && buf.length - pos <= this.maxTelegramBytes * 2) break;
      if (result.kind === 'accepted') {
        // HDLC segments follow each other back to back: another frame between two means one was lost.
        if (buf[pos] !== HDLC_FLAG) this.hdlc.reset();
        pos = result.end;
        continue;
      }
      // Failed (or waited past any frame's length): its next start byte is scanned.
      this.junk(events, pos, pos + 1);
      pos++;
    }
    this.coveredUntil = Math.max(0, this.coveredUntil - pos);
    this.pending = pos >= buf.length ? new Uint8Array(0) : buf.subarray(pos);
    // Keep the rest in a buffer of its own, so a big chunk is not held for a few bytes of it.
    if (this.pending.length > 0 && this.pending.byteLength < buf.byteLength / 2) this.pending = Buffer.from(this.pending);
  }

  private candidate(buf: Uint8Array, pos: number, atEnd: boolean, events: DetectorEvent[]): Candidate {
    switch (buf[pos]) {
      case HDLC_FLAG:
        return this.hdlcCandidate(buf, pos, atEnd, events);
      case MBUS_START:
        return this.mbusCandidate(buf, pos, atEnd, events);
      case APDU.generalGloCiphering:
        return this.cipheredCandidate(buf, pos, atEnd, events);
      default:
        return this.textCandidate(buf, pos, atEnd, events);
    }
  }

  private textCandidate(buf: Uint8Array, pos: number, atEnd: boolean, events: DetectorEvent[]): Candidate {
    const read = readDsmrText(buf, pos, atEnd, this.maxTelegramBytes);
    if (read.kind === 'need-more') return read;
    if (read.kind === 'invalid') {
      if (!read.truncated) return { kind: 'failed' };
      // Cut short by the next start: reported as the telegram framer reports it, then that start is read.
      events.push(...this.text.push(buf.subarray(pos, read.end)), ...this.text.end());
      this.cover(read.end);
      return { kind: 'accepted', end: read.end };
    }
    const before = this.text.stats.telegrams;
    const out = [...this.text.push(buf.subarray(pos, read.end)), ...this.text.end()];
    if (this.text.stats.telegrams > before) this.announce(events, 'dsmr', false);
    events.push(...out);
    this.cover(read.end);
    return { kind: 'accepted', end: read.end };
  }

  private hdlcCandidate(buf: Uint8Array, pos: number, atEnd: boolean, events: DetectorEvent[]): Candidate {
    const read = readHdlcFrame(buf, pos, atEnd);
    if (read.kind === 'need-more') return read;
    if (read.kind === 'invalid' && hasCrLf(buf, pos, pos + 2 * HDLC_MAX_LENGTH)) {
      const relayed = this.relayedCandidate(buf, pos, atEnd, events);
      if (relayed.kind !== 'failed') return relayed;
    }
    if (read.kind === 'invalid') {
      if (!read.counted) return { kind: 'failed' };
      this.own.crcErrors++;
      this.hdlc.reset();
      // The damaged frame is reported, not junk; its bytes are still rescanned for a frame hidden in them.
      this.cover(pos + 2 + (((buf[pos + 1]! & 0x07) << 8) | buf[pos + 2]!));
      events.push({ type: 'frame-rejected', code: 'P1_CRC_MISMATCH', transport: 'hdlc', reason: read.reason });
      return { kind: 'failed' };
    }
    // The closing flag may open the next frame; it is not junk either way.
    this.cover(read.end + 1);
    const information = this.hdlc.push(read.frame);
    if (information !== null && information.length > 0) this.payload(stripLlc(information), 'hdlc', events);
    return { kind: 'accepted', end: read.end };
  }

  /** A frame that came through a link that wrote LF as CR LF (see readRelayedHdlcFrame). */
  private relayedCandidate(buf: Uint8Array, pos: number, atEnd: boolean, events: DetectorEvent[]): Candidate {
    const read = readRelayedHdlcFrame(buf, pos, atEnd);
    if (read.kind !== 'frame') return read.kind === 'need-more' ? read : { kind: 'failed' };
    if (!read.checked) {
      // Only the HCS checked it: accepted as one whole data-notification that decodes to its last byte, or not at all.
      const apdu = stripLlc(read.frame.information);
      if (read.frame.segmented || this.hdlc.pending > 0 || decodeDataNotification(apdu)?.exact !== true) return { kind: 'failed' };
    }
    this.cover(read.end + 1);
    const information = this.hdlc.push(read.frame);
    if (information !== null && information.length > 0) this.payload(stripLlc(information), 'hdlc', events);
    return { kind: 'accepted', end: read.end };
  }

  private mbusCandidate(buf: Uint8Array, pos: number, atEnd: boolean, events: DetectorEvent[]): Candidate {
    const read = readMbusFrame(buf, pos, atEnd);
    if (read.kind === 'need-more') return read;
    if (read.kind === 'invalid') {
      if (!read.counted) return { kind: 'failed' };
      this.own.crcErrors++;
      this.mbus.reset();
      this.cover(pos + 6 + buf[pos + 1]!);
      events.push({ type: 'frame-rejected', code: 'P1_CRC_MISMATCH', transport: 'mbus', reason: read.reason });
      return { kind: 'failed' };
    }
    this.cover(read.end);
    const apdu = this.mbus.push(read.frame);
    if (apdu !== null && apdu.length > 0) this.payload(apdu, 'mbus', events);
    return { kind: 'accepted', end: read.end };
  }

  /** A ciphered APDU with no transport around it, as Luxembourg's Smarty sends it on its P1 port. */
  private cipheredCandidate(buf: Uint8Array, pos: number, atEnd: boolean, events: DetectorEvent[]): Candidate {
    const header = cipheredLength(buf, pos);
    if (header === undefined) return atEnd ? { kind: 'failed' } : { kind: 'need-more' };
    if (header === null) return { kind: 'failed' };
    const end = pos + header;
    if (end > buf.length) return atEnd ? { kind: 'failed' } : { kind: 'need-more' };
    const ciphered = readGloCiphering(buf.subarray(pos, end));
    if (ciphered === null) return { kind: 'failed' };
    const result = this.unwrapper.unwrap(buf.subarray(pos, end));
    // Without a tag nothing vouches for the bytes: one that does not decrypt to something readable was junk.
    if (result.kind === 'rejected' && ciphered.tag === null && result.code !== 'P1_KEY_REQUIRED') return { kind: 'failed' };
    // Without a key nothing can be checked: believed to be a meter's frame only where the next frame (or nothing
    // yet) follows, so that noise does not ask for a key.
    if (result.kind === 'rejected' && result.code === 'P1_KEY_REQUIRED' && end < buf.length && STARTS[buf[end]!] !== 1) return { kind: 'failed' };
    this.cover(end);
    this.deliver(result, 'ciphered', events);
    return { kind: 'accepted', end };
  }

  private payload(payload: Uint8Array, transport: Transport, events: DetectorEvent[]): void {
    this.deliver(this.unwrapper.unwrap(payload), transport, events);
  }

  private deliver(result: PayloadResult, transport: Transport, events: DetectorEvent[]): void {
    switch (result.kind) {
      case 'partial':
        return;
      case 'dlms':
        this.own.frames++;
        this.announce(events, transport === 'mbus' ? 'mbus' : 'hdlc', result.encrypted);
        events.push({ type: 'dlms', apdu: result.apdu, transport, encrypted: result.encrypted, systemTitle: result.systemTitle });
        return;
      case 'dsmr': {
        const before = this.decrypted.stats.telegrams;
        const out = [...this.decrypted.push(result.text), ...this.decrypted.end()];
        if (this.decrypted.stats.telegrams > before) this.announce(events, transport === 'ciphered' ? 'dsmr-encrypted' : transport, true);
        events.push(...out);
        return;
      }
      case 'rejected':
        if (result.code === 'P1_DECRYPT_FAILED') this.own.decryptErrors++;
        else if (result.code === 'P1_KEY_REQUIRED') this.own.keyMissing++;
        else this.own.invalid++;
        events.push({
          type: 'frame-rejected',
          code: result.code,
          transport,
          reason: result.reason,
          ...(result.systemTitle === undefined ? {} : { systemTitle: result.systemTitle }),
        });
        return;
    }
  }

  private announce(events: DetectorEvent[], protocol: StreamProtocol, encrypted: boolean): void {
    if (this.last?.protocol === protocol && this.last.encrypted === encrypted) return;
    this.last = { protocol, encrypted };
    events.push({ type: 'detected', protocol, encrypted });
  }

  private cover(end: number): void {
    this.coveredUntil = Math.max(this.coveredUntil, end);
  }

  /** Counts bytes[from, to) as junk, except those that belong to a frame already reported. */
  private junk(events: DetectorEvent[], from: number, to: number): void {
    const start = Math.max(from, this.coveredUntil);
    const bytes = to - start;
    if (bytes <= 0) return;
    // HDLC segments carry no sequence number: they follow each other back to back (idle flags at most), so junk
    // between two means one was lost, and joining the rest would make a reading of the wrong bytes.
    if (this.hdlc.pending > 0 && !onlyFlags(this.pending, start, to)) this.hdlc.reset();
    this.own.junkBytes += bytes;
    const last = events[events.length - 1];
    if (last?.type === 'junk') last.bytes += bytes;
    else events.push({ type: 'junk', bytes });
  }
}

/**
 * Whether the event is a whole frame the meter sent: a reading, or a ciphered frame that passed its CRC but could
 * not be read (no key, wrong key). Either proves the line settings right.
 */
export function provesLine(event: DetectorEvent): boolean {
  if (event.type === 'telegram' || event.type === 'dlms') return true;
  return event.type === 'frame-rejected' && (event.code === 'P1_KEY_REQUIRED' || event.code === 'P1_DECRYPT_FAILED');
}

const STARTS = new Uint8Array(256);
for (const byte of [SLASH, SLASH_WITH_PARITY, HDLC_FLAG, MBUS_START, APDU.generalGloCiphering]) STARTS[byte] = 1;

function onlyFlags(buf: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (buf[i] !== HDLC_FLAG) return false;
  return true;
}

function nextStart(buf: Uint8Array, from: number): number {
  for (let i = from; i < buf.length; i++) if (STARTS[buf[i]!] === 1) return i;
  return -1;
}

/** The whole length of the ciphered APDU at `at`: undefined while its header is incomplete, null when it is no such APDU. */
function cipheredLength(buf: Uint8Array, at: number): number | undefined | null {
  if (buf.length - at < 12) return undefined;
  if (buf[at + 1] !== 8) return null;
  const first = buf[at + 10]!;
  let length: number;
  let header: number;
  if (first < 0x80) {
    length = first;
    header = 11;
  } else if (first === 0x81) {
    length = buf[at + 11]!;
    header = 12;
  } else if (first === 0x82) {
    if (buf.length - at < 13) return undefined;
    length = (buf[at + 11]! << 8) | buf[at + 12]!;
    header = 13;
  } else {
    return null;
  }
  // The security control byte follows the length: wait for it too.
  if (buf.length - at <= header) return undefined;
  const total = header + length;
  // Security control: encrypted and/or authenticated, suite 0 or 1; a tagged frame holds at least its 12-byte tag.
  if (!CIPHERED_CONTROLS.has(buf[at + header] ?? -1) || length < 5 || total > MAX_CIPHERED_BYTES) return null;
  return total;
}
