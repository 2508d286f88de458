/* global document, window, fetch, EventSource, uPlot, setInterval, setTimeout, clearTimeout */
// The dashboard: plain browser JavaScript, no build step. Reads /api/ui (zone, locale, labels) first, then
// /api/power and /api/live (SSE, one event per telegram) for the live part, /api/history for the energy figures and
// bar charts (every minute), and /api/status every 5 s. Times are shown in the configured zone with a 24-hour clock.
// Exposes its state as window.p1logger for tests.
'use strict';

const WINDOW_S = 3600;
const COLORS = { t1: '#1c7ed6', t2: '#d9480f', export: '#2b8a3e', gas: '#ae3ec9', lastImport: '#adb5bd', lastExport: '#ced4da', lastGas: '#e599f7' };
const state = {
  ui: null,
  chart: null,
  data: [[], [], []],
  charts: {},
  history: { hours: null, days: null, months: null },
  daysMode: 'month',
  ageBase: null,
  ageAt: 0,
  live: false,
};
window.p1logger = state;

function $(id) {
  return document.getElementById(id);
}

// --- formatting in the configured locale and zone ----------------------------------------------------------------

const formats = {};
function numberFormat(digits) {
  const key = 'n' + digits;
  formats[key] ??= new Intl.NumberFormat(state.ui ? state.ui.locale : 'nl-NL', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  return formats[key];
}
function num(value, digits) {
  return value === null || value === undefined ? '–' : numberFormat(digits).format(value);
}
function money(value) {
  if (value === null || value === undefined || !state.ui || !state.ui.currency) return '–';
  formats.money ??= new Intl.NumberFormat(state.ui.locale, { style: 'currency', currency: state.ui.currency });
  return formats.money.format(value);
}
function timeFormat(name, options) {
  formats[name] ??= new Intl.DateTimeFormat(state.ui ? state.ui.locale : 'nl-NL', { timeZone: state.ui ? state.ui.timeZone : undefined, hourCycle: 'h23', ...options });
  return formats[name];
}
function localTime(iso) {
  return iso === null || iso === undefined ? '–' : timeFormat('full', { dateStyle: 'medium', timeStyle: 'medium' }).format(new Date(iso));
}
function clock(ms) {
  return timeFormat('clock', { hour: '2-digit', minute: '2-digit' }).format(new Date(ms));
}
function dayLabel(ms) {
  return timeFormat('day', { weekday: 'short', day: 'numeric', month: 'short' }).format(new Date(ms));
}
function monthLabel(ms) {
  return timeFormat('month', { month: 'short' }).format(new Date(ms));
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return '–';
  const s = Math.max(0, Math.round(seconds));
  if (s < 120) return s + ' s';
  if (s < 7200) return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
  if (s < 172800) return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
  return Math.floor(s / 86400) + ' d ' + Math.floor((s % 86400) / 3600) + ' h';
}

function bytes(n) {
  if (n === null || n === undefined) return '–';
  if (n < 1024) return n + ' B';
  if (n < 1048576) return (n / 1024).toFixed(1) + ' KiB';
  if (n < 1073741824) return (n / 1048576).toFixed(1) + ' MiB';
  return (n / 1073741824).toFixed(2) + ' GiB';
}

async function getJson(path) {
  const res = await fetch(path, { cache: 'no-store' });
  if (!res.ok) throw new Error(path + ': HTTP ' + res.status);
  return res.json();
}

/** `YYYY-MM-DD` plus n days (calendar arithmetic: no zone involved). */
function addDays(date, n) {
  const [y, m, d] = date.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

/** Axis labels with as many decimals as the step between them needs. */
function axisValues(u, splits) {
  const step = splits.length > 1 ? Math.abs(splits[1] - splits[0]) : 1;
  const digits = step >= 1 ? 0 : Math.min(3, Math.ceil(-Math.log10(step) - 1e-9));
  return splits.map((v) => num(v, digits));
}

function chartWidth(el) {
  return Math.max(240, el.clientWidth);
}

// --- live power graph and phases -----------------------------------------------------------------------------------

function makeChart() {
  const el = $('chart');
  const opts = {
    width: chartWidth(el),
    height: 240,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), state.ui.timeZone),
    scales: { x: { time: true } },
    series: [
      { value: (u, v) => (v === null ? '–' : clock(v * 1000)) },
      { label: 'Import (kW)', stroke: '#d9480f', fill: 'rgba(217, 72, 15, 0.08)', width: 1.5, value: (u, v) => num(v, 3) },
      { label: 'Export (kW)', stroke: '#2b8a3e', fill: 'rgba(43, 138, 62, 0.08)', width: 1.5, value: (u, v) => num(v, 3) },
    ],
    axes: [{ values: (u, splits) => splits.map((s) => clock(s * 1000)) }, { label: 'kW', values: axisValues }],
  };
  state.chart = new uPlot(opts, state.data, el);
}

function showNow(point) {
  $('import-kw').textContent = num(point.importKw, 3);
  $('export-kw').textContent = num(point.exportKw, 3);
  if (!point.phases) return;
  point.phases.forEach((p, i) => {
    const card = document.querySelector('#phases [data-phase="' + i + '"]');
    if (!card) return;
    const net = p.importKw === null && p.exportKw === null ? null : (p.importKw || 0) - (p.exportKw || 0);
    card.querySelector('[data-field="power"]').textContent = net === null ? '–' : num(net, 3) + ' kW';
    card.querySelector('[data-field="voltage"]').textContent = p.voltage === null ? '– V' : num(p.voltage, 1) + ' V';
    card.querySelector('[data-field="current"]').textContent = p.current === null ? '– A' : num(p.current, 0) + ' A';
  });
}

function addPoint(point) {
  const [xs, imp, exp] = state.data;
  const x = point.t / 1000;
  // Telegrams arrive in order; a point older than the last one (a replay) is dropped, not sorted in.
  if (xs.length > 0 && x <= xs[xs.length - 1]) return;
  xs.push(x);
  imp.push(point.importKw);
  exp.push(point.exportKw);
  const cutoff = x - WINDOW_S;
  let drop = 0;
  while (drop < xs.length && xs[drop] < cutoff) drop++;
  if (drop > 0) for (const column of state.data) column.splice(0, drop);
  state.chart.setData(state.data);
  showNow(point);
}

async function loadPower() {
  const { points, latest } = await getJson('/api/power?minutes=60');
  state.data = [points.map((p) => p[0] / 1000), points.map((p) => p[1]), points.map((p) => p[2])];
  state.chart.setData(state.data);
  if (latest) showNow(latest);
}

function startLive() {
  const source = new EventSource('/api/live');
  source.addEventListener('open', () => {
    state.live = true;
  });
  source.addEventListener('power', (event) => {
    addPoint(JSON.parse(event.data));
    state.ageBase = 0;
    state.ageAt = Date.now();
    renderAge();
  });
  source.addEventListener('error', () => {
    // A closed stream (server without live feed, or restarted) falls back to polling the history.
    if (source.readyState === EventSource.CLOSED) {
      state.live = false;
      setInterval(() => loadPower().catch(() => undefined), 10000);
    }
  });
}

// --- energy figures and bar charts -----------------------------------------------------------------------------------

function names() {
  return state.ui.tariffNames;
}

/** The figures of one row as a sentence (what a tap on a bar shows). */
function describe(point) {
  if (!point) return 'No data.';
  const n = names();
  const parts = [
    'import ' + n.t1 + ' ' + num(point.importT1, 3) + ' kWh, ' + n.t2 + ' ' + num(point.importT2, 3) + ' kWh',
    'export ' + num(point.export, 3) + ' kWh',
  ];
  if (point.gas !== null) parts.push('gas ' + num(point.gas, 3) + ' m³');
  if (point.cost) parts.push('cost ' + money(point.cost.total));
  if (point.powerImportMax !== null) parts.push('peak ' + num(point.powerImportMax, 3) + ' kW');
  let text = parts.join('; ') + ' (' + point.telegrams + ' telegrams';
  if (point.gaps > 0) text += ', logger off ' + duration(point.gapSeconds) + ': ' + num(point.gapImport, 3) + ' kWh not in the hours';
  if (point.resets > 0) text += ', a counter reset';
  return text + ')';
}

function renderEnergy() {
  const n = names();
  const heads = { importT1: 'Import ' + n.t1 + ' (kWh)', importT2: 'Import ' + n.t2 + ' (kWh)', exportT1: 'Export ' + n.t1 + ' (kWh)', exportT2: 'Export ' + n.t2 + ' (kWh)', gas: 'Gas (m³)', cost: 'Cost' + (state.ui.currency ? ' (' + state.ui.currency + ')' : '') };
  for (const th of document.querySelectorAll('#energy thead th[data-col]')) th.textContent = heads[th.dataset.col];
  const days = state.history.days ? state.history.days.rows : [];
  const months = state.history.months ? state.history.months.rows : [];
  const today = state.ui.today;
  const rows = {
    'energy-day': days.find((r) => r.start.slice(0, 10) === today),
    'energy-yesterday': days.find((r) => r.start.slice(0, 10) === addDays(today, -1)),
    'energy-month': months.find((r) => r.start.slice(0, 7) === today.slice(0, 7)),
  };
  for (const [id, row] of Object.entries(rows)) {
    for (const td of document.querySelectorAll('#' + id + ' td')) {
      const field = td.dataset.field;
      td.dataset.label = heads[field];
      td.textContent = !row ? '–' : field === 'cost' ? money(row.cost ? row.cost.total : null) : num(row[field], 3);
    }
  }
  $('energy-note').textContent = 'Days from midnight to midnight in ' + state.ui.timeZone + ', from the meter\'s counters; updated ' + clock(Date.now()) + '.';
}

/**
 * A bar chart over slots (hours, days, months) with uPlot: `series` say how to get each bar's height from a slot,
 * on the kWh scale (import stacked by drawing the total first and tariff 1 over it; export below zero) or the gas
 * scale. A click or tap shows the slot's figures below the chart.
 */
function barChart(name, slots, series, detail) {
  const el = $('chart-' + name);
  const data = [slots.map((s, i) => i), ...series.map((s) => slots.map((slot) => s.value(slot)))];
  const old = state.charts[name];
  if (old) old.destroy();
  const bars = (s) => uPlot.paths.bars({ size: [s.size || 0.7, 64], align: s.align || 0 });
  const labelEvery = Math.max(1, Math.ceil(slots.length / Math.max(4, Math.floor(chartWidth(el) / 48))));
  const opts = {
    width: chartWidth(el),
    height: 220,
    legend: { live: false },
    cursor: { drag: { x: false, y: false }, points: { show: false } },
    scales: { x: { time: false, range: [-0.5, slots.length - 0.5] }, kwh: {}, gas: { range: (u, min, max) => [Math.min(0, min), Math.max(0.001, max) * 1.1] } },
    series: [
      {},
      ...series.map((s) => ({
        label: s.label,
        scale: s.scale,
        stroke: s.color,
        fill: s.line ? undefined : s.color,
        width: s.line ? 2 : 0,
        dash: s.dash,
        paths: s.line ? undefined : bars(s),
        points: { show: !!s.line, size: 5, fill: s.color },
        spanGaps: false,
      })),
    ],
    axes: [
      { space: 10, incrs: [1], values: (u, splits) => splits.map((i) => (i % labelEvery === 0 && slots[i] ? slots[i].label : '')), grid: { show: false } },
      { scale: 'kwh', label: 'kWh', values: axisValues, size: 50 },
      { scale: 'gas', side: 1, label: 'm³', values: axisValues, grid: { show: false }, size: 50 },
    ],
  };
  const chart = new uPlot(opts, data, el);
  chart.over.addEventListener('click', () => {
    const i = chart.cursor.idx;
    if (i !== null && i !== undefined && slots[i]) $('detail-' + name).textContent = detail(slots[i]);
  });
  state.charts[name] = chart;
}

const importTotal = (p) => (p ? p.importT1 + p.importT2 : null);
const energySeries = (key) => [
  { label: 'Import ' + names().t2, color: COLORS.t2, scale: 'kwh', align: -1, size: 0.45, value: (s) => importTotal(s[key]) },
  { label: 'Import ' + names().t1, color: COLORS.t1, scale: 'kwh', align: -1, size: 0.45, value: (s) => (s[key] ? s[key].importT1 : null) },
  { label: 'Export', color: COLORS.export, scale: 'kwh', align: -1, size: 0.45, value: (s) => (s[key] ? -s[key].export : null) },
  { label: 'Gas (m³)', color: COLORS.gas, scale: 'gas', align: 1, size: 0.45, value: (s) => (s[key] ? s[key].gas : null) },
];

function hourSlots() {
  const start = Date.parse(state.ui.todayStart);
  const end = Date.parse(state.ui.todayEnd);
  const byStart = new Map((state.history.hours ? state.history.hours.rows : []).map((r) => [Date.parse(r.start), r]));
  const slots = [];
  for (let t = start; t < end; t += 3600000) slots.push({ label: clock(t), t, point: byStart.get(t) || null });
  return slots;
}

function daySlots() {
  const today = state.ui.today;
  const first = state.daysMode === 'month' ? today.slice(0, 8) + '01' : addDays(today, -29);
  const [y, m] = today.split('-').map(Number);
  const last = state.daysMode === 'month' ? today.slice(0, 8) + String(new Date(Date.UTC(y, m, 0)).getUTCDate()).padStart(2, '0') : today;
  const byDate = new Map((state.history.days ? state.history.days.rows : []).map((r) => [r.start.slice(0, 10), r]));
  const slots = [];
  for (let d = first; d <= last; d = addDays(d, 1)) {
    const noon = Date.parse(d + 'T12:00:00Z');
    slots.push({ label: timeFormat('dom', { day: 'numeric', timeZone: 'UTC' }).format(noon), date: d, name: dayLabel(noon), point: byDate.get(d) || null });
  }
  return slots;
}

function monthSlots() {
  const year = Number(state.ui.today.slice(0, 4));
  const byMonth = new Map((state.history.months ? state.history.months.rows : []).map((r) => [r.start.slice(0, 7), r]));
  const slots = [];
  for (let m = 1; m <= 12; m++) {
    const mm = String(m).padStart(2, '0');
    slots.push({ label: monthLabel(Date.UTC(year, m - 1, 15)), month: mm, point: byMonth.get(year + '-' + mm) || null, last: byMonth.get(year - 1 + '-' + mm) || null });
  }
  return slots;
}

function renderCharts() {
  barChart('hours', hourSlots(), energySeries('point'), (s) => clock(s.t) + '–' + clock(s.t + 3600000) + ': ' + describe(s.point));
  barChart('days', daySlots(), energySeries('point'), (s) => s.name + ': ' + describe(s.point));
  const year = Number(state.ui.today.slice(0, 4));
  $('this-year').textContent = String(year);
  $('last-year').textContent = String(year - 1);
  barChart(
    'months',
    monthSlots(),
    [
      { label: 'Import ' + (year - 1), color: COLORS.lastImport, scale: 'kwh', align: -1, size: 0.4, value: (s) => importTotal(s.last) },
      { label: 'Export ' + (year - 1), color: COLORS.lastExport, scale: 'kwh', align: -1, size: 0.4, value: (s) => (s.last ? -s.last.export : null) },
      { label: 'Import ' + names().t2, color: COLORS.t2, scale: 'kwh', align: 1, size: 0.4, value: (s) => importTotal(s.point) },
      { label: 'Import ' + names().t1, color: COLORS.t1, scale: 'kwh', align: 1, size: 0.4, value: (s) => (s.point ? s.point.importT1 : null) },
      { label: 'Export', color: COLORS.export, scale: 'kwh', align: 1, size: 0.4, value: (s) => (s.point ? -s.point.export : null) },
      { label: 'Gas ' + (year - 1) + ' (m³)', color: COLORS.lastGas, scale: 'gas', line: true, dash: [4, 4], value: (s) => (s.last ? s.last.gas : null) },
      { label: 'Gas (m³)', color: COLORS.gas, scale: 'gas', line: true, value: (s) => (s.point ? s.point.gas : null) },
    ],
    (s) => s.label + ' ' + year + ': ' + describe(s.point) + ' — ' + (year - 1) + ': ' + describe(s.last),
  );
}

async function loadHistory() {
  state.ui = await getJson('/api/ui');
  const today = state.ui.today;
  const year = Number(today.slice(0, 4));
  const first = [today.slice(0, 8) + '01', addDays(today, -29), addDays(today, -1)].sort()[0];
  const q = (resolution, from, to) => '/api/history?resolution=' + resolution + '&from=' + encodeURIComponent(from) + '&to=' + encodeURIComponent(to);
  const [hours, days, months] = await Promise.all([
    getJson(q('hour', today, state.ui.todayEnd)),
    getJson(q('day', first, state.ui.todayEnd)),
    getJson(q('month', year - 1 + '-01', year + 1 + '-01')),
  ]);
  state.history = { hours, days, months };
  renderEnergy();
  renderCharts();
}

function setDaysMode(mode) {
  state.daysMode = mode;
  for (const b of document.querySelectorAll('#days-toggle button')) b.className = b.dataset.mode === mode ? 'on' : '';
  barChart('days', daySlots(), energySeries('point'), (s) => s.name + ': ' + describe(s.point));
}

// --- status, sinks -----------------------------------------------------------------------------------------------------

function renderAge() {
  $('last-age').textContent = state.ageBase === null ? 'none yet' : duration(state.ageBase + (Date.now() - state.ageAt) / 1000) + ' ago';
}

function cell(tr, text, label, className) {
  const td = document.createElement('td');
  td.textContent = text;
  td.dataset.label = label;
  if (className) td.className = className;
  tr.appendChild(td);
}

function renderSinks(sinks) {
  const body = document.querySelector('#sinks tbody');
  const labels = [...document.querySelectorAll('#sinks thead th')].map((th) => th.textContent);
  body.replaceChildren();
  for (const s of sinks) {
    const tr = document.createElement('tr');
    tr.dataset.sink = s.name;
    const values = [s.name, s.state, String(s.lagRecords), duration(s.lagSeconds), String(s.retries), String(s.deadLetters), String(s.dropped), String(s.skipped), s.lastError || ''];
    const classes = [undefined, 'state-' + s.state, undefined, undefined, undefined, undefined, undefined, undefined, 'error'];
    values.forEach((v, i) => cell(tr, v, labels[i], classes[i]));
    // The dropped count's reasons (age, size, free space, full disk) on hover.
    if (s.droppedByReason) tr.children[6].title = Object.entries(s.droppedByReason).map(([reason, n]) => reason + ' ' + n).join(', ');
    body.appendChild(tr);
  }
  $('sinks-note').textContent = sinks.length === 0 ? 'No sinks configured: telegrams are only stored locally.' : '';
}

function renderStatus(r) {
  const pill = $('health');
  pill.textContent = r.health.ok ? 'healthy' : 'unhealthy';
  pill.className = 'pill ' + (r.health.ok ? 'ok' : 'unhealthy');
  $('health-reasons').textContent = r.health.reasons.join('; ');
  state.ageBase = r.lastTelegramAgeSeconds;
  state.ageAt = Date.now();
  renderAge();
  $('crc-rate').textContent = r.crcErrorRate === null ? '–' : num(r.crcErrorRate * 100, 2) + ' %';
  $('crc-counts').textContent = r.framer.crcErrors + ' of ' + (r.framer.telegrams + r.framer.crcErrors) + ' telegrams';
  if (r.storage) {
    $('store-failed').textContent = String(r.storage.storeFailed);
    $('storage-note').textContent = 'disk full ' + r.storage.diskFullEvents + 'x; reserve ' + (r.storage.reserveBytes > 0 ? 'in place' : 'given back');
  }
  $('source').textContent = r.source.description + ' (' + r.source.state + ')';
  $('telegrams').textContent = r.framer.telegrams + ' ok, ' + r.framer.crcErrors + ' CRC errors, ' + r.framer.invalid + ' invalid, ' + r.framer.truncated + ' truncated';
  $('junk').textContent = String(r.framer.junkBytes);
  $('reconnects').textContent = String(r.source.reconnects);
  $('queue').textContent = r.queue.records + ' telegrams, ' + bytes(r.queue.bytesOnDisk) + ', since ' + localTime(r.queue.firstReceivedAt);
  $('process').textContent = 'up ' + duration(r.process.uptimeSeconds) + ', ' + bytes(r.process.rssBytes) + ' RSS';
  $('version').textContent = 'p1logger ' + r.version;
  renderSinks(r.sinks);
}

function refresh(load, everyMs) {
  const run = () =>
    load()
      .catch((error) => {
        state.lastError = String(error);
      })
      .finally(() => setTimeout(run, everyMs));
  return run();
}

function resize() {
  if (state.chart) state.chart.setSize({ width: chartWidth($('chart')), height: 240 });
  if (state.ui && state.history.hours) renderCharts();
}

async function start() {
  refresh(() => getJson('/api/status').then(renderStatus), 5000);
  setInterval(renderAge, 1000);
  for (const b of document.querySelectorAll('#days-toggle button')) b.addEventListener('click', () => setDaysMode(b.dataset.mode));
  let resizeTimer;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(resize, 150);
  });
  try {
    state.ui = await getJson('/api/ui');
  } catch {
    // A server without history: the live part still works, in the browser's zone.
    state.ui = { timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone, locale: 'nl-NL', tariffNames: { t1: 'low', t2: 'normal' }, currency: null, noHistory: true };
  }
  makeChart();
  loadPower()
    .catch(() => undefined)
    .finally(startLive);
  if (!state.ui.noHistory) refresh(loadHistory, 60000);
}

start();
