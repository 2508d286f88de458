/** One piece of a capture and how long to wait before it when replaying at the meter's pace. */
export interface ReplayStep {
  bytes: Buffer;
  delayMs: number;
}

/** The meter's time; some Landis+Gyr E350 firmware writes the season flag in lower case. */
const TIMESTAMP = /\n0-0:1\.0\.0\((\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})([SWsw]?)\)/;
const DSMR5_VERSION = /\n1-3:0\.2\.8\(5\d\)/;
/** Longer gaps in a capture (the logger was down) are not worth waiting for. */
const MAX_GAP_MS = 60_000;

/**
 * Splits a capture at the start of each telegram ('/' at the start of a line) and gives each piece the delay
 * the meter had before it: the difference of the telegrams' times (0-0:1.0.0), else the version's interval
 * (1 s for DSMR 5, 10 s before). Pure. Bytes before the first telegram come first, without a delay.
 */
export function replaySchedule(capture: Buffer): ReplayStep[] {
  const starts: number[] = [];
  for (let i = capture.indexOf(0x2f); i !== -1; i = capture.indexOf(0x2f, i + 1)) {
    if (i === 0 || capture[i - 1] === 0x0a) starts.push(i);
  }
  if (starts.length === 0) return capture.length === 0 ? [] : [{ bytes: capture, delayMs: 0 }];
  const steps: ReplayStep[] = [];
  if (starts[0]! > 0) steps.push({ bytes: capture.subarray(0, starts[0]), delayMs: 0 });
  let previousTime: number | null = null;
  for (let k = 0; k < starts.length; k++) {
    const bytes = capture.subarray(starts[k], starts[k + 1] ?? capture.length);
    const text = bytes.toString('latin1', 0, Math.min(bytes.length, 400));
    const time = meterTimeMs(text);
    let delayMs = 0;
    if (k > 0) {
      const gap = time !== null && previousTime !== null ? time - previousTime : Number.NaN;
      delayMs = gap > 0 ? Math.min(gap, MAX_GAP_MS) : DSMR5_VERSION.test(text) ? 1000 : 10_000;
    }
    previousTime = time;
    steps.push({ bytes, delayMs });
  }
  return steps;
}

function meterTimeMs(text: string): number | null {
  const m = TIMESTAMP.exec(text);
  if (m === null) return null;
  const n = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const offsetH = m[7]?.toUpperCase() === 'S' ? 2 : 1;
  return Date.UTC(2000 + n[0], n[1] - 1, n[2], n[3] - offsetH, n[4], n[5]);
}
