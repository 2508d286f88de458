/**
 * Watches the wall clock against the monotonic one, pure: a Raspberry Pi has no real-time clock, so it may start in
 * 1970 (or at the time it last shut down) and jump when NTP sets it. The monotonic clock does not jump; when the
 * difference between the two moves by more than `thresholdMs`, the wall clock jumped by that much.
 */
export class ClockWatch {
  private offset: number | undefined;

  constructor(private readonly thresholdMs = 60_000) {}

  /** The jump (ms, negative: backwards) since the last observation, or 0. */
  observe(wallMs: number, monotonicMs: number): number {
    const offset = wallMs - monotonicMs;
    const jump = this.offset === undefined ? 0 : offset - this.offset;
    if (this.offset === undefined || Math.abs(jump) > this.thresholdMs) {
      this.offset = offset;
      return jump;
    }
    // Small drift (NTP slewing) is followed, so it never adds up to a jump.
    this.offset = offset;
    return 0;
  }
}

/** Receive times before this cannot be right for this software: a clock that was never set (1970). */
export const PLAUSIBLE_FROM = '2020-01-01T00:00:00.000Z';
