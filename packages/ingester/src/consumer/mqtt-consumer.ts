/**
 * The broker connection, subscribed to the upstream topics. Incoming messages pass through
 * `handleMessage`, which mqtt.js awaits before reading the next packet and sending PUBACK; the
 * router admits a message to its node's lane only while the lanes have room, and the lanes go on
 * only while the writer has room, so a full queue or a ClickHouse outage stops consumption at the
 * socket.
 *
 * The session: a lone ingester keeps a persistent one (clean=false, stable client id), so the
 * broker holds the uplink while it restarts. In a shared group the session ends with the
 * connection: a broker keeps sending a persistent member its share of the group's messages while
 * it is away (Mosquitto 2.0 queued a third of them for a killed one of three, until that client id
 * came back, which a replaced container or pod never does), whereas a member without a session
 * leaves the group at once and the others take everything. Nothing is lost either way: a batch is
 * durable in the node's outbox until the application ack, and is published again after the node's
 * ack timeout when the ingester that took it died first. That resend is the only way back for it:
 * Mosquitto 2.0 hands a dead member's unacknowledged messages to no other member, clean session or
 * not (checked; eclipse-mosquitto issue 2662), and what this client has PUBACKed (admitted, not yet
 * stored) the broker has forgotten.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { hidePassword, topics } from '@edge-telemetry/protocol';
import type { MqttConfig } from './options.js';
import type { Logger } from '../logger.js';
import type { Router } from './router.js';
import { writeCoalescer } from './write-coalescer.js';

/** Where messages go: the router, given at start because it publishes through this connection. */
export type MessageHandler = Router['handle'];

export interface MqttConsumer {
  /** Resolves after the first subscription, or after the first failed attempt (it keeps reconnecting; /readyz shows it). */
  start(handle: MessageHandler): Promise<void>;
  connected(): boolean;
  publish(topic: string, payload: Buffer): Promise<void>;
  /**
   * Stops taking messages (the first step of an orderly stop, before what was taken is drained):
   * one arriving after it is left without PUBACK, so the broker delivers it again, to this
   * session when it returns (persistent) or, in a shared group, which it also leaves at once so
   * that the other members take the group's messages meanwhile, as the broker sees fit. Taken
   * during the drain, it was acknowledged to the broker and then refused by the closing writer.
   * The connection stays up: the acks of what is drained still go out through it.
   */
  pause(): void;
  /** Orderly: unsubscribes nothing (a persistent session keeps messages for our return), disconnects. */
  stop(): Promise<void>;
  /** Abrupt: drops the socket and timers as if the process died. */
  kill(): void;
}

/** Longest run of message handling before the event loop gets a turn. */
const YIELD_MS = 10;

export function createMqttConsumer(
  opts: MqttConfig,
  deps: { logger: Logger; connectTimeoutMs?: number },
): MqttConsumer {
  const { logger } = deps;
  let client: MqttClient | undefined;
  let paused = false;
  const filter = topics.ingestFilter(opts.sharedGroup);
  const persistent = opts.sharedGroup === undefined;
  // Every line that names the broker names it without its password: one masked form for all of
  // them, so none can log opts.url as it is ('connected to broker' did).
  const shownUrl = hidePassword(opts.url);
  const coalesce = writeCoalescer(() => client?.stream);
  /** Takes the next packet: done() writes the PUBACK, into the turn's corked write. */
  const release = (done: () => void) => {
    coalesce();
    done();
  };

  return {
    start(handle) {
      return new Promise<void>((resolve, reject) => {
        const c = mqtt.connect(opts.url, {
          clientId: opts.clientId,
          clean: !persistent,
          protocolVersion: opts.protocolVersion,
          keepalive: opts.keepaliveS,
          reconnectPeriod: opts.reconnectMs,
          connectTimeout: deps.connectTimeoutMs ?? 10_000,
          ...(opts.username !== undefined ? { username: opts.username } : {}),
          ...(opts.password !== undefined ? { password: opts.password } : {}),
          ...(opts.protocolVersion === 5 && persistent ? { properties: { sessionExpiryInterval: 7 * 24 * 3600 } } : {}),
        });
        client = c;
        let ranSince = performance.now();
        /**
         * mqtt.js takes the next packet when `done` is called, and a handler that needs no I/O
         * resolves in a microtask: a socket buffer of thousands of messages (one node's flood)
         * would then run back to back without ever returning to the event loop, holding every
         * timer and socket (flushes, acks, the API) for as long. Every YIELD_MS the next packet
         * waits for the event loop's next turn instead.
         */
        const next = (done: () => void) => {
          if (performance.now() - ranSince < YIELD_MS) return release(done);
          setImmediate(() => {
            ranSince = performance.now();
            release(done);
          });
        };
        c.handleMessage = (packet, done) => {
          // An error to mqtt.js's callback sends no PUBACK and goes on with the next packet (the
          // acks of our own publishes among them).
          if (paused) return done(new Error('paused: not taken'));
          const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
          handle(packet.topic, payload).then(
            () => next(done),
            (err: Error) => {
              logger.error(
                { code: 'ET_ERR_INTERNAL', err: err.message, topic: packet.topic },
                'message handler failed',
              );
              next(done);
            },
          );
        };
        let first = true;
        c.on('connect', (connack) => {
          logger.info(
            { url: shownUrl, clientId: opts.clientId, sessionPresent: connack.sessionPresent, filter },
            'connected to broker',
          );
          // Subscribing again on every connect is harmless and covers a broker that lost the session.
          if (paused && !persistent) return;
          c.subscribe(filter, { qos: 1 }, (err) => {
            if (err) {
              logger.error({ err: err.message, filter }, 'subscribe failed');
              if (first) reject(err);
            } else if (first) resolve();
            first = false;
          });
        });
        c.on('error', (err) => {
          logger.warn({ err: err.message, url: shownUrl }, 'broker connection error; retrying');
          if (first) {
            first = false;
            resolve();
          }
        });
        c.on('offline', () => logger.warn({ url: shownUrl }, 'broker offline; reconnecting'));
      });
    },
    connected: () => client?.connected ?? false,
    publish(topic, payload) {
      const c = client;
      if (!c) return Promise.reject(new Error('not connected'));
      coalesce();
      return new Promise<void>((resolve, reject) =>
        c.publish(topic, payload, { qos: 1 }, (err) => (err ? reject(err) : resolve())),
      );
    },
    pause() {
      paused = true;
      const c = client;
      // Not awaited: the UNSUBACK is read after the message being admitted now, which may wait
      // for the lanes (and they for ClickHouse).
      if (!persistent && c?.connected)
        c.unsubscribe(filter, (err) => {
          // Still paused: what arrives is not taken, and the group gets it back when we disconnect.
          if (err) logger.warn({ err: err.message, filter }, 'unsubscribe failed');
        });
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
