import { Type, type Static } from '@sinclair/typebox';

export const MqttOptionsSchema = Type.Object({
  /**
   * mqtt://host:1883 or mqtts://host:8883 (ws/wss through a proxy). Any other scheme was taken and
   * retried for ever (ftp://x connected to host "x"); it is refused at start instead.
   */
  url: Type.String({
    minLength: 1,
    pattern: '^(mqtts?|wss?)://[^/]',
    description: 'Broker URL (mqtt://, mqtts://, ws:// or wss://).',
  }),
  /** 5 = MQTT 5, 4 = MQTT 3.1.1; a broker that refuses 5 (aedes, which `start` embeds) gets 3.1.1 from the next attempt. */
  protocolVersion: Type.Union([Type.Literal(5), Type.Literal(4)], {
    default: 5,
    description: 'MQTT protocol: 5, or 4 for 3.1.1.',
  }),
  /** Stable across restarts so the broker keeps the persistent session; default `et-<node>`. */
  clientId: Type.Optional(Type.String({ minLength: 1, description: 'MQTT client id; default et-<node>.' })),
  username: Type.Optional(Type.String({ description: 'Broker user (the node id when the ACL uses %u).' })),
  password: Type.Optional(Type.String({ writeOnly: true, description: 'Broker password.' })),
  /** Cellular NATs drop idle flows after a few minutes; 60 s keeps the mapping alive at ~2 bytes/s. */
  keepaliveSec: Type.Integer({ minimum: 5, maximum: 65535, default: 60, description: 'MQTT keepalive in seconds.' }),
  connectTimeoutMs: Type.Integer({
    minimum: 1000,
    default: 30_000,
    description: 'Give up a connect attempt after this long.',
  }),
  reconnectMinMs: Type.Integer({
    minimum: 10,
    default: 1000,
    description: 'First reconnect delay; doubles per failed attempt.',
  }),
  reconnectMaxMs: Type.Integer({
    minimum: 10,
    default: 120_000,
    description: 'Reconnect delay ceiling (full jitter below it).',
  }),
  /** MQTT 5 only: how long the broker keeps the session (and queued acks/commands) while the node is away. */
  sessionExpirySec: Type.Integer({
    minimum: 0,
    default: 7 * 86_400,
    description: 'MQTT 5 session expiry interval in seconds.',
  }),
  tls: Type.Optional(
    Type.Object({
      ca: Type.Optional(Type.String({ description: 'Path to the CA bundle (PEM).' })),
      cert: Type.Optional(Type.String({ description: 'Path to the client certificate (PEM).' })),
      key: Type.Optional(Type.String({ description: 'Path to the client key (PEM).' })),
      rejectUnauthorized: Type.Boolean({ default: true, description: 'Verify the broker certificate.' }),
    }),
  ),
});
export type MqttOptions = Static<typeof MqttOptionsSchema>;
