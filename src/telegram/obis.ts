/**
 * The OBIS object table: how each known reference is shaped, and a name for humans.
 * References of M-Bus channels 1-4 (`0-1:` .. `0-4:`) are listed with `0-n:`; EasyMeter's `*255` suffix is
 * dropped before lookup. Anything not listed is still parsed generically and kept with its raw line.
 */

export type ObjectKind =
  /** `(123.456*kWh)` or `(0002)`: a number, with the unit when the meter sends one. */
  | 'number'
  /** Kept exactly as sent: versions, serial numbers, status words. */
  | 'string'
  /** Hex-encoded text (messages, equipment ids): value as sent, plus `text` when it decodes to printable ASCII. */
  | 'hex'
  /** `(YYMMDDhhmmssX)`: the value is the ISO time. */
  | 'time'
  /** `(YYMMDDhhmmssX)(value*unit)`: M-Bus readings, the monthly peak. */
  | 'timed'
  /** `(n)(0-0:96.7.19)(time)(duration*s)...`: the power failure event log. */
  | 'failure-log'
  /** `(n)(1-0:1.6.0)(1-0:1.6.0)(month)(peak time)(value*kW)...`: Belgian monthly peak history. */
  | 'peak-history'
  /** DSMR 2.2/3 gas: `(time)(..)(..)(..)(0-1:24.2.1)(m3)` with the value in parentheses on the next line. */
  | 'legacy-gas';

export interface ObisDefinition {
  kind: ObjectKind;
  name: string;
}

const table: Record<string, ObisDefinition> = {
  '1-3:0.2.8': { kind: 'string', name: 'p1_version' },
  '0-0:96.1.4': { kind: 'string', name: 'emucs_version' },
  '0-0:1.0.0': { kind: 'time', name: 'timestamp' },
  '0-0:96.1.1': { kind: 'hex', name: 'equipment_id' },
  '0-0:96.1.0': { kind: 'hex', name: 'equipment_id' },
  '0-0:42.0.0': { kind: 'hex', name: 'logical_device_name' },
  '1-0:0.0.0': { kind: 'string', name: 'meter_serial' },
  '0-0:96.1.255': { kind: 'string', name: 'equipment_id' },
  '1-0:96.5.5': { kind: 'string', name: 'status_word' },
  '1-0:1.8.0': { kind: 'number', name: 'import_total' },
  '1-0:1.8.1': { kind: 'number', name: 'import_t1' },
  '1-0:1.8.2': { kind: 'number', name: 'import_t2' },
  '1-0:1.8.3': { kind: 'number', name: 'import_t3' },
  '1-0:1.8.4': { kind: 'number', name: 'import_t4' },
  '1-0:2.8.0': { kind: 'number', name: 'export_total' },
  '1-0:2.8.1': { kind: 'number', name: 'export_t1' },
  '1-0:2.8.2': { kind: 'number', name: 'export_t2' },
  '1-0:2.8.3': { kind: 'number', name: 'export_t3' },
  '1-0:2.8.4': { kind: 'number', name: 'export_t4' },
  '0-0:96.14.0': { kind: 'number', name: 'tariff' },
  '1-0:1.7.0': { kind: 'number', name: 'power_import' },
  '1-0:2.7.0': { kind: 'number', name: 'power_export' },
  '0-0:17.0.0': { kind: 'number', name: 'threshold' },
  '0-0:96.3.10': { kind: 'number', name: 'breaker_state' },
  '0-0:96.7.21': { kind: 'number', name: 'failures' },
  '0-0:96.7.9': { kind: 'number', name: 'long_failures' },
  '1-0:99.97.0': { kind: 'failure-log', name: 'failure_log' },
  '1-0:32.32.0': { kind: 'number', name: 'sags_l1' },
  '1-0:52.32.0': { kind: 'number', name: 'sags_l2' },
  '1-0:72.32.0': { kind: 'number', name: 'sags_l3' },
  '1-0:32.36.0': { kind: 'number', name: 'swells_l1' },
  '1-0:52.36.0': { kind: 'number', name: 'swells_l2' },
  '1-0:72.36.0': { kind: 'number', name: 'swells_l3' },
  '0-0:96.13.0': { kind: 'hex', name: 'message' },
  '0-0:96.13.1': { kind: 'hex', name: 'message_code' },
  '1-0:32.7.0': { kind: 'number', name: 'voltage_l1' },
  '1-0:52.7.0': { kind: 'number', name: 'voltage_l2' },
  '1-0:72.7.0': { kind: 'number', name: 'voltage_l3' },
  '1-0:31.7.0': { kind: 'number', name: 'current_l1' },
  '1-0:51.7.0': { kind: 'number', name: 'current_l2' },
  '1-0:71.7.0': { kind: 'number', name: 'current_l3' },
  '1-0:21.7.0': { kind: 'number', name: 'power_import_l1' },
  '1-0:41.7.0': { kind: 'number', name: 'power_import_l2' },
  '1-0:61.7.0': { kind: 'number', name: 'power_import_l3' },
  '1-0:22.7.0': { kind: 'number', name: 'power_export_l1' },
  '1-0:42.7.0': { kind: 'number', name: 'power_export_l2' },
  '1-0:62.7.0': { kind: 'number', name: 'power_export_l3' },
  '1-0:14.7.0': { kind: 'number', name: 'frequency' },
  '1-0:13.7.0': { kind: 'number', name: 'power_factor' },
  '1-0:1.4.0': { kind: 'number', name: 'demand_avg' },
  '1-0:1.6.0': { kind: 'timed', name: 'demand_peak_month' },
  '0-0:98.1.0': { kind: 'peak-history', name: 'peak_history' },
  '1-0:31.4.0': { kind: 'number', name: 'fuse_l1' },
  '1-0:51.4.0': { kind: 'number', name: 'fuse_l2' },
  '1-0:71.4.0': { kind: 'number', name: 'fuse_l3' },
  '0-n:24.1.0': { kind: 'number', name: 'mbus_device_type' },
  '0-n:96.1.0': { kind: 'hex', name: 'mbus_equipment_id' },
  '0-n:96.1.1': { kind: 'hex', name: 'mbus_equipment_id' },
  '0-n:24.2.1': { kind: 'timed', name: 'mbus_reading' },
  '0-n:24.2.3': { kind: 'timed', name: 'mbus_reading' },
  '0-n:24.4.0': { kind: 'number', name: 'mbus_valve' },
  '0-n:24.3.0': { kind: 'legacy-gas', name: 'mbus_reading' },
};

const definitions = new Map(Object.entries(table));

/** `0-2:24.2.1` -> `0-n:24.2.1`; `1-0:1.8.0*255` -> `1-0:1.8.0`. */
export function normaliseReference(reference: string): string {
  let ref = reference;
  const star = ref.indexOf('*');
  if (star !== -1) ref = ref.slice(0, star);
  if (ref.length > 4 && ref.charCodeAt(0) === 0x30 && ref.charCodeAt(1) === 0x2d && ref.charCodeAt(3) === 0x3a) {
    const channel = ref.charCodeAt(2);
    if (channel >= 0x31 && channel <= 0x34) ref = `0-n${ref.slice(3)}`;
  }
  return ref;
}

export interface ResolvedReference {
  /** The reference as sent, as one shared string: objects keyed by it are built faster. */
  key: string;
  definition: ObisDefinition | undefined;
}

/** Seen references (bounded: a stream of junk lines cannot grow it without limit). */
const resolved = new Map<string, ResolvedReference>();
const MAX_RESOLVED = 1024;

const REFERENCE = /^\d{1,3}-\d{1,3}:\d{1,3}\.\d{1,3}\.\d{1,3}(\*\d{1,3})?$/;

/**
 * Definition of a reference as sent (exact, else with `0-n:` and without `*255`), memoised;
 * null when the text is not an OBIS reference (`A-B:C.D.E[*F]`) at all.
 */
export function resolveReference(reference: string): ResolvedReference | null {
  let entry = resolved.get(reference);
  if (entry === undefined) {
    if (!REFERENCE.test(reference)) return null;
    entry = { key: reference, definition: definitions.get(reference) ?? definitions.get(normaliseReference(reference)) };
    if (resolved.size < MAX_RESOLVED) resolved.set(reference, entry);
  }
  return entry;
}

const byHash = new Map<number, ResolvedReference[]>();

/**
 * resolveReference for text[start, end) without cutting the string first: the hot path of the parser, where a
 * fresh slice per line (and hashing it) costs more than the rest of the line's work.
 */
export function resolveReferenceAt(text: string, start: number, end: number): ResolvedReference | null {
  let hash = 0x811c9dc5;
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  hash &= 0x3fffffff; // a small integer key keeps the Map on its fast path
  const bucket = byHash.get(hash);
  if (bucket !== undefined) {
    for (const entry of bucket) if (entry.key.length === end - start && text.startsWith(entry.key, start)) return entry;
  }
  const entry = resolveReference(text.slice(start, end));
  if (entry !== null && resolved.get(entry.key) === entry) {
    if (bucket === undefined) byHash.set(hash, [entry]);
    else bucket.push(entry);
  }
  return entry;
}

export function lookupObis(reference: string): ObisDefinition | undefined {
  return resolveReference(reference)?.definition;
}

/** The whole table, for documentation. */
export function obisTable(): ReadonlyMap<string, ObisDefinition> {
  return definitions;
}
