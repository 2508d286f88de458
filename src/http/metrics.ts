import type { SinkState, StatusReport } from './status.js';

/** Prometheus text exposition format 0.0.4 (what `promtool check metrics` reads). Pure. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

interface Sample {
  labels?: Record<string, string>;
  value: number | null;
}

interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  samples: Sample[];
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function render(families: readonly Family[]): string {
  const lines: string[] = [];
  for (const family of families) {
    const samples = family.samples.filter((s): s is Sample & { value: number } => s.value !== null);
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`);
    for (const sample of samples) {
      const labels = Object.entries(sample.labels ?? {});
      const labelText = labels.length === 0 ? '' : `{${labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
      lines.push(`${family.name}${labelText} ${formatValue(sample.value)}`);
    }
  }
  return lines.join('\n') + '\n';
}

const SINK_STATES: readonly SinkState[] = ['ok', 'retrying', 'failing'];
const SOURCE_STATES = ['connecting', 'open', 'waiting', 'closed'] as const;

function storageFamilies(report: StatusReport): Family[] {
  const storage = report.storage;
  if (storage === undefined) return [];
  return [
    { name: 'p1logger_telegrams_stored_total', help: 'Telegrams appended durably to the queue.', type: 'counter', samples: [{ value: storage.stored }] },
    { name: 'p1logger_telegrams_store_failed_total', help: 'Good telegrams that could not be stored (queue down: full disk, I/O error): lost.', type: 'counter', samples: [{ value: storage.storeFailed }] },
    { name: 'p1logger_queue_disk_full_total', help: 'Writes that met a full disk (the oldest records made room).', type: 'counter', samples: [{ value: storage.diskFullEvents }] },
    { name: 'p1logger_queue_unreadable_records', help: 'Stored records that could not be read back (damaged storage): skipped.', type: 'gauge', samples: [{ value: storage.unreadable ?? 0 }] },
    { name: 'p1logger_queue_reserve_bytes', help: 'Size of the reserve file kept for a full disk (0 while given back).', type: 'gauge', samples: [{ value: storage.reserveBytes }] },
  ];
}

function seconds(iso: string | null): number | null {
  return iso === null ? null : Date.parse(iso) / 1000;
}

export function renderMetrics(report: StatusReport): string {
  const one = (value: number | null): Sample[] => [{ value }];
  const perSink = (value: (s: StatusReport['sinks'][number]) => number): Sample[] =>
    report.sinks.map((s) => ({ labels: { sink: s.name }, value: value(s) }));
  const families: Family[] = [
    { name: 'p1logger_telegrams_total', help: 'Telegrams (DSMR) and data-notifications (DLMS) received whole with a valid check (or none, for DSMR 2.2/3).', type: 'counter', samples: one(report.framer.telegrams) },
    { name: 'p1logger_crc_errors_total', help: 'Telegrams dropped because their CRC did not match.', type: 'counter', samples: one(report.framer.crcErrors) },
    { name: 'p1logger_invalid_telegrams_total', help: 'Telegrams dropped as malformed (no data lines, bad trailer, DSMR 4/5 without CRC).', type: 'counter', samples: one(report.framer.invalid) },
    { name: 'p1logger_truncated_telegrams_total', help: 'Telegrams cut off before their end (a new one started, or too long).', type: 'counter', samples: one(report.framer.truncated) },
    { name: 'p1logger_junk_bytes_total', help: 'Bytes outside any telegram (noise, wrong baud rate or parity).', type: 'counter', samples: one(report.framer.junkBytes) },
    { name: 'p1logger_decrypt_errors_total', help: 'Encrypted frames that did not authenticate or decrypt (wrong key, forged or damaged).', type: 'counter', samples: one(report.framer.decryptErrors ?? 0) },
    { name: 'p1logger_key_missing_frames_total', help: 'Encrypted frames dropped because no decryptionKey is configured.', type: 'counter', samples: one(report.framer.keyMissing ?? 0) },
    { name: 'p1logger_source_bytes_total', help: 'Bytes read from the source.', type: 'counter', samples: one(report.source.bytes) },
    { name: 'p1logger_source_reconnects_total', help: 'Times the source was reopened after a failure or silence.', type: 'counter', samples: one(report.source.reconnects) },
    {
      name: 'p1logger_source_state',
      help: 'Source connection state: 1 for the current state.',
      type: 'gauge',
      samples: SOURCE_STATES.map((state) => ({ labels: { state }, value: report.source.state === state ? 1 : 0 })),
    },
    { name: 'p1logger_last_telegram_timestamp_seconds', help: 'Receive time of the last good telegram (Unix time).', type: 'gauge', samples: one(seconds(report.lastTelegramAt)) },
    { name: 'p1logger_last_telegram_age_seconds', help: 'Seconds since the last good telegram.', type: 'gauge', samples: one(report.lastTelegramAgeSeconds) },
    { name: 'p1logger_telegram_interval_seconds', help: 'Usual seconds between telegrams.', type: 'gauge', samples: one(report.intervalSeconds) },
    { name: 'p1logger_queue_records', help: 'Telegrams stored in the queue.', type: 'gauge', samples: one(report.queue.records) },
    { name: 'p1logger_queue_bytes', help: 'Size of the queue on disk.', type: 'gauge', samples: one(report.queue.bytesOnDisk) },
    { name: 'p1logger_queue_oldest_timestamp_seconds', help: 'Receive time of the oldest stored telegram (Unix time).', type: 'gauge', samples: one(seconds(report.queue.firstReceivedAt)) },
    { name: 'p1logger_queue_newest_timestamp_seconds', help: 'Receive time of the newest stored telegram (Unix time).', type: 'gauge', samples: one(seconds(report.queue.lastReceivedAt)) },
    { name: 'p1logger_sink_lag_records', help: 'Stored telegrams the sink has not acknowledged yet.', type: 'gauge', samples: perSink((s) => s.lagRecords) },
    { name: 'p1logger_sink_lag_seconds', help: 'Age of the oldest telegram the sink has not acknowledged.', type: 'gauge', samples: perSink((s) => s.lagSeconds) },
    { name: 'p1logger_sink_retries_total', help: 'Failed send attempts that were retried.', type: 'counter', samples: perSink((s) => s.retries) },
    { name: 'p1logger_sink_dead_letters', help: 'Telegrams the sink refused, parked with the reason.', type: 'gauge', samples: perSink((s) => s.deadLetters) },
    { name: 'p1logger_sink_dropped_total', help: 'Telegrams retention removed before the sink had them.', type: 'counter', samples: perSink((s) => s.dropped) },
    { name: 'p1logger_sink_skipped_total', help: 'Telegrams passed over because the sink takes only the newest (publish: latest), since start.', type: 'counter', samples: perSink((s) => s.skipped) },
    {
      name: 'p1logger_sink_dropped_by_reason_total',
      help: 'The same by reason: age, size (maxBytes), freeSpace (the floor), diskFull.',
      type: 'counter',
      samples: report.sinks.flatMap((s) => Object.entries(s.droppedByReason ?? {}).map(([reason, value]) => ({ labels: { sink: s.name, reason }, value }))),
    },
    ...storageFamilies(report),
    {
      name: 'p1logger_sink_state',
      help: 'Sink state: 1 for the current state (ok, retrying, failing).',
      type: 'gauge',
      samples: report.sinks.flatMap((s) => SINK_STATES.map((state) => ({ labels: { sink: s.name, state }, value: s.state === state ? 1 : 0 }))),
    },
    { name: 'p1logger_relay_clients', help: 'TCP clients of the P1 relay now.', type: 'gauge', samples: one(report.relay?.clients ?? null) },
    { name: 'p1logger_relay_connections_total', help: 'Relay clients accepted.', type: 'counter', samples: one(report.relay?.connections ?? null) },
    { name: 'p1logger_relay_refused_total', help: 'Relay connections closed at once: relay.maxClients were connected.', type: 'counter', samples: one(report.relay?.refused ?? null) },
    { name: 'p1logger_relay_dropped_total', help: 'Relay clients disconnected because they fell behind.', type: 'counter', samples: one(report.relay?.dropped ?? null) },
    { name: 'p1logger_relay_bytes_total', help: 'Bytes the relay wrote to its clients.', type: 'counter', samples: one(report.relay?.bytes ?? null) },
    { name: 'p1logger_resident_memory_bytes', help: 'Resident set size of the p1logger process.', type: 'gauge', samples: one(report.process.rssBytes) },
    { name: 'p1logger_uptime_seconds', help: 'Seconds since p1logger started.', type: 'gauge', samples: one(report.process.uptimeSeconds) },
    { name: 'p1logger_healthy', help: '1 when /healthz answers 200: telegrams arrive and no sink is failing.', type: 'gauge', samples: one(report.health.ok ? 1 : 0) },
    { name: 'p1logger_info', help: 'Version of p1logger.', type: 'gauge', samples: [{ labels: { version: report.version }, value: 1 }] },
  ];
  return render(families);
}
