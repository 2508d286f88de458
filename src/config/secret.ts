import { inspect } from 'node:util';

export const MASK = '***';

/**
 * A resolved secret. Everything that turns it into text (JSON, template strings, util.inspect, pino) gives `***`,
 * so a config object can be logged whole; only `reveal()` hands out the value, at the one place that sends it.
 */
export class Secret {
  readonly #value: string;
  /** Where it came from, for messages: `env INFLUX_TOKEN`, `file /etc/p1logger/influx.token`, `config file`. */
  readonly origin: string;

  constructor(value: string, origin: string) {
    this.#value = value;
    this.origin = origin;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return MASK;
  }

  toJSON(): string {
    return MASK;
  }

  [inspect.custom](): string {
    return `Secret(${MASK}, ${this.origin})`;
  }
}
