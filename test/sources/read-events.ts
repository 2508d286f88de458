import { TelegramFramer, type FrameEvent } from '../../src/telegram/frame.js';
import type { ByteSource } from '../../src/sources/source.js';

/** Consumes a source in the background the way `p1logger read` does, keeping what the framer finds. */
export class SourceReader {
  readonly events: FrameEvent[] = [];
  readonly framer = new TelegramFramer();
  private readonly controller = new AbortController();
  readonly done: Promise<void>;
  error: unknown;

  constructor(readonly source: ByteSource) {
    this.done = (async () => {
      try {
        for await (const chunk of source.read(this.controller.signal)) this.events.push(...this.framer.push(chunk));
        this.events.push(...this.framer.end());
      } catch (error) {
        this.error = error;
      }
    })();
  }

  get telegrams(): Extract<FrameEvent, { type: 'telegram' }>[] {
    return this.events.filter((e): e is Extract<FrameEvent, { type: 'telegram' }> => e.type === 'telegram');
  }

  async stop(): Promise<void> {
    this.controller.abort();
    await this.done;
  }
}
