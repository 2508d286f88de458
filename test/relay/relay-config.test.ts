import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

const load = (env: NodeJS.ProcessEnv) => loadConfig({ env, defaultConfigPath: '/nonexistent/p1logger/config.yaml' });

describe('relay configuration', () => {
  it('is off by default, with at most 5 clients once on', async () => {
    const { config } = await load({});
    expect(config.relay).toEqual({ maxClients: 5 });
  });

  it('warns like the status page when the address is reachable from other machines, not on loopback', async () => {
    const open = await load({ P1LOGGER_RELAY_LISTEN: '0.0.0.0:2323' });
    expect(open.config.relay.listen).toBe('0.0.0.0:2323');
    expect(open.warnings).toEqual([
      "relay.listen 0.0.0.0:2323 is reachable from other machines: anyone on that network can read your meter's telegrams (no authentication); keep 127.0.0.1 unless that is what you want",
    ]);
    for (const loopback of ['127.0.0.1:2323', '[::1]:2323', 'localhost:2323']) {
      expect((await load({ P1LOGGER_RELAY_LISTEN: loopback })).warnings).toEqual([]);
    }
  });

  it('a bad address or client count names the key and what is allowed', async () => {
    const error: unknown = await load({ P1LOGGER_RELAY_LISTEN: '2323', P1LOGGER_RELAY_MAX_CLIENTS: '0' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    const text = (error as Error).message;
    expect(text).toMatch(/relay\.listen.*"2323".*HOST:PORT/);
    expect(text).toMatch(/relay\.maxClients.*0.*from 1 to 100/);
  });
});
