/** The status server and what service.ts hands it (see server.ts for the routes). */
export { createStatusServer, type StatusServer, type StatusServerOptions } from './server.js';
export { buildReport, evaluateHealth, type StatusSnapshot, type StatusReport, type SinkStatus, type SinkState, type Health } from './status.js';
export { LiveFeed, type LiveSource, type LiveListener } from './live.js';
export { readingsHistory, periodStarts, periodTotals, type HistoryProvider, type PowerPoint, type PeriodTotals, type EnergyTotals } from './history.js';
export { queueHistory, type QueueHistoryOptions } from './queue-history.js';
export { readingOf, type MeterReading } from './reading.js';
export { renderMetrics, METRICS_CONTENT_TYPE } from './metrics.js';
export { statusSnapshot, type SnapshotParts } from './snapshot.js';
