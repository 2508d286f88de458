/* global document, window, fetch, EventSource, uPlot, setInterval, setTimeout */
// The status page: plain browser JavaScript, no build step. Reads /api/power (history), /api/live (SSE, one event
// per telegram), /api/status every 5 s and /api/energy every minute. Exposes its state as window.p1logger for tests.
'use strict';

const WINDOW_S = 3600;
const state = {
  chart: null,
  data: [[], [], []],
  ageBase: null,
  ageAt: 0,
  live: false,
};
window.p1logger = state;

function $(id) {
  return document.getElementById(id);
}

function fixed(value, digits) {
  return value === null || value === undefined ? '–' : value.toFixed(digits);
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

function localTime(iso) {
  return iso === null || iso === undefined ? '–' : new Date(iso).toLocaleString();
}

async function getJson(path) {
  const res = await fetch(path, { cache: 'no-store' });
  if (!res.ok) throw new Error(path + ': HTTP ' + res.status);
  return res.json();
}

// --- live power graph -------------------------------------------------------------------------------------------

function makeChart() {
  const el = $('chart');
  const opts = {
    width: Math.max(300, el.clientWidth),
    height: 260,
    scales: { x: { time: true } },
    series: [
      {},
      { label: 'Import (kW)', stroke: '#d9480f', fill: 'rgba(217, 72, 15, 0.08)', width: 1.5, value: (u, v) => fixed(v, 3) },
      { label: 'Export (kW)', stroke: '#2b8a3e', fill: 'rgba(43, 138, 62, 0.08)', width: 1.5, value: (u, v) => fixed(v, 3) },
    ],
    axes: [{}, { label: 'kW' }],
  };
  state.chart = new uPlot(opts, state.data, el);
  window.addEventListener('resize', () => state.chart.setSize({ width: Math.max(300, el.clientWidth), height: 260 }));
}

function showNow(point) {
  $('import-kw').textContent = fixed(point.importKw, 3);
  $('export-kw').textContent = fixed(point.exportKw, 3);
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

async function loadHistory() {
  const { points } = await getJson('/api/power?minutes=60');
  state.data = [points.map((p) => p[0] / 1000), points.map((p) => p[1]), points.map((p) => p[2])];
  state.chart.setData(state.data);
  const last = points[points.length - 1];
  if (last) showNow({ t: last[0], importKw: last[1], exportKw: last[2] });
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
      setInterval(() => loadHistory().catch(() => undefined), 10000);
    }
  });
}

// --- status, sinks, energy ---------------------------------------------------------------------------------------

function renderAge() {
  $('last-age').textContent = state.ageBase === null ? 'none yet' : duration(state.ageBase + (Date.now() - state.ageAt) / 1000) + ' ago';
}

function cell(tr, text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  tr.appendChild(td);
}

function renderSinks(sinks) {
  const body = document.querySelector('#sinks tbody');
  body.replaceChildren();
  for (const s of sinks) {
    const tr = document.createElement('tr');
    tr.dataset.sink = s.name;
    cell(tr, s.name);
    cell(tr, s.state, 'state-' + s.state);
    cell(tr, String(s.lagRecords));
    cell(tr, duration(s.lagSeconds));
    cell(tr, String(s.retries));
    cell(tr, String(s.deadLetters));
    cell(tr, String(s.dropped));
    if (s.droppedByReason) tr.lastChild.title = Object.entries(s.droppedByReason).map(([reason, n]) => reason + ' ' + n).join(', ');
    cell(tr, String(s.skipped));
    cell(tr, s.lastError || '', 'error');
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
  $('crc-rate').textContent = r.crcErrorRate === null ? '–' : (r.crcErrorRate * 100).toFixed(2) + ' %';
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

function renderEnergy(e) {
  for (const [id, totals] of [['energy-day', e.day], ['energy-month', e.month]]) {
    for (const td of document.querySelectorAll('#' + id + ' td')) td.textContent = fixed(totals[td.dataset.field], 3);
  }
  const since = e.month.from && Date.parse(e.month.from) > Date.parse(e.monthStart) ? ' This month counts from ' + localTime(e.month.from) + ', the oldest telegram kept.' : '';
  $('energy-note').textContent = 'Meter readings in ' + e.timeZone + ' time; latest ' + localTime(e.day.to) + '.' + since;
}

function refresh(path, render, everyMs) {
  const run = () =>
    getJson(path)
      .then(render)
      .catch(() => undefined)
      .finally(() => setTimeout(run, everyMs));
  return run();
}

function start() {
  makeChart();
  loadHistory()
    .catch(() => undefined)
    .finally(startLive);
  refresh('/api/status', renderStatus, 5000);
  refresh('/api/energy', renderEnergy, 60000);
  setInterval(renderAge, 1000);
}

start();
