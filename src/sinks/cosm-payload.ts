import type { Point } from './points.js';

/** A Cosm API v2 datapoint: ISO 8601 time and the value as a string (as the API documents it). */
export interface Datapoint {
  at: string;
  value: string;
}

export interface CosmPayload {
  /** Datastream id -> its datapoints in time order, one per timestamp. */
  datapoints: Map<string, Datapoint[]>;
  /** Datastream id -> its latest datapoint: the feed's current values. */
  current: Map<string, Datapoint>;
}

/**
 * Datastream ids for the points of one telegram: the electricity field names (`import_t1`, `power_import`, ...)
 * and the M-Bus measurement (`gas`, `water`, `heat`, `mbus`); a second device of the same kind is `gas_2` (its
 * channel). Per telegram, so the same telegram always names its streams the same way.
 */
export function datastreamValues(points: readonly Point[]): Array<{ id: string; point: Point; value: number }> {
  const out: Array<{ id: string; point: Point; value: number }> = [];
  const used = new Set<string>();
  for (const point of points) {
    if (point.measurement === 'electricity') {
      for (const field in point.fields) {
        const value = point.fields[field]!;
        if (Number.isFinite(value)) out.push({ id: field, point, value });
      }
      continue;
    }
    const value = point.fields.value;
    if (value === undefined || !Number.isFinite(value)) continue;
    const id = used.has(point.measurement) ? `${point.measurement}_${point.tags.channel ?? 'x'}` : point.measurement;
    used.add(point.measurement);
    out.push({ id, point, value });
  }
  return out;
}

/** The points of many telegrams (each telegram's points one entry) -> datapoints per datastream and current values. */
export function cosmPayload(telegrams: Iterable<readonly Point[]>): CosmPayload {
  const byStream = new Map<string, Map<number, string>>();
  for (const points of telegrams) {
    for (const { id, point, value } of datastreamValues(points)) {
      let stream = byStream.get(id);
      if (stream === undefined) {
        stream = new Map();
        byStream.set(id, stream);
      }
      // Later telegrams win for the same time, as in a time series database.
      stream.set(point.time, String(value));
    }
  }
  const datapoints = new Map<string, Datapoint[]>();
  const current = new Map<string, Datapoint>();
  for (const id of [...byStream.keys()].sort()) {
    const list = [...byStream.get(id)!].sort(([a], [b]) => a - b).map(([time, value]) => ({ at: new Date(time).toISOString(), value }));
    datapoints.set(id, list);
    current.set(id, list[list.length - 1]!);
  }
  return { datapoints, current };
}
