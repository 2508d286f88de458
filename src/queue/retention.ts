/**
 * Pure arithmetic of retention. Retention removes a contiguous run of the oldest records, seqs [from, to];
 * every record in that run a sink had not acknowledged is lost for that sink.
 */
export function droppedBySink(cursors: ReadonlyMap<string, number>, from: number, to: number): Map<string, number> {
  const dropped = new Map<string, number>();
  for (const [sink, cursor] of cursors) {
    const lost = to - Math.max(cursor, from - 1);
    if (lost > 0) dropped.set(sink, lost);
  }
  return dropped;
}

/**
 * How many of the oldest records to remove so that about `bytesToFree` go, from the average footprint of a
 * record on disk (compressed tables plus the write-ahead log). At least one when anything must go.
 */
export function recordsForBytes(bytesToFree: number, bytesOnDisk: number, records: number): number {
  if (bytesToFree <= 0 || records <= 0) return 0;
  const perRecord = Math.max(1, bytesOnDisk / records);
  return Math.min(records, Math.max(1, Math.ceil(bytesToFree / perRecord)));
}
