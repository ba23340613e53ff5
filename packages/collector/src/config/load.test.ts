import { describe, expect, it } from 'vitest';
import { ConfigError, OTLP_VALUE_BYTES } from '@edge-telemetry/protocol';
import { loadCollectorConfig } from './load.js';

const env = { EDGE_TELEMETRY_COLLECTOR_NODE: 'gw-1' };

function refusal(argv: string[], e: NodeJS.ProcessEnv): string {
  try {
    loadCollectorConfig(argv, e);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadCollectorConfig', () => {
  it('refuses a broker URL that is not MQTT, naming the option and its variable', () => {
    const msg = refusal([], { ...env, EDGE_TELEMETRY_COLLECTOR_UPLINK_MQTT_URL: 'ftp://broker:1883' });
    expect(msg).toContain('uplink.mqtt.url');
    expect(msg).toContain('EDGE_TELEMETRY_COLLECTOR_UPLINK_MQTT_URL');
    expect(msg).toContain('"ftp://broker:1883"');
    for (const url of ['mqtt://b:1883', 'mqtts://b:8883', 'ws://b/mqtt', 'wss://b:443/mqtt'])
      expect(loadCollectorConfig([], { ...env, MQTT_URL: url }).uplink.mqtt.url).toBe(url);
  });

  it.each([
    [
      'a log filter',
      'EDGE_TELEMETRY_COLLECTOR_LOGS_DEFAULTS_FILTER_INCLUDE',
      '["("]',
      'logs.defaults.filter.include[0] ("(")',
    ],
    [
      'a host interface',
      'EDGE_TELEMETRY_COLLECTOR_SOURCES_HOST_EXCLUDE_INTERFACES',
      '^(lo|veth.*',
      'sources.host.excludeInterfaces ("^(lo|veth.*")',
    ],
  ])('refuses %s pattern that does not compile at start, naming the option', (_what, variable, value, named) => {
    const msg = refusal([], { ...env, MQTT_URL: 'mqtt://b:1883', [variable]: value });
    expect(msg).toContain(named);
    expect(msg).toContain('fix: correct or remove the pattern');
  });

  it('refuses an OTLP per-address connection cap over the total cap at start, naming both options', () => {
    const withUrl = { ...env, MQTT_URL: 'mqtt://b:1883' };
    const msg = refusal([], {
      ...withUrl,
      EDGE_TELEMETRY_COLLECTOR_SOURCES_OTLP_MAX_CONNECTIONS: '32',
      EDGE_TELEMETRY_COLLECTOR_SOURCES_OTLP_MAX_CONNECTIONS_PER_ADDRESS: '64',
    });
    expect(msg).toContain('sources.otlp.maxConnectionsPerAddress (64) must be <= sources.otlp.maxConnections (32)');
    expect(
      refusal([], { ...withUrl, EDGE_TELEMETRY_COLLECTOR_SOURCES_OTLP_MAX_CONNECTIONS_PER_ADDRESS: '0' }),
    ).toContain('sources.otlp.maxConnectionsPerAddress');
    const o = loadCollectorConfig([], withUrl).sources.otlp;
    expect([o.maxConnections, o.maxConnectionsPerAddress]).toEqual([256, 64]);
  });

  it('refuses OTLP limits under which a lone request of maxDecodedValues values would be refused by maxInFlightBytes, naming the options', () => {
    const withUrl = { ...env, MQTT_URL: 'mqtt://b:1883' };
    const o = loadCollectorConfig([], withUrl).sources.otlp;
    expect(o.maxDecodedValues * OTLP_VALUE_BYTES.protobuf + o.maxDecodedBytes).toBeLessThanOrEqual(o.maxInFlightBytes);
    // The old default: 100,000 x 192 B is over the 16 MiB budget alone.
    const values = { ...withUrl, EDGE_TELEMETRY_COLLECTOR_SOURCES_OTLP_MAX_DECODED_VALUES: '100000' };
    const need = 100_000 * OTLP_VALUE_BYTES.protobuf + o.maxDecodedBytes;
    expect(refusal([], values)).toContain(
      `sources.otlp.maxDecodedValues (100000) x 192 B a decoded value + sources.otlp.maxDecodedBytes (${o.maxDecodedBytes}) must fit sources.otlp.maxInFlightBytes (${o.maxInFlightBytes})`,
    );
    expect(refusal([], values)).toContain(
      `fix: lower maxDecodedValues to at most 65536, lower maxDecodedBytes or raise maxInFlightBytes to at least ${need}`,
    );
    // Either fix the message names is taken.
    const raised = { ...values, EDGE_TELEMETRY_COLLECTOR_SOURCES_OTLP_MAX_IN_FLIGHT_BYTES: String(need) };
    expect(loadCollectorConfig([], raised).sources.otlp.maxDecodedValues).toBe(100_000);
    const most = { ...withUrl, EDGE_TELEMETRY_COLLECTOR_SOURCES_OTLP_MAX_DECODED_VALUES: '65536' };
    expect(loadCollectorConfig([], most).sources.otlp.maxDecodedValues).toBe(65_536);
  });

  it('refuses an argument it does not know instead of running on the defaults', () => {
    const withUrl = { ...env, MQTT_URL: 'mqtt://b:1883' };
    expect(refusal(['--bogus'], withUrl)).toContain('unknown argument "--bogus"');
    expect(refusal(['--confg', '/etc/collector.json'], withUrl)).toContain('unknown argument "--confg"');
    expect(refusal(['--config=/no/such/collector.json'], withUrl)).toContain('/no/such/collector.json');
    expect(refusal(['--config'], withUrl)).toContain('--config needs a path');
  });
});
