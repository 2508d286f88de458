import type { Telegram } from '../telegram/types.js';
import { powerPoint, type PowerPoint } from './history.js';
import { readingOf } from './reading.js';

export type LiveListener = (point: PowerPoint) => void;

/** What the status server needs from the live stream: a way to hear of each telegram. */
export interface LiveSource {
  subscribe(listener: LiveListener): () => void;
}

/** Until telegrams say otherwise, assume the slowest DSMR interval (10 s for 2.2-4; DSMR 5 sends every second). */
const DEFAULT_INTERVAL_S = 10;
const GAPS_KEPT = 15;

/**
 * Where the pipeline announces each stored telegram (`publish`), for the page's live graph (SSE) and for /healthz:
 * it keeps the receive time of the last telegram and the usual interval between telegrams (median of recent gaps).
 */
export class LiveFeed implements LiveSource {
  private readonly listeners = new Set<LiveListener>();
  private readonly gaps: number[] = [];
  private lastMs: number | null = null;

  publish(telegram: Telegram, receivedAt: Date = new Date()): void {
    const now = receivedAt.getTime();
    if (this.lastMs !== null && now > this.lastMs) {
      this.gaps.push(now - this.lastMs);
      if (this.gaps.length > GAPS_KEPT) this.gaps.shift();
    }
    this.lastMs = now;
    const point = powerPoint(readingOf(telegram, receivedAt));
    for (const listener of this.listeners) listener(point);
  }

  subscribe(listener: LiveListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Receive time of the last telegram, ISO; null before the first. */
  get lastTelegramAt(): string | null {
    return this.lastMs === null ? null : new Date(this.lastMs).toISOString();
  }

  /** The usual seconds between telegrams; a single long outage does not move a median. */
  get intervalSeconds(): number {
    if (this.gaps.length === 0) return DEFAULT_INTERVAL_S;
    const sorted = [...this.gaps].sort((a, b) => a - b);
    return Math.max(0.1, sorted[Math.floor(sorted.length / 2)]! / 1000);
  }
}
