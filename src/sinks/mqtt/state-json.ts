import { ELECTRICITY_FIELD_NAMES, type MappedTelegram, type Point } from '../points.js';

/** `"key":` of the keys seen, JSON-escaped once (a meter has a few dozen; a cap for the odd one that would not stop). */
const encodedKeys = new Map<string, string>();

function encodedKey(key: string): string {
  let encoded = encodedKeys.get(key);
  if (encoded === undefined) {
    if (encodedKeys.size >= 1000) encodedKeys.clear();
    encoded = `${JSON.stringify(key)}:`;
    encodedKeys.set(key, encoded);
  }
  return encoded;
}

/** A key JSON.stringify would not write where it stands: `time` again, a tag again, or an array index (written first). */
function displaced(key: string, tags: Readonly<Record<string, string>> | undefined): boolean {
  return key === 'time' || (tags !== undefined && Object.hasOwn(tags, key)) || /^(?:0|[1-9]\d*)$/.test(key);
}

/**
 * JSON.stringify({ time, ...tags, ...fields }) byte for byte, without the object: built from escaped keys kept
 * once, a third of the time per telegram. A point whose keys would move or repeat takes JSON.stringify's path.
 */
export function stateJson(point: Point): string {
  const time = new Date(point.time).toISOString();
  let out = `{"time":"${time}"`;
  for (const key in point.tags) {
    if (displaced(key, undefined)) return JSON.stringify({ time, ...point.tags, ...point.fields });
    out += `,${encodedKey(key)}${JSON.stringify(point.tags[key])}`;
  }
  for (const key in point.fields) {
    if (displaced(key, point.tags)) return JSON.stringify({ time, ...point.tags, ...point.fields });
    const value = point.fields[key]!;
    out += `,${encodedKey(key)}${Number.isFinite(value) ? String(value) : 'null'}`;
  }
  return `${out}}`;
}

/** `,"name":` of each electricity field, by field id. */
const FIELD_PREFIXES = ELECTRICITY_FIELD_NAMES.map((name) => `,${JSON.stringify(name)}:`);

/**
 * The electricity point's payload straight from a mapped telegram: stateJson of its point, byte for byte, without
 * the point's dictionary of some 35 fields. A field whose value is the one it had in the telegram before (energy
 * counters, most voltages and currents of a one-second telegram) reuses the text written then. One per sink.
 */
export class ElectricityStateJson {
  private readonly values = new Float64Array(ELECTRICITY_FIELD_NAMES.length).fill(Number.NaN);
  private readonly texts: string[] = FIELD_PREFIXES.map(() => '');
  private meter: string | undefined;
  private meterText = '';

  /** The payload of `mapped`'s electricity point; only for a telegram that has one (`time` defined). */
  write(mapped: MappedTelegram): string {
    let out = `{"time":"${new Date(mapped.time!).toISOString()}"`;
    if (mapped.meter !== undefined) {
      if (mapped.meter !== this.meter) {
        this.meter = mapped.meter;
        this.meterText = `,"meter":${JSON.stringify(mapped.meter)}`;
      }
      out += this.meterText;
    }
    for (let i = 0; i < mapped.fieldCount; i++) {
      const id = mapped.fieldIds[i]!;
      const value = mapped.fieldValues[i]!;
      // NaN never equals itself, so a NaN is written again each time (as null); -0 and 0 are both written `0`.
      if (value !== this.values[id]) {
        this.values[id] = value;
        this.texts[id] = `${FIELD_PREFIXES[id]!}${Number.isFinite(value) ? String(value) : 'null'}`;
      }
      out += this.texts[id]!;
    }
    return `${out}}`;
  }
}
