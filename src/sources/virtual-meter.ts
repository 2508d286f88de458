import { crc16OfText, formatCrc } from '../telegram/crc16.js';
import { formatMeterTime, localClock, type LocalClock } from './meter-time.js';
import { seededRandom } from './random.js';
import type { SimulatedDsmr } from './spec.js';

/**
 * The simulated meter's model. Pure: the same seed and the same sequence of times give the same telegrams.
 * A household with a base load, a fridge, appliances switched on at plausible hours, lighting in the evening,
 * solar panels following the sun and passing clouds, and gas heating that follows the season.
 */
export interface VirtualMeterOptions {
  dsmr: SimulatedDsmr;
  /** Picks the household (loads, panels, start counters, ids) and its randomness. Default 1. */
  seed?: number;
  /** Time of the first reading; counters are as of then. */
  startMs: number;
}

/** The exact state behind the last telegram (the telegram shows it rounded). */
export interface MeterReading {
  timeMs: number;
  /** 1 = low (nights, weekends), 2 = normal. */
  tariff: 1 | 2;
  /** kWh, exact. */
  importT1: number;
  importT2: number;
  exportT1: number;
  exportT2: number;
  /** W, as the telegram shows them; they applied over the interval that ended at timeMs. */
  powerImportW: number;
  powerExportW: number;
  /** m3, exact, and the last reading the meter reports with its capture time. */
  gas: number;
  gasReport: { timeMs: number; value: number };
  /** Per phase: net power (W, negative when exporting) and voltage (V), as the telegram shows them. */
  phaseNetW: [number, number, number];
  voltagesV: [number, number, number];
}

interface Stage {
  watts: number;
  minutes: number;
  /** Hot water or heating the appliance burns gas for, m3/h. */
  gasM3h?: number;
}

interface Appliance {
  name: string;
  phase: 0 | 1 | 2;
  stages: Stage[];
  /** Starts per day, spread over [fromHour, toHour) local time. */
  perDay: number;
  fromHour: number;
  toHour: number;
  startedMs: number;
  endsMs: number;
}

const W_MS_PER_KWH = 3_600_000 * 1000;
const LATITUDE = (52.1 * Math.PI) / 180;
const LONGITUDE_HOURS = 5.1 / 15;
/** Lighting, screens and chargers by local hour, W (a Dutch household's evening peak). */
const ACTIVITY_W = [40, 30, 30, 30, 30, 40, 90, 180, 160, 100, 90, 90, 110, 90, 90, 100, 140, 260, 330, 360, 340, 280, 180, 80];

export class VirtualMeter {
  private readonly dsmr: SimulatedDsmr;
  private readonly random: () => number;
  private readonly gasPeriodMs: number;
  private readonly powerStepW: number;
  private readonly baseW: number;
  private readonly solarWp: number;
  private readonly solarShare: [number, number, number];
  private readonly appliances: Appliance[];
  private readonly equipmentId: string;
  private readonly gasId: string;
  private readonly failures: number;
  private readonly longFailures: { endMs: number; seconds: number }[];
  private readonly sags: [number, number, number];
  private readonly swells: [number, number, number];
  private readonly phaseOffsetV: [number, number, number];
  /** Energy counters in W·ms: integers, so that the sums are exact. */
  private energy = { importT1: 0, importT2: 0, exportT1: 0, exportT2: 0 };
  private gas: number;
  private gasReport: { timeMs: number; value: number };
  private cloud = 0.7;
  private lastMs: number;
  private first = true;
  private tariff: 1 | 2 = 1;
  private phaseNetW: [number, number, number] = [0, 0, 0];
  private voltages: [number, number, number] = [230, 230, 230];
  private powerImportW = 0;
  private powerExportW = 0;

  constructor(options: VirtualMeterOptions) {
    this.dsmr = options.dsmr;
    this.random = seededRandom(options.seed ?? 1);
    const r = this.random;
    this.gasPeriodMs = options.dsmr === '5' ? 300_000 : 3_600_000;
    // DSMR 2.2 shows power in 10 W steps (0001.01*kW), DSMR 5 in 1 W steps (01.193*kW).
    this.powerStepW = options.dsmr === '5' ? 1 : 10;
    this.baseW = 110 + Math.round(r() * 120);
    this.solarWp = 2400 + Math.round(r() * 26) * 100;
    this.solarShare = this.solarWp <= 3600 ? [1, 0, 0] : [1 / 3, 1 / 3, 1 / 3];
    this.energy = {
      importT1: Math.round((3000 + r() * 9000) * W_MS_PER_KWH),
      importT2: Math.round((2500 + r() * 8000) * W_MS_PER_KWH),
      exportT1: Math.round((200 + r() * 2500) * W_MS_PER_KWH),
      exportT2: Math.round((400 + r() * 4000) * W_MS_PER_KWH),
    };
    this.gas = 800 + r() * 6000;
    this.lastMs = options.startMs;
    const boundary = Math.floor(options.startMs / this.gasPeriodMs) * this.gasPeriodMs;
    this.gasReport = { timeMs: boundary, value: this.gas };
    const digits = (n: number): string => Array.from({ length: n }, () => Math.floor(r() * 10)).join('');
    this.equipmentId = hex(`E0051${digits(12)}`);
    this.gasId = hex(`G0051${digits(12)}`);
    this.failures = 2 + Math.floor(r() * 12);
    const longCount = 1 + Math.floor(r() * 3);
    this.longFailures = Array.from({ length: longCount }, (_, i) => ({
      endMs: options.startMs - Math.round((20 + i * 90 + r() * 60) * 86_400_000),
      seconds: 180 + Math.round(r() * 7200),
    }));
    this.sags = [Math.floor(r() * 3), Math.floor(r() * 3), Math.floor(r() * 3)];
    this.swells = [Math.floor(r() * 2), 0, Math.floor(r() * 2)];
    this.phaseOffsetV = [(r() - 0.5) * 3, (r() - 0.5) * 3, (r() - 0.5) * 3];
    const appliance = (name: string, phase: 0 | 1 | 2, stages: Stage[], perDay: number, fromHour: number, toHour: number): Appliance => ({
      name,
      phase,
      stages,
      perDay,
      fromHour,
      toHour,
      startedMs: 0,
      endsMs: 0,
    });
    this.appliances = [
      appliance('kettle', 0, [{ watts: 2000, minutes: 3 }], 4, 6.5, 22),
      appliance('microwave', 0, [{ watts: 900, minutes: 4 }], 1.5, 11.5, 20),
      appliance('coffee', 0, [{ watts: 1300, minutes: 2 }], 3, 6.5, 16),
      appliance('washing machine', 1, [{ watts: 2000, minutes: 15 }, { watts: 250, minutes: 70 }], 0.6, 8, 20),
      appliance('dryer', 1, [{ watts: 2200, minutes: 60 }], 0.3, 10, 21),
      appliance('dishwasher', 2, [{ watts: 2000, minutes: 20 }, { watts: 150, minutes: 40 }, { watts: 2000, minutes: 15 }], 0.8, 19, 23),
      appliance('hob', 2, [{ watts: 3000, minutes: 20 }], 0.9, 17, 19),
      appliance('oven', 2, [{ watts: 2500, minutes: 45 }], 0.3, 16.5, 19),
      appliance('vacuum cleaner', 1, [{ watts: 1500, minutes: 20 }], 0.2, 9, 18),
      appliance('shower', 0, [{ watts: 0, minutes: 8, gasM3h: 1.6 }], 2, 6.5, 8.5),
      appliance('evening shower', 0, [{ watts: 0, minutes: 8, gasM3h: 1.6 }], 0.5, 20, 23),
    ];
  }

  /** Advances the model to `timeMs` (a time before the last one counts as no time passing) and returns the telegram. */
  telegramAt(timeMs: number): string {
    this.advance(timeMs);
    return this.dsmr === '5' ? this.formatV5(this.lastMs) : this.formatV22();
  }

  /** Advances the model to `timeMs` without writing a telegram (the HAN meters write their own frames). */
  advance(timeMs: number): void {
    this.step(timeMs);
  }

  get reading(): MeterReading {
    return {
      timeMs: this.lastMs,
      tariff: this.tariff,
      importT1: this.energy.importT1 / W_MS_PER_KWH,
      importT2: this.energy.importT2 / W_MS_PER_KWH,
      exportT1: this.energy.exportT1 / W_MS_PER_KWH,
      exportT2: this.energy.exportT2 / W_MS_PER_KWH,
      powerImportW: this.powerImportW,
      powerExportW: this.powerExportW,
      gas: this.gas,
      gasReport: { ...this.gasReport },
      phaseNetW: [...this.phaseNetW],
      voltagesV: [...this.voltages],
    };
  }

  private step(timeMs: number): void {
    const r = this.random;
    const dtMs = this.first ? 0 : Math.max(0, timeMs - this.lastMs);
    const now = this.first ? timeMs : this.lastMs + dtMs;
    this.first = false;
    const local = localClock(now);
    this.tariff = isLowTariff(local) ? 1 : 2;

    // Appliances: running ones finish, idle ones start at their rate within their hours.
    const consumption: [number, number, number] = [this.baseW / 3, this.baseW / 3, this.baseW / 3];
    let gasM3h = heatingM3h(now, local);
    for (const a of this.appliances) {
      if (now >= a.endsMs && dtMs > 0 && inWindow(local.hourOfDay, a.fromHour, a.toHour)) {
        const perMs = a.perDay / ((a.toHour - a.fromHour) * 3_600_000);
        if (r() < Math.min(1, perMs * dtMs)) {
          a.startedMs = now;
          a.endsMs = now + a.stages.reduce((sum, s) => sum + s.minutes, 0) * 60_000;
        }
      }
      if (now < a.endsMs) {
        const stage = stageAt(a, now);
        consumption[a.phase] += stage.watts;
        gasM3h += stage.gasM3h ?? 0;
      }
    }
    // The fridge's compressor: 15 minutes in every 45.
    if (Math.floor(now / 60_000) % 45 < 15) consumption[0] += 90;
    const activity = ACTIVITY_W[local.hour]!;
    consumption[0] += activity * 0.5;
    consumption[1] += activity * 0.3;
    consumption[2] += activity * 0.2;

    // Clouds drift (an Ornstein-Uhlenbeck walk with a 20-minute memory) over a clear-sky sun.
    const k = Math.min(1, dtMs / 1_200_000);
    this.cloud = clamp(this.cloud + (0.65 - this.cloud) * k + 0.35 * Math.sqrt(k) * gaussian(r), 0.1, 1);
    const solarW = this.solarWp * 0.9 * clearSky(now) * this.cloud;

    let total = 0;
    for (let p = 0; p < 3; p++) {
      const noise = (r() - 0.5) * 30;
      const net = consumption[p]! + noise - solarW * this.solarShare[p]!;
      const quantised = Math.round(net / this.powerStepW) * this.powerStepW;
      this.phaseNetW[p] = quantised;
      total += quantised;
      // Export lifts the local grid voltage, import pulls it down.
      const v = 230 + this.phaseOffsetV[p]! + 2 * Math.sin((2 * Math.PI * local.hourOfDay) / 24) + (r() - 0.5) * 1.2 - quantised * 0.0009;
      this.voltages[p] = Math.round(v * 10) / 10;
      if (dtMs > 0 && r() < (dtMs / 3_600_000) * 0.01) this.sags[p] = this.sags[p]! + 1;
    }
    this.powerImportW = Math.max(0, total);
    this.powerExportW = Math.max(0, -total);

    // The power shown now is the average over the interval that just ended: integrate it exactly.
    if (this.tariff === 1) {
      this.energy.importT1 += this.powerImportW * dtMs;
      this.energy.exportT1 += this.powerExportW * dtMs;
    } else {
      this.energy.importT2 += this.powerImportW * dtMs;
      this.energy.exportT2 += this.powerExportW * dtMs;
    }
    const boundary = Math.floor(now / this.gasPeriodMs) * this.gasPeriodMs;
    const gasFlowPerMs = gasM3h / 3_600_000;
    if (boundary > this.gasReport.timeMs) {
      this.gasReport = { timeMs: boundary, value: this.gas + gasFlowPerMs * Math.max(0, boundary - this.lastMs) };
    }
    this.gas += gasFlowPerMs * dtMs;
    this.lastMs = now;
  }

  private formatV5(timeMs: number): string {
    const kwh = (wms: number): string => units(Math.floor(wms / 3_600_000), 6, 3);
    const kw = (w: number): string => units(w, 2, 3);
    const phaseImport = (p: number): string => kw(Math.max(0, this.phaseNetW[p]!));
    const phaseExport = (p: number): string => kw(Math.max(0, -this.phaseNetW[p]!));
    const amps = (p: number): string => int(Math.round(Math.abs(this.phaseNetW[p]!) / this.voltages[p]!), 3);
    const log = this.longFailures.map((f) => `(${formatMeterTime(f.endMs, true)})(${int(f.seconds, 10)}*s)`).join('');
    const lines = [
      '/SIM5P1LOGGER-DSMR5',
      '',
      '1-3:0.2.8(50)',
      `0-0:1.0.0(${formatMeterTime(timeMs, true)})`,
      `0-0:96.1.1(${this.equipmentId})`,
      `1-0:1.8.1(${kwh(this.energy.importT1)}*kWh)`,
      `1-0:1.8.2(${kwh(this.energy.importT2)}*kWh)`,
      `1-0:2.8.1(${kwh(this.energy.exportT1)}*kWh)`,
      `1-0:2.8.2(${kwh(this.energy.exportT2)}*kWh)`,
      `0-0:96.14.0(${int(this.tariff, 4)})`,
      `1-0:1.7.0(${kw(this.powerImportW)}*kW)`,
      `1-0:2.7.0(${kw(this.powerExportW)}*kW)`,
      `0-0:96.7.21(${int(this.failures, 5)})`,
      `0-0:96.7.9(${int(this.longFailures.length, 5)})`,
      `1-0:99.97.0(${this.longFailures.length})(0-0:96.7.19)${log}`,
      `1-0:32.32.0(${int(this.sags[0], 5)})`,
      `1-0:52.32.0(${int(this.sags[1], 5)})`,
      `1-0:72.32.0(${int(this.sags[2], 5)})`,
      `1-0:32.36.0(${int(this.swells[0], 5)})`,
      `1-0:52.36.0(${int(this.swells[1], 5)})`,
      `1-0:72.36.0(${int(this.swells[2], 5)})`,
      '0-0:96.13.0()',
      `1-0:32.7.0(${fixed(this.voltages[0], 3, 1, 'round')}*V)`,
      `1-0:52.7.0(${fixed(this.voltages[1], 3, 1, 'round')}*V)`,
      `1-0:72.7.0(${fixed(this.voltages[2], 3, 1, 'round')}*V)`,
      `1-0:31.7.0(${amps(0)}*A)`,
      `1-0:51.7.0(${amps(1)}*A)`,
      `1-0:71.7.0(${amps(2)}*A)`,
      `1-0:21.7.0(${phaseImport(0)}*kW)`,
      `1-0:41.7.0(${phaseImport(1)}*kW)`,
      `1-0:61.7.0(${phaseImport(2)}*kW)`,
      `1-0:22.7.0(${phaseExport(0)}*kW)`,
      `1-0:42.7.0(${phaseExport(1)}*kW)`,
      `1-0:62.7.0(${phaseExport(2)}*kW)`,
      '0-1:24.1.0(003)',
      `0-1:96.1.0(${this.gasId})`,
      `0-1:24.2.1(${formatMeterTime(this.gasReport.timeMs, true)})(${fixed(this.gasReport.value, 5, 3)}*m3)`,
      '!',
    ];
    const body = lines.join('\r\n');
    return `${body}${formatCrc(crc16OfText(body))}\r\n`;
  }

  private formatV22(): string {
    const kwh = (wms: number): string => units(Math.floor(wms / 3_600_000), 5, 3);
    const kw = (w: number): string => units(Math.round(w / 10), 4, 2);
    const lines = [
      '/SIM5P1LOGGER-DSMR22',
      '',
      `0-0:96.1.1(${this.equipmentId})`,
      `1-0:1.8.1(${kwh(this.energy.importT1)}*kWh)`,
      `1-0:1.8.2(${kwh(this.energy.importT2)}*kWh)`,
      `1-0:2.8.1(${kwh(this.energy.exportT1)}*kWh)`,
      `1-0:2.8.2(${kwh(this.energy.exportT2)}*kWh)`,
      `0-0:96.14.0(${int(this.tariff, 4)})`,
      `1-0:1.7.0(${kw(this.powerImportW)}*kW)`,
      `1-0:2.7.0(${kw(this.powerExportW)}*kW)`,
      '0-0:17.0.0(999*A)',
      '0-0:96.3.10(1)',
      '0-0:96.13.1()',
      '0-0:96.13.0()',
      '0-1:24.1.0(3)',
      `0-1:96.1.0(${this.gasId})`,
      `0-1:24.3.0(${formatMeterTime(this.gasReport.timeMs, false)})(00)(60)(1)(0-1:24.2.1)(m3)`,
      `(${fixed(this.gasReport.value, 5, 3)})`,
      '0-1:24.4.0(1)',
      '!',
      '',
    ];
    return lines.join('\r\n');
  }
}

/** Low tariff (1): 23:00-07:00 on weekdays and all weekend, as Dutch grid operators switch it. */
function isLowTariff(t: LocalClock): boolean {
  return t.weekday === 0 || t.weekday === 6 || t.hour >= 23 || t.hour < 7;
}

function inWindow(hour: number, from: number, to: number): boolean {
  return hour >= from && hour < to;
}

function stageAt(a: Appliance, now: number): Stage {
  let elapsed = (now - a.startedMs) / 60_000;
  for (const stage of a.stages) {
    if (elapsed < stage.minutes) return stage;
    elapsed -= stage.minutes;
  }
  return a.stages[a.stages.length - 1]!;
}

/** Sun above Utrecht-ish: sine of the solar elevation (0 at night), from the day of year and the hour. */
function clearSky(utcMs: number): number {
  const dayOfYear = Math.floor((utcMs - Date.UTC(new Date(utcMs).getUTCFullYear(), 0, 1)) / 86_400_000) + 1;
  const declination = ((23.44 * Math.PI) / 180) * Math.sin((2 * Math.PI * (284 + dayOfYear)) / 365);
  const solarHour = ((utcMs / 3_600_000) % 24) + LONGITUDE_HOURS;
  const hourAngle = ((15 * Math.PI) / 180) * (solarHour - 12);
  const sinElevation =
    Math.sin(LATITUDE) * Math.sin(declination) + Math.cos(LATITUDE) * Math.cos(declination) * Math.cos(hourAngle);
  return sinElevation <= 0 ? 0 : sinElevation ** 1.15;
}

/** Central heating: gas in proportion to how far the outside temperature is below 18 °C; night setback. */
function heatingM3h(utcMs: number, local: LocalClock): number {
  const dayOfYear = Math.floor((utcMs - Date.UTC(local.year, 0, 1)) / 86_400_000) + 1;
  const outside = 10 - 8 * Math.cos((2 * Math.PI * (dayOfYear - 20)) / 365) + 3 * Math.sin((2 * Math.PI * (local.hourOfDay - 9)) / 24);
  const demand = Math.max(0, 18 - outside) * 0.055;
  const setback = local.hour >= 23 || local.hour < 6 ? 0.4 : 1;
  return demand * setback;
}

function gaussian(random: () => number): number {
  return (random() + random() + random() - 1.5) * 2;
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

/** Zero-padded fixed-point text as meters write it; counters are truncated (a meter never shows a future Wh). */
function fixed(value: number, intDigits: number, decimals: number, mode: 'floor' | 'round' = 'floor'): string {
  const scale = 10 ** decimals;
  return units(mode === 'floor' ? Math.floor(value * scale + 1e-7) : Math.round(value * scale), intDigits, decimals);
}

/** A whole number of the last digit's units (Wh, W, 10 W) as zero-padded fixed-point text. */
function units(count: number, intDigits: number, decimals: number): string {
  const scale = 10 ** decimals;
  const whole = Math.floor(count / scale);
  const frac = String(count - whole * scale).padStart(decimals, '0');
  return `${String(whole).padStart(intDigits, '0')}.${frac}`;
}

function int(value: number, digits: number): string {
  return String(value).padStart(digits, '0');
}

function hex(text: string): string {
  return Buffer.from(text, 'latin1').toString('hex').toUpperCase();
}
