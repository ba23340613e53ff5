/**
 * The broker connection: a persistent session (clean=false, stable client id) subscribed to the
 * upstream topics. Incoming messages pass through `handleMessage`, which mqtt.js awaits before
 * reading the next packet and sending PUBACK; the router admits a batch only when the writer has
 * room, so a full queue or a ClickHouse outage stops consumption at the socket.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { topics } from '@edge-telemetry/protocol';
import type { MqttConfig } from './options.js';
import type { Logger } from '../logger.js';
import type { Router } from './router.js';

/** Where messages go: the router, given at start because it publishes through this connection. */
export type MessageHandler = Router['handle'];

export interface MqttConsumer {
  /** Resolves after the first subscription, or after the first failed attempt (it keeps reconnecting; /readyz shows it). */
  start(handle: MessageHandler): Promise<void>;
  connected(): boolean;
  publish(topic: string, payload: Buffer): Promise<void>;
  /** Orderly: unsubscribes nothing (the session keeps messages for our return), disconnects. */
  stop(): Promise<void>;
  /** Abrupt: drops the socket and timers as if the process died. */
  kill(): void;
}

export function createMqttConsumer(
  opts: MqttConfig,
  deps: { logger: Logger; connectTimeoutMs?: number },
): MqttConsumer {
  const { logger } = deps;
  let client: MqttClient | undefined;
  const filter = topics.ingestFilter(opts.sharedGroup);

  return {
    start(handle) {
      return new Promise<void>((resolve, reject) => {
        const c = mqtt.connect(opts.url, {
          clientId: opts.clientId,
          clean: false,
          protocolVersion: opts.protocolVersion,
          keepalive: opts.keepaliveS,
          reconnectPeriod: opts.reconnectMs,
          connectTimeout: deps.connectTimeoutMs ?? 10_000,
          ...(opts.username !== undefined ? { username: opts.username } : {}),
          ...(opts.password !== undefined ? { password: opts.password } : {}),
          ...(opts.protocolVersion === 5 ? { properties: { sessionExpiryInterval: 7 * 24 * 3600 } } : {}),
        });
        client = c;
        c.handleMessage = (packet, done) => {
          const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
          handle(packet.topic, payload).then(
            () => done(),
            (err: Error) => {
              logger.error(
                { code: 'ET_ERR_INTERNAL', err: err.message, topic: packet.topic },
                'message handler failed',
              );
              done();
            },
          );
        };
        let first = true;
        c.on('connect', (connack) => {
          logger.info(
            { url: opts.url, clientId: opts.clientId, sessionPresent: connack.sessionPresent, filter },
            'connected to broker',
          );
          // Subscribing again on every connect is harmless and covers a broker that lost the session.
          c.subscribe(filter, { qos: 1 }, (err) => {
            if (err) {
              logger.error({ err: err.message, filter }, 'subscribe failed');
              if (first) reject(err);
            } else if (first) resolve();
            first = false;
          });
        });
        c.on('error', (err) => {
          logger.warn({ err: err.message, url: opts.url }, 'broker connection error; retrying');
          if (first) {
            first = false;
            resolve();
          }
        });
        c.on('offline', () => logger.warn({ url: opts.url }, 'broker offline; reconnecting'));
      });
    },
    connected: () => client?.connected ?? false,
    publish(topic, payload) {
      const c = client;
      if (!c) return Promise.reject(new Error('not connected'));
      return new Promise<void>((resolve, reject) =>
        c.publish(topic, payload, { qos: 1 }, (err) => (err ? reject(err) : resolve())),
      );
    },
    async stop() {
      const c = client;
      client = undefined;
      if (c) await c.endAsync(false);
    },
    kill() {
      const c = client;
      client = undefined;
      c?.end(true);
    },
  };
}
