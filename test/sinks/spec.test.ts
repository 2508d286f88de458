import { describe, expect, it } from 'vitest';
import { isP1Error } from '../../src/errors.js';
import { describeSinkSpec, parseSinkSpec, redactUrl } from '../../src/sinks/spec.js';

describe('parseSinkSpec', () => {
  it.each([
    ['influxdb:http://127.0.0.1:8086?org=home&bucket=p1', { kind: 'influxdb', url: 'http://127.0.0.1:8086', org: 'home', bucket: 'p1' }],
    ['influxdb:https://eu-central-1-1.aws.cloud2.influxdata.com/?org=a%20b&bucket=x%2Fy', { kind: 'influxdb', url: 'https://eu-central-1-1.aws.cloud2.influxdata.com', org: 'a b', bucket: 'x/y' }],
    ['influxdb-v1:http://pi.local:8086?db=energy', { kind: 'influxdb-v1', url: 'http://pi.local:8086', db: 'energy' }],
    ['influxdb-v1:http://localhost:8086/influx/?db=energy&rp=year', { kind: 'influxdb-v1', url: 'http://localhost:8086/influx', db: 'energy', rp: 'year' }],
    ['influxdb-v1:http://me:s%40cret@localhost:8086?db=e', { kind: 'influxdb-v1', url: 'http://localhost:8086', db: 'e', username: 'me', password: 's@cret' }],
    ['cosm:https://api.xively.com/v2/feeds/504', { kind: 'cosm', url: 'https://api.xively.com', feed: '504' }],
    ['cosm:http://127.0.0.1:9000/api/v2/feeds/my-feed.json', { kind: 'cosm', url: 'http://127.0.0.1:9000/api', feed: 'my-feed' }],
  ])('%s', (spec, expected) => {
    expect(parseSinkSpec(spec)).toEqual(expected);
  });

  it.each([
    ['influx:http://x?org=a&bucket=b', /kind: "influx" is not a sink kind/],
    ['http://x', /kind: "http" is not a sink kind/],
    ['influxdb:not-a-url', /URL: not a URL/],
    ['influxdb:http://127.0.0.1:8086?org=o&bucket=b extra', /URL: contains whitespace/],
    ['influxdb:ftp://x?org=a&bucket=b', /URL: scheme "ftp"/],
    ['influxdb:http://x?bucket=b', /parameter "org": missing/],
    ['influxdb:http://x?org=a', /parameter "bucket": missing/],
    ['influxdb:http://x?org=a&bucket=b&precision=ms', /parameter "precision": unknown; allowed: org, bucket/],
    ['influxdb:http://u:p@x?org=a&bucket=b', /credentials in the URL: put the token in INFLUX_TOKEN/],
    ['influxdb-v1:http://x', /parameter "db": missing/],
    ['influxdb-v1:http://x?db=a&rp=', /parameter "rp": empty/],
    ['cosm:http://x/feeds/1', /path: "\/feeds\/1" does not end in \/v2\/feeds\/FEED_ID/],
    ['cosm:http://x/v2/feeds/a%20b', /FEED_ID: "a b" is not a feed id/],
    ['cosm:http://x/v2/feeds/1?key=abc', /parameter "key": a cosm sink takes no parameters/],
  ])('%s -> P1_SINK_SPEC naming the part', (spec, message) => {
    let caught: unknown;
    try {
      parseSinkSpec(spec);
    } catch (error) {
      caught = error;
    }
    expect(isP1Error(caught, 'P1_SINK_SPEC')).toBe(true);
    expect((caught as Error).message).toMatch(message);
  });

  it('never puts a password from the URL into an error message', () => {
    expect(() => parseSinkSpec('influxdb:http://admin:hunter22@x?org=a')).toThrow(/^(?!.*hunter22)/s);
    expect(() => parseSinkSpec('influxdb-v1:http://admin:hunter22@x')).toThrow(/http:\/\/\*\*\*@x/);
  });

  it('describes a sink without credentials', () => {
    expect(describeSinkSpec(parseSinkSpec('influxdb-v1:http://me:pw@h:8086?db=e&rp=r'))).toBe('influxdb-v1:http://h:8086?db=e&rp=r');
    expect(redactUrl('http://me:pw@h/x?u=me&p=pw&db=e')).toBe('http://***@h/x?u=***&p=***&db=e');
  });
});
