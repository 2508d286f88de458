import { readFileSync } from 'node:fs';
import { it } from 'vitest';
import { FrameDetector } from '../src/frames/detector.js';
import { TelegramFramer } from '../src/telegram/frame.js';
import { crc16OfText, formatCrc } from '../src/telegram/crc16.js';
function withCrc(body: string): string { const t = body.slice(0, body.lastIndexOf('!') + 1); return t + formatCrc(crc16OfText(t)) + '\r\n'; }
function show(name: string, input: string) {
  const bytes = Buffer.from(input, 'latin1');
  for (const [label, make] of [['detector', () => new FrameDetector({})], ['framer', () => new TelegramFramer({})]] as const) {
    const d = make() as any;
    const ev = [...d.push(bytes), ...d.end()];
    console.log(name, label, ev.filter((e: any) => e.type !== 'junk' && e.type !== 'detected').map((e: any) => e.type + (e.code ? ':' + e.code : '') + (e.raw ? ':' + JSON.stringify(e.raw.slice(0, 12)) : '')).join(' | '));
  }
}
it('repro', () => {
  const v5 = readFileSync('test/fixtures/telegrams/V5.txt', 'latin1');
  const v22 = readFileSync('test/fixtures/telegrams/V2_2.txt', 'latin1');
  const v5slash = withCrc(v5.replace(/0-0:96\.13\.0\([^)]*\)/, '0-0:96.13.0(746573742d2f2d74657374)').replace('1-0:1.8.1(', '1-0:1.8.1(').replace(/^\/([^\r]*)/, '/XMX5/LG\\'));
  show('v5 slash header', v5slash);
  show('v22 slash msg', v22.replace(/0-0:96\.13\.0\(\)/, '0-0:96.13.0(test-/-test)').replace(/0-0:96\.13\.0\(([^)]*)\)/, '0-0:96.13.0(test-/-test)'));
  show('junk slash then v5', 'ab/cd\r\n' + v5);
  show('cut mid-line then v5', v5.slice(0, 200) + v5);
  show('v22 at end no lf', v22.replace(/!\r?\n?$/, '!'));
  show('two v5', v5 + v5);
});
