import got from 'got';
import type { QueueRecord } from '../queue/types.js';
import type { ParseOptions } from '../telegram/types.js';
import { cosmPayload } from './cosm-payload.js';
import { recordToPoints } from './points.js';
import { httpFailure, networkFailure, type SendResult, type Sink } from './sink.js';
import { describeSinkSpec, type CosmSpec } from './spec.js';

export interface CosmOptions {
  spec: CosmSpec;
  /** Sent as `X-ApiKey` (COSM_API_KEY). */
  apiKey: string;
  timeoutMs?: number;
  parse?: ParseOptions;
}

/** Datapoints per request the Cosm/Xively API v2 accepts for one datastream. */
export const COSM_MAX_DATAPOINTS = 500;

/**
 * A Pachube/Cosm/Xively API v2 compatible feed: first `PUT /v2/feeds/FEED.json` with the current values (which
 * creates missing datastreams), then per datastream `POST .../datastreams/ID/datapoints.json` with the historical
 * datapoints and their `at` times, so a backlog keeps its real times. A datapoint sent again for the same time
 * replaces the stored one, so a re-send is harmless.
 */
export class CosmSink implements Sink {
  readonly kind = 'cosm';
  readonly description: string;
  /** One at a time: the feed's current values must not go back to an older batch's. */
  readonly maxInFlight = 1;
  /** One telegram gives at most one datapoint per datastream, so records and datapoints share the API's limit. */
  readonly maxBatchRecords = COSM_MAX_DATAPOINTS;
  private readonly feedUrl: string;
  private readonly headers: Record<string, string>;
  private readonly secrets: string[];
  private readonly timeoutMs: number;
  private readonly parse: ParseOptions;

  constructor(options: CosmOptions) {
    this.description = describeSinkSpec(options.spec);
    this.feedUrl = `${options.spec.url}/v2/feeds/${encodeURIComponent(options.spec.feed)}`;
    this.headers = { 'x-apikey': options.apiKey, 'content-type': 'application/json' };
    this.secrets = [options.apiKey];
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.parse = options.parse ?? {};
  }

  async send(records: readonly QueueRecord[], signal?: AbortSignal): Promise<SendResult> {
    const { datapoints, current } = cosmPayload(records.map((record) => recordToPoints(record, this.parse)));
    if (current.size === 0) return { points: 0, requests: 0 };
    const feed = {
      version: '1.0.0',
      datastreams: [...current].map(([id, point]) => ({ id, current_value: point.value, at: point.at })),
    };
    await this.request('PUT', `${this.feedUrl}.json`, feed, signal);
    let requests = 1;
    let points = 0;
    for (const [id, list] of datapoints) {
      for (let start = 0; start < list.length; start += COSM_MAX_DATAPOINTS) {
        const chunk = list.slice(start, start + COSM_MAX_DATAPOINTS);
        await this.request('POST', `${this.feedUrl}/datastreams/${encodeURIComponent(id)}/datapoints.json`, { datapoints: chunk }, signal);
        requests++;
        points += chunk.length;
      }
    }
    return { points, requests };
  }

  private async request(method: 'PUT' | 'POST', url: string, json: unknown, signal: AbortSignal | undefined): Promise<void> {
    let response;
    try {
      response = await got(url, {
        method,
        body: JSON.stringify(json),
        headers: this.headers,
        retry: { limit: 0 },
        timeout: { request: this.timeoutMs },
        throwHttpErrors: false,
        followRedirect: false,
        ...(signal === undefined ? {} : { signal }),
      });
    } catch (error) {
      signal?.throwIfAborted();
      throw networkFailure(this.description, error, this.secrets);
    }
    if (response.statusCode >= 200 && response.statusCode < 300) return;
    const answer = { status: response.statusCode, body: response.body, retryAfter: response.headers['retry-after'] };
    throw httpFailure(this.description, response.statusCode === 404 ? { ...answer, hint: 'check the feed id and the URL; retrying slowly' } : answer, this.secrets);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
