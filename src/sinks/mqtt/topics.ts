import type { Point } from '../points.js';

/** One message for the broker. Every message goes with QoS 1. */
export interface MqttMessage {
  topic: string;
  payload: string;
  retain: boolean;
}

/** Where a sink's messages go; all derived from the meter, unless configured. */
export interface Topics {
  /** `p1logger/<meter id>` unless configured. */
  prefix: string;
  /** `<prefix>/status`: `online`, and `offline` as the Last Will; retained. */
  status: string;
}

export const STATUS_ONLINE = 'online';
export const STATUS_OFFLINE = 'offline';

/** The meter's id as one topic level and Home Assistant node id: letters, digits, `_` and `-` only. */
export function topicId(id: string | undefined): string {
  const clean = (id ?? '').replace(/[^A-Za-z0-9_-]+/g, '_').replace(/^_+|_+$/g, '');
  return clean === '' ? 'meter' : clean;
}

/** The meter a record's points are named after: the electricity meter's id, else the first M-Bus device's (a heat-only meter). */
export function meterOf(points: readonly Point[]): string | undefined {
  return (points.find((p) => p.measurement === 'electricity') ?? points[0])?.tags.meter;
}

export function topicsFor(meter: string | undefined, configuredPrefix?: string): Topics {
  const prefix = configuredPrefix ?? `p1logger/${topicId(meter)}`;
  return { prefix, status: `${prefix}/status` };
}

/**
 * The topic level of each point: `electricity`, and for M-Bus devices their measurement (`gas`, `water`, `heat`,
 * `mbus`); a second device of the same kind in one telegram gets its channel appended (`water_3`).
 */
export function subtopics(points: readonly Point[]): string[] {
  const seen = new Set<string>();
  return points.map((point) => {
    let name: string = point.measurement;
    if (seen.has(name)) name = `${name}_${topicId(point.tags.channel)}`;
    seen.add(name);
    return name;
  });
}

/**
 * One telegram's points -> its state messages: `<prefix>/electricity` with every field of the electricity point, and
 * `<prefix>/gas` (water, heat) per M-Bus device with that device's own reading time. The fields are the Points
 * table's, with the same names, units and times as InfluxDB gets; `time` is ISO 8601 UTC. Deterministic: the same
 * telegram gives the same bytes, so a re-sent message is an exact copy.
 */
export function stateMessages(points: readonly Point[], prefix: string, retain: boolean): MqttMessage[] {
  const names = subtopics(points);
  return points.map((point, i) => ({ topic: `${prefix}/${names[i]!}`, payload: stateJson(point), retain }));
}

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
