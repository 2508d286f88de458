import type { CosemObject } from './types.js';

/**
 * What the previous telegram's lines parsed to, by line number. Meters send one layout every telegram and most
 * lines (energy registers, ids, the failure log) repeat unchanged, so a line equal to the same line of the last
 * telegram gets the same object again instead of being parsed anew. Parsed objects are never modified once
 * parseTelegram has returned them, which is what makes sharing them safe.
 */
export class LineMemo {
  private previous = '';
  private current = '';
  private timeZone = '';
  private readonly start: number[] = [];
  private readonly end: number[] = [];
  private readonly keys: string[] = [];
  private readonly objects: Array<CosemObject | undefined> = [];
  /** The reference and object of the line the last successful `reuse` found. */
  key = '';
  object: CosemObject | undefined;

  constructor(private readonly maxLines: number) {}

  /** Starts a telegram; objects parsed in another time zone are not reused. */
  begin(raw: string, timeZone: string): void {
    if (timeZone !== this.timeZone) {
      this.objects.length = 0;
      this.timeZone = timeZone;
    }
    this.current = raw;
  }

  /** Whether raw[start, end) is line `line` of the last telegram again; if so, `key` and `object` are its parse. */
  reuse(start: number, end: number, line: number): boolean {
    const object = line < this.objects.length ? this.objects[line] : undefined;
    if (object === undefined) return false;
    const previousStart = this.start[line]!;
    if (this.end[line]! - previousStart !== end - start) return false;
    const raw = this.current;
    const previous = this.previous;
    // From the end: a changed value differs at the end of its line, the reference at the start rarely does.
    for (let i = end - start - 1; i >= 0; i--) if (raw.charCodeAt(start + i) !== previous.charCodeAt(previousStart + i)) return false;
    this.start[line] = start;
    this.end[line] = end;
    this.key = this.keys[line]!;
    this.object = object;
    return true;
  }

  /** Line `line` of this telegram parsed to `object`; undefined for a line that must not be reused. */
  remember(line: number, start: number, end: number, key: string, object: CosemObject | undefined): void {
    if (line >= this.maxLines) return;
    while (this.objects.length < line) this.objects.push(undefined);
    this.objects[line] = object;
    this.start[line] = start;
    this.end[line] = end;
    this.keys[line] = key;
  }

  /** Ends the telegram at `lastLine` (remembered, like every line before it): lines beyond belong to an older text. */
  finish(lastLine: number): void {
    if (this.objects.length > lastLine + 1) this.objects.length = lastLine + 1;
    this.previous = this.current;
  }

  /** A telegram whose parse was interrupted leaves nothing to reuse. */
  clear(): void {
    this.objects.length = 0;
  }
}
