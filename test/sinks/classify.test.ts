import { describe, expect, it } from 'vitest';
import { classifyStatus, parseRetryAfter } from '../../src/sinks/classify.js';
import { httpFailure, networkFailure, reasonFromBody } from '../../src/sinks/sink.js';

describe('classifyStatus', () => {
  it.each([
    [204, null],
    [200, null],
    [400, 'P1_SINK_REJECTED'],
    [413, 'P1_SINK_REJECTED'],
    [422, 'P1_SINK_REJECTED'],
    [401, 'P1_SINK_AUTH'],
    [403, 'P1_SINK_AUTH'],
    [404, 'P1_SINK_NOT_FOUND'],
    [408, 'P1_SINK_UNAVAILABLE'],
    [429, 'P1_SINK_UNAVAILABLE'],
    [500, 'P1_SINK_UNAVAILABLE'],
    [502, 'P1_SINK_UNAVAILABLE'],
    [503, 'P1_SINK_UNAVAILABLE'],
    // Not a statement about the data: never park records for it.
    [405, 'P1_SINK_UNAVAILABLE'],
    [301, 'P1_SINK_UNAVAILABLE'],
  ])('%i -> %s', (status, code) => {
    expect(classifyStatus(status)).toBe(code);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2025-01-14T09:00:00Z');
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(['7'], now)).toBe(7000);
    expect(parseRetryAfter('Tue, 14 Jan 2025 09:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Tue, 14 Jan 2025 08:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });
});

describe('sink errors', () => {
  it('carry the server reason from JSON or text, without the secrets', () => {
    expect(reasonFromBody('{"error":"partial write: field type conflict"}')).toBe('partial write: field type conflict');
    expect(reasonFromBody('{"code":"invalid","message":"bad line"}')).toBe('bad line');
    expect(reasonFromBody('plain text')).toBe('plain text');
    const error = httpFailure('cosm:http://h/v2/feeds/1', { status: 401, body: '{"errors":"key s3cr3tkey is wrong"}' }, ['s3cr3tkey']);
    expect(error.code).toBe('P1_SINK_AUTH');
    expect(error.message).toContain('HTTP 401: key *** is wrong');
    expect(error.message).not.toContain('s3cr3tkey');
    expect(error.reason).toBe('key *** is wrong');
  });

  it('keep Retry-After', () => {
    const error = httpFailure('x', { status: 429, body: '', retryAfter: '3' }, []);
    expect(error.code).toBe('P1_SINK_UNAVAILABLE');
    expect(error.retryAfterMs).toBe(3000);
    expect(error.reason).toBe('HTTP 429');
  });

  it('network errors are retried and name the cause', () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    const error = networkFailure('influxdb-v1:http://127.0.0.1:1?db=x', cause, []);
    expect(error.code).toBe('P1_SINK_UNAVAILABLE');
    expect(error.message).toMatch(/^influxdb-v1:http:\/\/127\.0\.0\.1:1\?db=x: connect ECONNREFUSED/);
  });
});
