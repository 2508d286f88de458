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
