/** The broker connection's options (the `mqtt` section of the ingester's config). */
import { Type, type Static } from '@sinclair/typebox';

export const MqttOptions = Type.Object(
  {
    // Any other scheme was taken and retried for ever; it is refused at start instead.
    url: Type.String({
      default: 'mqtt://127.0.0.1:1883',
      pattern: '^(mqtts?|wss?)://[^/]',
      description: 'Broker URL (mqtt://, mqtts://, ws:// or wss://). Env MQTT_URL also sets it.',
    }),
    username: Type.Optional(Type.String({ description: 'Broker user name.' })),
    password: Type.Optional(Type.String({ writeOnly: true, description: 'Broker password.' })),
    clientId: Type.String({
      default: 'et-ingester-1',
      minLength: 1,
      maxLength: 64,
      description:
        'Stable client id. Without sharedGroup the session is persistent (clean=false): the broker keeps messages for it while it is away. Give every ingester its own.',
    }),
    sharedGroup: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9_-]+$',
        description:
          'Shared-subscription group ($share/<group>/...): set it to spread load over several ingesters (Mosquitto, EMQX). Their sessions then end with the connection, so a member that is gone gets no share. Unset for aedes, which has no shared subscriptions.',
      }),
    ),
    protocolVersion: Type.Union([Type.Literal(4), Type.Literal(5)], {
      default: 4,
      description: '4 = MQTT 3.1.1 (aedes and every broker), 5 = MQTT 5 (Mosquitto, EMQX).',
    }),
    keepaliveS: Type.Integer({ minimum: 5, maximum: 3600, default: 60, description: 'MQTT keepalive in seconds.' }),
    reconnectMs: Type.Integer({
      minimum: 100,
      maximum: 600_000,
      default: 1000,
      description: 'Delay before reconnecting to the broker.',
    }),
  },
  { additionalProperties: false, default: {} },
);

export type MqttConfig = Static<typeof MqttOptions>;
