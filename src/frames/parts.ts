/**
 * The pieces of one APDU while its segments or blocks arrive (HDLC segments, M-Bus segments, GBT blocks), with a
 * cap on the whole: a stream of pieces that never ends cannot grow without bound.
 */
export class Parts {
  private parts: Uint8Array[] = [];
  private size = 0;

  constructor(private readonly maxBytes = 64 * 1024) {}

  /** Adds a piece; false (and everything dropped) when the whole would pass the cap. */
  add(part: Uint8Array): boolean {
    if (this.size + part.length > this.maxBytes) {
      this.reset();
      return false;
    }
    this.parts.push(part);
    this.size += part.length;
    return true;
  }

  /** The pieces joined; the collection starts over. */
  take(): Uint8Array {
    const whole = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    this.reset();
    return whole;
  }

  /** Pieces collected so far. */
  get count(): number {
    return this.parts.length;
  }

  reset(): void {
    this.parts = [];
    this.size = 0;
  }
}
