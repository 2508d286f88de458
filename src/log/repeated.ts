import type { Level } from 'pino';
import type { Logger } from '../log.js';

export interface RepeatedLogOptions {
  logger: Logger;
  /** A kind of event that keeps happening gets one summary line per this many milliseconds. */
  summaryMs: number;
  /** Each repeat is also written at this level (the source's reconnect cycles at debug); default: only counted. */
  repeatLevel?: Level;
}

type Fields = Record<string, unknown>;

interface Kind {
  level: Level;
  fields: Fields;
  message: string;
  /** Repeats since the last line about this kind. */
  repeats: number;
  windowStart: number;
  timer: NodeJS.Timeout;
}

/**
 * Log lines for events that can repeat without end (rejected telegrams from a noisy line, a meter that stays
 * unplugged): the first of a kind is written in full; its repeats are counted, and every `summaryMs` one line says
 * how many there were (`repeats`), with the fields of the last. A window without repeats forgets the kind, so the
 * next one is written in full again. Memory is one entry per kind: keys must come from a small set (codes, not
 * messages with values in them).
 */
export class RepeatedLog {
  private readonly kinds = new Map<string, Kind>();
  private readonly logger: Logger;
  private readonly summaryMs: number;
  private readonly repeatLevel: Level | undefined;

  constructor(options: RepeatedLogOptions) {
    this.logger = options.logger;
    this.summaryMs = options.summaryMs;
    this.repeatLevel = options.repeatLevel;
  }

  /** Logs or counts one event of kind `key`; true when it was written in full (the first of its kind). */
  log(level: Level, key: string, fields: Fields, message: string): boolean {
    const kind = this.kinds.get(key);
    if (kind !== undefined) {
      kind.repeats++;
      kind.level = level;
      kind.fields = fields;
      kind.message = message;
      if (this.repeatLevel !== undefined) this.logger[this.repeatLevel](fields, message);
      return false;
    }
    this.logger[level](fields, message);
    this.kinds.set(key, { level, fields, message, repeats: 0, windowStart: Date.now(), timer: this.arm(key) });
    return true;
  }

  /** True while some kind has been seen and not forgotten. */
  get active(): boolean {
    return this.kinds.size > 0;
  }

  /** Writes what is still counted and forgets every kind: at the end of a stream, before its final counters. */
  flush(): void {
    for (const kind of this.kinds.values()) this.summarise(kind);
    this.forget();
  }

  /** The trouble is over and a line says so (telegrams arrive again): drops the counts, every kind is new again. */
  forget(): void {
    for (const kind of this.kinds.values()) clearTimeout(kind.timer);
    this.kinds.clear();
  }

  private arm(key: string): NodeJS.Timeout {
    const timer = setTimeout(() => this.windowEnded(key), this.summaryMs);
    // A summary due later must not keep a finished process alive.
    timer.unref();
    return timer;
  }

  private windowEnded(key: string): void {
    const kind = this.kinds.get(key);
    if (kind === undefined) return;
    if (kind.repeats === 0) {
      this.kinds.delete(key);
      return;
    }
    this.summarise(kind);
    kind.repeats = 0;
    kind.windowStart = Date.now();
    kind.timer = this.arm(key);
  }

  private summarise(kind: Kind): void {
    if (kind.repeats === 0) return;
    const seconds = Math.max(1, Math.round((Date.now() - kind.windowStart) / 1000));
    this.logger[kind.level]({ ...kind.fields, repeats: kind.repeats, seconds }, `${kind.message}: ${kind.repeats} more in the last ${seconds} s`);
  }
}
