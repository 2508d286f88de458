import { z } from 'zod';
import type { FieldMeta } from './schema.js';

/**
 * The configuration of the history, its costs and the page (`history`, `tariffs`, `ui`): part of the one schema in
 * schema.ts, kept here so that it reads as one piece.
 */

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function isDate(text: string): boolean {
  const m = DATE.exec(text);
  if (m === null) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return month >= 1 && month <= 12 && day >= 1 && day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function isCurrency(code: string): boolean {
  try {
    new Intl.NumberFormat('en', { style: 'currency', currency: code });
    return /^[A-Z]{3}$/.test(code);
  } catch {
    return false;
  }
}

function isLocale(tag: string): boolean {
  try {
    return Intl.DateTimeFormat.supportedLocalesOf([tag]).length === 1;
  } catch {
    return false;
  }
}

const PRICE_ALLOWED = 'a number (per unit, in the currency; may be negative)';
const price = (description: string): z.ZodOptional<z.ZodNumber> =>
  z.number().min(-1000).max(1000).optional().meta({ description, allowed: PRICE_ALLOWED } satisfies FieldMeta);
const from = z
  .string()
  .refine(isDate, { error: 'not a date' })
  .meta({ description: 'First local day (in `timeZone`) this price applies to; it applies until the next entry\'s `from`.', allowed: 'a date YYYY-MM-DD (quote it in YAML or not)' } satisfies FieldMeta);

/** A price per tariff from a date: `price` for both, or `t1` and `t2`. */
function perTariffEntry(what: string) {
  const allowed = 'either price, or both t1 and t2';
  return z
    .strictObject({
      from,
      price: price(`${what} for both tariffs (a single-rate contract).`),
      t1: price(`${what} in tariff 1 (1-0:1.8.1 / 2.8.1: "low" on Dutch meters).`),
      t2: price(`${what} in tariff 2 (1-0:1.8.2 / 2.8.2: "normal" on Dutch meters).`),
    })
    .superRefine((e, ctx) => {
      if (e.price !== undefined && (e.t1 !== undefined || e.t2 !== undefined)) {
        ctx.addIssue({ code: 'custom', path: [e.t1 !== undefined ? 't1' : 't2'], input: e.t1 ?? e.t2, message: 'given together with price', params: { allowed } });
      } else if (e.price === undefined) {
        for (const key of ['t1', 't2'] as const) if (e[key] === undefined) ctx.addIssue({ code: 'custom', path: [key], input: undefined, message: 'missing', params: { allowed } });
      }
    });
}

/** One price from a date. */
function singleEntry(what: string) {
  return z.strictObject({ from, price: z.number().min(-1000).max(1000).meta({ description: what, allowed: PRICE_ALLOWED } satisfies FieldMeta) });
}

function priceList<T extends z.ZodType<{ from: string }>>(entry: T, description: string, allowed: string) {
  return z
    .array(entry)
    .default([])
    .superRefine((list, ctx) => {
      const seen = new Set<string>();
      list.forEach((e, i) => {
        if (seen.has(e.from)) ctx.addIssue({ code: 'custom', path: [i, 'from'], input: e.from, message: 'the same date twice', params: { allowed: 'a date no other entry of this list has' } });
        seen.add(e.from);
      });
    })
    .meta({ description, allowed } satisfies FieldMeta);
}

const PER_TARIFF_LIST = 'a list of { from: YYYY-MM-DD, price } or { from, t1, t2 } entries';
const SINGLE_LIST = 'a list of { from: YYYY-MM-DD, price } entries';

export const tariffsSchema = z
  .strictObject({
    currency: z.string().refine(isCurrency, { error: 'not an ISO 4217 currency code' }).default('EUR').meta({
      description: 'Currency of the prices (shown on the page and in `p1logger history`).',
      allowed: 'an ISO 4217 code such as EUR',
    } satisfies FieldMeta),
    import: priceList(perTariffEntry('Price per kWh imported'), 'Electricity prices per kWh (all-in: energy tax and VAT included), each from a date.', PER_TARIFF_LIST),
    export: priceList(perTariffEntry('Compensation per kWh exported'), 'What a kWh returned to the grid earns, each from a date.', PER_TARIFF_LIST),
    gas: priceList(singleEntry('Price per m3 of gas.'), 'Gas prices per m3, each from a date.', SINGLE_LIST),
    fixedPerDay: priceList(singleEntry('Fixed costs per day.'), 'Fixed costs per day (standing charges, grid fees, minus a tax credit), each from a date.', SINGLE_LIST),
  })
  .prefault({});

export const uiSchema = z
  .strictObject({
    locale: z.string().refine(isLocale, { error: 'not a locale this Node.js knows' }).default('nl-NL').meta({
      description: 'Language and number/date style of the page (always the 24-hour clock, times in `timeZone`).',
      allowed: 'a BCP 47 locale such as nl-NL, en-GB, de-DE, fr-BE',
    } satisfies FieldMeta),
    tariffNames: z
      .strictObject({
        t1: z.string().min(1).max(24).default('low').meta({ description: 'Label of tariff 1 (1-0:1.8.1); Belgian meters count the day tariff here.', allowed: '1-24 characters' } satisfies FieldMeta),
        t2: z.string().min(1).max(24).default('normal').meta({ description: 'Label of tariff 2 (1-0:1.8.2).', allowed: '1-24 characters' } satisfies FieldMeta),
      })
      .prefault({}),
  })
  .prefault({});

export const historySchema = z
  .strictObject({
    maxAgeDays: z.number().positive().max(36_500).optional().meta({
      description: 'Hour and day rows older than this are removed. Default: kept forever (a year of hours takes about 1 MB, see "History and costs").',
      allowed: 'a number of days greater than 0',
    } satisfies FieldMeta),
  })
  .prefault({});

export type TariffsConfig = z.output<typeof tariffsSchema>;
export type UiConfig = z.output<typeof uiSchema>;
