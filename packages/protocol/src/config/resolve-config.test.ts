import { describe, expect, it } from 'vitest';
import { Type } from '@sinclair/typebox';
import { ConfigError, describeOptions, resolveConfig, type ConfigSpec } from './resolve-config.js';

const schema = Type.Object({
  node: Type.String({ minLength: 1, description: 'Node id.' }),
  http: Type.Object({
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080, description: 'HTTP port.' }),
    enabled: Type.Boolean({ default: true }),
  }),
  tags: Type.Array(Type.String(), { default: [] }),
});
const spec: ConfigSpec<typeof schema> = {
  schema,
  envPrefix: 'ET_T_',
  aliases: { NODE_ID: 'node' },
  check: (c) => (c.http.port === 1 ? ['http.port: 1 is reserved; fix: pick another'] : []),
};

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('resolveConfig', () => {
  it('fills defaults into nested objects the file leaves out', () => {
    expect(resolveConfig(spec, { file: { node: 'a' }, env: {} })).toEqual({
      node: 'a',
      http: { port: 8080, enabled: true },
      tags: [],
    });
  });

  it('lets the environment override the file, aliases win, and overrides come last', () => {
    const cfg = resolveConfig(spec, {
      file: { node: 'a', http: { port: 1000 } },
      env: { ET_T_NODE: 'b', NODE_ID: 'c', ET_T_HTTP_PORT: '9000', ET_T_HTTP_ENABLED: 'false', ET_T_TAGS: '["x","y"]' },
      overrides: { http: { port: 9100 } },
    });
    expect(cfg).toEqual({ node: 'c', http: { port: 9100, enabled: false }, tags: ['x', 'y'] });
  });

  it('names the option, where the bad value came from, and the fix', () => {
    const p = problems(() => resolveConfig(spec, { file: { node: 'a' }, env: { ET_T_HTTP_PORT: 'eighty' } }));
    expect(p.join('\n')).toMatch(/http\.port: .*"eighty".*env ET_T_HTTP_PORT.*HTTP port/);
    // A missing option is one problem (TypeBox also says it is not a string).
    const missing = problems(() => resolveConfig(spec, { env: {} }));
    expect(missing).toHaveLength(1);
    expect(missing[0]).toMatch(/^node: Expected required property.*ET_T_NODE/);
  });

  it('refuses misspelt keys and runs the cross-option check', () => {
    expect(problems(() => resolveConfig(spec, { file: { node: 'a', http: { prot: 1 } }, env: {} }))).toEqual([
      'http.prot: unknown option; fix: remove it or check its spelling against the README',
    ]);
    expect(problems(() => resolveConfig(spec, { file: { node: 'a', http: { port: 1 } }, env: {} }))).toEqual([
      'http.port: 1 is reserved; fix: pick another',
    ]);
  });

  it('refuses a variable with the prefix that names no option, and names the one it was probably meant to be', () => {
    expect(
      problems(() =>
        resolveConfig(spec, {
          env: { ET_T_NODE: 'a', ET_T_HTTP_PROT: '9', ET_T_NOTHING_LIKE_IT: 'x', ET_T_EMPTY: '' },
        }),
      ),
    ).toEqual([
      "env ET_T_HTTP_PROT: not an option of this service; fix: rename it ET_T_HTTP_PORT, or remove it (--help lists every option's variable)",
      "env ET_T_NOTHING_LIKE_IT: not an option of this service; fix: remove it (--help lists every option's variable)",
    ]);
    // Other prefixes and the aliases are not this service's to judge, nor what Kubernetes' service links and
    // Docker's links make from a Service or link named like the service (review, before a pod crash-looped on them).
    const links = {
      ET_T_SERVICE_HOST: '10.0.0.7',
      ET_T_SERVICE_PORT: '8080',
      ET_T_SERVICE_PORT_HTTP: '8080',
      ET_T_PORT: 'tcp://10.0.0.7:8080',
      ET_T_PORT_8080_TCP: 'tcp://10.0.0.7:8080',
      ET_T_PORT_8080_TCP_ADDR: '10.0.0.7',
      ET_T_PORT_8080_TCP_PORT: '8080',
      ET_T_PORT_8080_TCP_PROTO: 'tcp',
      ET_T_METRICS_SERVICE_HOST: '10.0.0.8',
      ET_T_NAME: '/web/et',
      ET_T_ENV_ANYTHING: 'x',
    };
    expect(resolveConfig(spec, { env: { NODE_ID: 'a', ET_OTHER_X: '1', ...links } }).node).toBe('a');
    // A bare _PORT or _NAME is let through only with the value a link gives it: else it is a misspelt option.
    expect(
      problems(() => resolveConfig(spec, { env: { ET_T_NODE: 'a', ET_T_API_PORT: '9000', ET_T_HOST_NAME: 'gw' } })),
    ).toEqual([
      "env ET_T_API_PORT: not an option of this service; fix: remove it (--help lists every option's variable)",
      "env ET_T_HOST_NAME: not an option of this service; fix: remove it (--help lists every option's variable)",
    ]);
  });

  it('documents every leaf option with its environment variable', () => {
    expect(describeOptions(spec).map((o) => [o.option, o.env])).toEqual([
      ['node', 'ET_T_NODE'],
      ['http.port', 'ET_T_HTTP_PORT'],
      ['http.enabled', 'ET_T_HTTP_ENABLED'],
      ['tags', 'ET_T_TAGS'],
    ]);
  });
});
