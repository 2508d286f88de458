import { SubjectError } from '../errors.js';

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

function specError(spec: string, part: string, problem: string): SubjectError {
  return new SubjectError('P1_SINK_SPEC', `sink "${redactUrl(spec)}"`, `${part}: ${problem}`, { hint: `allowed: ${SINK_SPEC_FORMS}` });
}

/** decodeURIComponent that keeps text it cannot decode (a raw "%" in a password) instead of throwing. */
function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Parses a `--sink` spec. Errors are P1_SINK_SPEC naming the part that is wrong; credentials never appear in them. */
export function parseSinkSpec(spec: string): SinkSpec {
  const colon = spec.indexOf(':');
  const kind = colon === -1 ? '' : spec.slice(0, colon);
  if (kind !== 'influxdb' && kind !== 'influxdb-v1' && kind !== 'cosm' && kind !== 'mqtt' && kind !== 'mqtts') {
    throw specError(spec, 'kind', `"${redactUrl(colon === -1 ? spec : kind)}" is not a sink kind; expected influxdb, influxdb-v1, cosm, mqtt or mqtts`);
  }
  // The URL parser drops tabs and line breaks silently: a pasted line break would change the URL unseen.
  if (/\s/.test(spec)) {
    throw specError(spec, 'URL', "contains whitespace (a space, tab or line break); percent-encode it (%20), or give the password in the sink's password setting or its environment variable");
  }
  if (kind === 'mqtt' || kind === 'mqtts') return parseMqttSpec(spec);
  let url: URL;
  try {
    url = new URL(spec.slice(colon + 1));
  } catch {
    throw specError(spec, 'URL', 'not a URL (expected http://HOST[:PORT][/PATH] or https://...)');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw specError(spec, 'URL', `scheme "${url.protocol.replace(/:$/, '')}" is not supported (expected http or https)`);
  }
  // A raw "/", "?", "#" or "\\" in a password ends the URL's user info early: the rest would be read as host, path
  // or query (and echoed in messages as such). Every "@" must be the one before the host.
  const at = spec.lastIndexOf('@');
  if (at !== -1 && !spec.slice(at + 1).toLowerCase().startsWith(url.host)) {
    throw specError(spec, 'URL', 'an "@" that does not end the user info: percent-encode "@", "/", "?", "#" and "\\" in a user name or password (or give them in INFLUX_USERNAME / INFLUX_PASSWORD)');
  }
  if (url.hash !== '') throw specError(spec, 'URL', 'a "#fragment" has no meaning here');
  const params = url.searchParams;
  const base = `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;

  if (kind === 'cosm') {
    if (url.username !== '' || url.password !== '') throw specError(spec, 'URL', 'credentials in the URL: put the API key in COSM_API_KEY instead');
    const match = /^(.*)\/v2\/feeds\/([^/]+?)(?:\.json)?\/?$/.exec(url.pathname);
    if (match === null) throw specError(spec, 'path', `"${url.pathname}" does not end in /v2/feeds/FEED_ID`);
    const feed = decode(match[2]!);
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
  if (url.username !== '') out.username = decode(url.username);
  if (url.password !== '') out.password = decode(url.password);
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

/** Where the user info of a URL or spec is: from "//" (or the kind's ":") to the last "@"; null when it has none. */
function userInfoSpan(text: string): { start: number; at: number } | null {
  const slashes = text.indexOf('//');
  const start = slashes !== -1 ? slashes + 2 : text.indexOf(':') + 1;
  const at = text.lastIndexOf('@');
  return at >= start ? { start, at } : null;
}

/**
 * A URL or spec as it may be shown (logs, errors, `config check`, status): user info and secret-looking parameters
 * masked, and nothing after the first whitespace (what was pasted after a URL may be anything). User info is
 * everything up to the last "@", whatever the password holds: a raw "@", "/", "#", "?" or a line break ends it
 * nowhere else. An "@" in a query masks the host too: too much, never too little.
 */
export function redactUrl(text: string): string {
  const span = userInfoSpan(text);
  let out = span === null ? text : `${text.slice(0, span.start)}***${text.slice(span.at)}`;
  out = out.replace(/([?&](?:p|password|token|key|api_key|apikey|u)=)[^&]*/gi, '$1***');
  const space = out.search(/\s/);
  return space === -1 ? out : `${out.slice(0, space)}...`;
}

/** A valid spec (parseSinkSpec accepted it) without its user info: `influxdb-v1:http://u:p@host` -> `influxdb-v1:http://host`. */
export function withoutUserInfo(spec: string): string {
  const span = userInfoSpan(spec);
  return span === null ? spec : `${spec.slice(0, span.start)}${spec.slice(span.at + 1)}`;
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
