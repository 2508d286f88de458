import type { HistoryAnswer, HistoryPoint } from './view.js';

export type HistoryFormat = 'table' | 'csv' | 'json';
export const HISTORY_FORMATS: readonly HistoryFormat[] = ['table', 'csv', 'json'];

/** Columns of csv (all figures) and table (what fits a terminal). */
const CSV_COLUMNS: ReadonlyArray<keyof HistoryPoint> = [
  'start', 'end', 'hours', 'telegrams', 'importT1', 'importT2', 'import', 'exportT1', 'exportT2', 'export', 'gas', 'water',
  'powerImportAvg', 'powerImportMax', 'powerExportAvg', 'powerExportMax', 'currentMaxL1', 'currentMaxL2', 'currentMaxL3',
  'voltageMinL1', 'voltageMinL2', 'voltageMinL3', 'voltageMaxL1', 'voltageMaxL2', 'voltageMaxL3',
  'gaps', 'gapSeconds', 'gapImport', 'gapExport', 'resets',
];
const COST_COLUMNS = ['costImport', 'costExport', 'costGas', 'costFixed', 'costTotal'] as const;

function costCells(point: HistoryPoint): Array<number | null> {
  const c = point.cost;
  return c === null ? [null, null, null, null, null] : [c.import, c.export, c.gas, c.fixed, c.total];
}

function csvCell(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const fixed = (digits: number) => (value: number | null): string => (value === null ? '-' : value.toFixed(digits));

/** The answer as text: json (the API's), csv (every figure, one row per line) or an aligned table. Pure. */
export function formatHistory(answer: HistoryAnswer, format: HistoryFormat, labels: { t1: string; t2: string } = { t1: 'T1', t2: 'T2' }): string {
  if (format === 'json') return `${JSON.stringify(answer, null, 2)}\n`;
  const priced = answer.rows.some((r) => r.cost !== null);
  if (format === 'csv') {
    const header = [...CSV_COLUMNS, ...(priced ? COST_COLUMNS : [])].join(',');
    const lines = answer.rows.map((r) => [...CSV_COLUMNS.map((c) => r[c] as string | number | null), ...(priced ? costCells(r) : [])].map(csvCell).join(','));
    return `${[header, ...lines].join('\n')}\n`;
  }
  const kwh = fixed(3);
  const head = ['start', `import ${labels.t1}`, `import ${labels.t2}`, `export ${labels.t1}`, `export ${labels.t2}`, 'gas m3', 'peak kW', 'telegrams', 'gaps', ...(priced ? [`cost ${answer.currency ?? ''}`.trim()] : [])];
  const body = answer.rows.map((r) => [
    answer.resolution === 'hour' ? r.start.slice(0, 16).replace('T', ' ') : answer.resolution === 'day' ? r.start.slice(0, 10) : answer.resolution === 'month' ? r.start.slice(0, 7) : r.start.slice(0, 4),
    kwh(r.importT1),
    kwh(r.importT2),
    kwh(r.exportT1),
    kwh(r.exportT2),
    kwh(r.gas),
    kwh(r.powerImportMax),
    String(r.telegrams),
    r.resets > 0 ? `${r.gaps} (${r.resets} reset)` : String(r.gaps),
    ...(priced ? [fixed(2)(r.cost?.total ?? null)] : []),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  const note = `kWh, times in ${answer.timeZone}; ${answer.rows.length} ${answer.resolution === 'hour' ? 'hours' : `${answer.resolution}s`}`;
  return `${[line(head), ...body.map(line), note].join('\n')}\n`;
}
