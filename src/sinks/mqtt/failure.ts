import { networkFailure, scrub, SinkError } from '../sink.js';
import type { SinkErrorCode } from '../classify.js';

interface Refusal {
  code: SinkErrorCode;
  hint: string;
}

const CREDENTIALS: Refusal = {
  code: 'P1_SINK_AUTH',
  hint: "check the sink's username and password (MQTT_USERNAME, MQTT_PASSWORD) and the broker's ACL; retrying slowly",
};
const SETTINGS: Refusal = {
  code: 'P1_SINK_NOT_FOUND',
  hint: "check the sink's mqtt.protocol, mqtt.clientId and mqtt.topic against what the broker admits; retrying slowly",
};
const RETRY: Refusal = { code: 'P1_SINK_UNAVAILABLE', hint: 'will retry with backoff' };
const TOO_LARGE: Refusal = { code: 'P1_SINK_REJECTED', hint: 'the broker refuses this message; the record is parked as a dead letter' };
const UNTRUSTED: Refusal = {
  code: 'P1_SINK_AUTH',
  hint: "the broker's TLS certificate is not trusted: give its CA in the sink's ca (or MQTT_CA_FILE), or check the host name; retrying slowly",
};

/**
 * The one table from what a broker answers to what happens next (MQTT 3.1.1 CONNACK return codes 1-5, MQTT 5
 * reason codes 0x80 and up, in CONNACK, PUBACK and DISCONNECT). Credentials and settings stop the sink loudly
 * (failing, retried slowly); a message too large for the broker is refused alone (parked after the batch is
 * split); anything else is retried with backoff, so nothing is parked on a broker's bad day.
 */
const REASON_CODES: ReadonlyMap<number, Refusal> = new Map([
  [1, SETTINGS], // unacceptable protocol version
  [2, SETTINGS], // identifier rejected
  [4, CREDENTIALS], // bad username or password
  [5, CREDENTIALS], // not authorized
  [0x84, SETTINGS], // unsupported protocol version
  [0x85, SETTINGS], // client identifier not valid
  [0x86, CREDENTIALS], // bad user name or password
  [0x87, CREDENTIALS], // not authorized (also: the ACL refuses the topic)
  [0x8a, CREDENTIALS], // banned
  [0x8c, CREDENTIALS], // bad authentication method
  [0x8f, SETTINGS], // topic filter invalid
  [0x90, SETTINGS], // topic name invalid
  [0x95, TOO_LARGE], // packet too large
  [0x99, TOO_LARGE], // payload format invalid
]);

/** TLS verification failures (Node's error codes): the broker is reachable but not the one we trust. */
const TLS_CODES: ReadonlySet<string> = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

export function refusalOf(reasonCode: number): Refusal {
  return REASON_CODES.get(reasonCode) ?? RETRY;
}

/**
 * Any failure of the broker or of the way to it -> SinkError. mqtt.js gives reason codes as a numeric `code`, Node
 * gives network and TLS failures as a string `code`. The message names the sink and the broker's words, never a
 * secret (mqtt.js's errors carry no credentials, and `cause` is left out all the same).
 */
export function mqttFailure(description: string, error: unknown, secrets: readonly (string | undefined)[]): SinkError {
  const code = (error as { code?: unknown } | null)?.code;
  const message = scrub(error instanceof Error ? error.message : String(error), secrets);
  if (typeof code === 'number') {
    const refusal = refusalOf(code);
    const reason = `${message} (reason code ${code})`;
    return new SinkError(refusal.code, `${description}: ${reason} (${refusal.hint})`, { reason });
  }
  if (typeof code === 'string' && TLS_CODES.has(code)) {
    const reason = `${code}: ${message}`;
    return new SinkError(UNTRUSTED.code, `${description}: ${reason} (${UNTRUSTED.hint})`, { reason });
  }
  return networkFailure(description, error, secrets);
}

/** Something the broker did not do in time (CONNACK, PUBACK): retried with backoff. */
export function timeoutFailure(description: string, what: string, timeoutMs: number): SinkError {
  const reason = `no ${what} within ${timeoutMs} ms`;
  return new SinkError('P1_SINK_UNAVAILABLE', `${description}: ${reason} (${RETRY.hint})`, { reason });
}

/** The connection went away while messages waited for their PUBACK. */
export function connectionLost(description: string, cause: string): SinkError {
  const reason = `connection to the broker lost: ${cause}`;
  return new SinkError('P1_SINK_UNAVAILABLE', `${description}: ${reason} (${RETRY.hint})`, { reason });
}
