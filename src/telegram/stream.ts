import { TelegramFramer, type FrameEvent } from './frame.js';

/** Frames an async stream of byte chunks (a file, a port, stdin) into events, flushing at its end. */
export async function* frameEvents(
  chunks: AsyncIterable<Uint8Array>,
  framer: TelegramFramer = new TelegramFramer(),
): AsyncGenerator<FrameEvent> {
  for await (const chunk of chunks) yield* framer.push(chunk);
  yield* framer.end();
}
