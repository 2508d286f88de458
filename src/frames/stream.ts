import { FrameDetector, type DetectorEvent } from './detector.js';

/** Frames an async stream of byte chunks (a file, a port, stdin) into detector events, flushing at its end. */
export async function* detectFrames(chunks: AsyncIterable<Uint8Array>, detector: FrameDetector = new FrameDetector()): AsyncGenerator<DetectorEvent> {
  for await (const chunk of chunks) yield* detector.push(chunk);
  yield* detector.end();
}
