import { P1Error } from '../errors.js';

/** `influxdb:URL?org=O&bucket=B`: the InfluxDB v2 write API (2.x, 3.x, Cloud, 1.8+, VictoriaMetrics). */
export interface InfluxV2Spec {
  kind: 'influxdb';
  /** Base URL without query, e.g. `http://127.0.0.1:8086`. */
  url: string;
  org: string;
  bucket: string;
}

/** `influxdb-v1:URL?db=D[&rp=R]`: the InfluxDB 1.x `/write` API. */
export interface InfluxV1Spec {
  kind: 'influxdb-v1';
  url: string;
  db: string;
  rp?: string;
  /** From `http://user:pass@host`, when the URL carries them (the environment is the better place). */
  username?: string;
  password?: string;
}

/** `cosm:URL/v2/feeds/FEED_ID`: a Pachube/Cosm/Xively API v2 compatible feed. */
export interface CosmSpec {
  kind: 'cosm';
  /** Everything before `/v2/feeds/`, e.g. `https://api.xively.com`. */
  url: string;
  feed: string;
}

/** `mqtt://HOST[:PORT]` or `mqtts://HOST[:PORT]` (TLS): an MQTT broker (Mosquitto, Home Assistant's add-on, ...). */
export interface MqttSpec {
  kind: 'mqtt';
  /** `mqtt://HOST:PORT` or `mqtts://HOST:PORT`, the port always written out (1883 and 8883 by default). */
  url: string;
  tls: boolean;
  host: string;
  port: number;
}

export type SinkSpec = InfluxV2Spec | InfluxV1Spec | CosmSpec | MqttSpec;

export const SINK_SPEC_FORMS = 'influxdb:URL?org=O&bucket=B | influxdb-v1:URL?db=D[&rp=R] | cosm:URL/v2/feeds/FEED_ID | mqtt[s]://HOST[:PORT]';

function specError(spec: string, part: string, problem: string): P1Error {
  return new P1Error('P1_SINK_SPEC', `sink "${redactUrl(spec)}": ${part}: ${problem} (allowed: ${SINK_SPEC_FORMS})`);
}

/** Parses a `--sink` spec. Errors are P1_SINK_SPEC naming the part that is wrong; credentials never appear in them. */
export function parseSinkSpec(spec: string): SinkSpec {
  const colon = spec.indexOf(':');
  const kind = colon === -1 ? '' : spec.slice(0, colon);
  if (kind === 'mqtt' || kind === 'mqtts') return parseMqttSpec(spec);
  if (kind !== 'influxdb' && kind !== 'influxdb-v1' && kind !== 'cosm') {
    throw specError(spec, 'kind', `"${colon === -1 ? spec : kind}" is not a sink kind; expected influxdb, influxdb-v1, cosm, mqtt or mqtts`);
  }
  let url: URL;
  try {
    url = new URL(spec.slice(colon + 1));
  } catch {
    throw specError(spec, 'URL', 'not a URL (expected http://HOST[:PORT][/PATH] or https://...)');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw specError(spec, 'URL', `scheme "${url.protocol.replace(/:$/, '')}" is not supported (expected http or https)`);
  }
  if (url.hash !== '') throw specError(spec, 'URL', 'a "#fragment" has no meaning here');
  const params = url.searchParams;
  const base = `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;

  if (kind === 'cosm') {
    if (url.username !== '' || url.password !== '') throw specError(spec, 'URL', 'credentials in the URL: put the API key in COSM_API_KEY instead');
    const match = /^(.*)\/v2\/feeds\/([^/]+?)(?:\.json)?\/?$/.exec(url.pathname);
    if (match === null) throw specError(spec, 'path', `"${url.pathname}" does not end in /v2/feeds/FEED_ID`);
    const feed = decodeURIComponent(match[2]!);
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(feed)) throw specError(spec, 'FEED_ID', `"${feed}" is not a feed id (letters, digits, "_" and "-")`);
    const extra = [...params.keys()];
    if (extra.length > 0) throw specError(spec, `parameter "${extra[0]!}"`, 'a cosm sink takes no parameters');
    return { kind, url: `${url.protocol}//${url.host}${match[1]!}`, feed };
  }

  if (kind === 'influxdb') {
    if (url.username !== '' || url.password !== '') throw specError(spec, 'URL', 'credentials in the URL: put the token in INFLUX_TOKEN instead');
    checkParams(spec, params, ['org', 'bucket']);
    const org = required(spec, params, 'org', 'the organization (InfluxDB 1.8 and VictoriaMetrics ignore it: any value, e.g. org=-)');
    const bucket = required(spec, params, 'bucket', 'the bucket (InfluxDB 1.8: DATABASE/RETENTION_POLICY)');
    return { kind, url: base, org, bucket };
  }

  checkParams(spec, params, ['db', 'rp']);
  const db = required(spec, params, 'db', 'the database');
  const out: InfluxV1Spec = { kind, url: base, db };
  const rp = params.get('rp');
  if (rp !== null) {
    if (rp === '') throw specError(spec, 'parameter "rp"', 'empty; leave it out for the default retention policy');
    out.rp = rp;
  }
  if (url.username !== '') out.username = decodeURIComponent(url.username);
  if (url.password !== '') out.password = decodeURIComponent(url.password);
  return out;
}

function parseMqttSpec(spec: string): MqttSpec {
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    throw specError(spec, 'URL', 'not a URL (expected mqtt://HOST[:PORT] or mqtts://HOST[:PORT])');
  }
  if (url.hostname === '') throw specError(spec, 'URL', 'no host (expected mqtt://HOST[:PORT])');
  if (url.username !== '' || url.password !== '') {
    throw specError(spec, 'URL', "credentials in the URL: put them in MQTT_USERNAME and MQTT_PASSWORD, or the sink's username and password");
  }
  if (url.pathname !== '' && url.pathname !== '/') throw specError(spec, 'path', `"${url.pathname}": an MQTT URL has no path (the topics are set with mqtt.topic)`);
  if (url.search !== '' || url.hash !== '') throw specError(spec, 'URL', 'an mqtt sink takes no parameters: its options go in the configuration file (mqtt: ...)');
  const tls = url.protocol === 'mqtts:';
  const port = url.port === '' ? (tls ? 8883 : 1883) : Number(url.port);
  return { kind: 'mqtt', url: `${url.protocol}//${url.host}${url.port === '' ? `:${port}` : ''}`, tls, host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port };
}

function checkParams(spec: string, params: URLSearchParams, allowed: string[]): void {
  for (const key of params.keys()) {
    if (!allowed.includes(key)) throw specError(spec, `parameter "${key}"`, `unknown; allowed: ${allowed.join(', ')}`);
  }
}

function required(spec: string, params: URLSearchParams, key: string, what: string): string {
  const value = params.get(key);
  if (value === null || value === '') throw specError(spec, `parameter "${key}"`, `missing: ?${key}= names ${what}`);
  return value;
}

/** A URL or spec as it may be logged: user info and secret-looking parameters masked. */
export function redactUrl(text: string): string {
  return text
    .replace(/(\/\/)[^/@\s]*@/, '$1***@')
    .replace(/([?&](?:p|password|token|key|api_key|apikey|u)=)[^&\s]*/gi, '$1***');
}

/** How a sink is named in logs and status: kind and URL, never credentials. */
export function describeSinkSpec(spec: SinkSpec): string {
  switch (spec.kind) {
    case 'influxdb':
      return `influxdb:${spec.url}?org=${spec.org}&bucket=${spec.bucket}`;
    case 'influxdb-v1':
      return `influxdb-v1:${spec.url}?db=${spec.db}${spec.rp === undefined ? '' : `&rp=${spec.rp}`}`;
    case 'cosm':
      return `cosm:${spec.url}/v2/feeds/${spec.feed}`;
    case 'mqtt':
      return spec.url;
  }
}
