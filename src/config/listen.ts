/** A TCP listen address as configured: `HOST:PORT`, `[IPv6]:PORT`. Pure. */
export interface ListenAddress {
  host: string;
  port: number;
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*$/;
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const IPV6 = /^[0-9A-Fa-f:.]+$/;

/** Parses `HOST:PORT` (port 0 = any free port); null when it is not one. */
export function parseListen(text: string): ListenAddress | null {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim());
  if (match === null) return null;
  const host = match[1] ?? match[2] ?? '';
  const port = Number(match[3]);
  if (port > 65535) return null;
  if (match[1] !== undefined ? !(IPV6.test(host) && host.includes(':')) : !(IPV4.test(host) || HOSTNAME.test(host))) {
    return null;
  }
  return { host, port };
}

/**
 * True when only this machine can connect: 127.0.0.0/8, ::1 or localhost. Anything else exposes the page and
 * the metrics (meter readings, household patterns) to the network, which must be a deliberate choice.
 */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * The start-up warning for a server (`http.listen`, `relay.listen`) bound where other machines can reach it, or
 * null on loopback. Nothing p1logger serves has authentication.
 */
export function exposureWarning(key: string, value: string, what: string): string | null {
  const address = parseListen(value);
  if (address === null || isLoopback(address.host)) return null;
  return (
    `${key} ${value} is reachable from other machines: anyone on that network can read ${what} ` +
    '(no authentication); keep 127.0.0.1 unless that is what you want'
  );
}
