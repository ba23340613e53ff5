/**
 * The MQTT transport: one persistent-session client per node. It owns the connection (birth,
 * last will, subscriptions, reconnect with backoff and jitter) and nothing about batches: the
 * sender decides what to publish and when.
 */
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import {
  decodeAck,
  decodeCommand,
  encodeStatus,
  topics,
  type AckMessage,
  type CommandMessage,
  type NodeCapabilities,
  type ProtocolError,
  type StatusMessage,
} from '@edge-telemetry/protocol';
import { reconnectDelay } from './backoff.js';
import type { MqttOptions } from './options.js';

export interface TransportHandlers {
  onConnect(): void;
  onDisconnect(): void;
  onAck(ack: AckMessage): void;
  onCommand(cmd: CommandMessage): void;
  /** A down message that did not decode (counted by the caller; the connection stays up). */
  onBadMessage(topic: string, error: ProtocolError): void;
}

/**
 * Where the link stands, for diagnosis (a node that stopped sending says why): `connected`,
 * `connecting` (an attempt waits for its CONNACK or its close), `waiting` (a reconnect is planned),
 * `closed`. `since`: when it entered that phase (clock ms).
 */
export interface LinkState {
  phase: 'connected' | 'connecting' | 'waiting' | 'closed';
  since: number;
  /** When the link last came up (clock ms; 0: never). */
  connectedAt: number;
  /** Failed attempts since the last connect. */
  attempts: number;
  /** The last connection error (clock ms and message), kept across connects. */
  lastError: { at: number; message: string } | undefined;
  /**
   * The current socket: bytes written (`unsent` of them still in its buffer: a socket still
   * `connecting` holds them all) and read. A connect that sent its CONNECT and read nothing waits on the broker.
   */
  socket: { written: number; read: number; unsent: number; connecting: boolean; destroyed: boolean } | undefined;
}

export interface Transport {
  readonly connected: boolean;
  state(): LinkState;
  /** QoS 1 publish; resolves on PUBACK (which proves only that the broker has it). */
  publish(topic: string, payload: Buffer): Promise<void>;
  /** Publishes the retained online status again (its configuration state changed); nothing while disconnected (the birth carries it). */
  publishStatus(): void;
  /** Publishes the retained offline status, then disconnects. */
  close(): Promise<void>;
}

export interface TransportDeps {
  node: string;
  agentVersion: string;
  /** Said in the birth message (log store, versions), so the center refuses pulls this node cannot answer. */
  capabilities?: NodeCapabilities;
  /** Said in every online status: the node's labels and its remote configuration state. */
  status?: () => Pick<StatusMessage, 'labels' | 'config'>;
  options: MqttOptions;
  handlers: TransportHandlers;
  now?: () => number;
  /**
   * A connection attempt failed (refused, bad credentials, TLS, unreachable, a broker without
   * MQTT 5), so that a node that cannot connect says why instead of retrying in silence. `repeat`:
   * the same reason as the previous failure since the last connect (count it, don't say it again).
   */
  onConnectError?: (err: Error & { code?: string | number }, repeat: boolean) => void;
  /** The broker refused MQTT 5 and the next attempt asks for 3.1.1: expected with some brokers, not a failure. */
  onProtocolFallback?: () => void;
}

/** CONNACK codes for "this broker does not speak the protocol version asked for" (3.1.1: 1; 5: 0x84). */
const UNSUPPORTED_PROTOCOL_VERSION = new Set<unknown>([1, 0x84]);

export function clientOptions(d: TransportDeps): IClientOptions {
  const o = d.options;
  const will = {
    topic: topics.status(d.node),
    payload: encodeStatus({ v: 1, node: d.node, state: 'offline', at: 0, agentVersion: d.agentVersion }),
    qos: 1 as const,
    retain: true,
  };
  return {
    protocolVersion: o.protocolVersion,
    clientId: o.clientId ?? `et-${d.node}`,
    clean: false,
    keepalive: o.keepaliveSec,
    connectTimeout: o.connectTimeoutMs,
    // Reconnects are driven here, with backoff and jitter; mqtt.js only knows a fixed period.
    reconnectPeriod: 0,
    resubscribe: false,
    // mqtt-packet's number cache is 65,536 two-byte Buffers made at the first publish: 6 MiB of
    // heap held for good (a heap snapshot of the collector in a backlog: a quarter of its live
    // heap), to save one tiny allocation per packet on a link that sends a few a second.
    writeCache: false,
    username: o.username,
    password: o.password,
    will,
    ...(o.protocolVersion === 5 ? { properties: { sessionExpiryInterval: o.sessionExpirySec } } : {}),
    ...(o.tls
      ? {
          ca: o.tls.ca ? readFileSync(o.tls.ca) : undefined,
          cert: o.tls.cert ? readFileSync(o.tls.cert) : undefined,
          key: o.tls.key ? readFileSync(o.tls.key) : undefined,
          rejectUnauthorized: o.tls.rejectUnauthorized,
        }
      : {}),
  };
}

export function connectTransport(d: TransportDeps): Transport {
  const now = d.now ?? Date.now;
  const client: MqttClient = mqtt.connect(d.options.url, clientOptions(d));
  const ackTopic = topics.ack(d.node);
  const cmdTopic = topics.cmd(d.node);
  let connected = false;
  let closing = false;
  let attempt = 0;
  let timer: NodeJS.Timeout | undefined;
  let phase: LinkState['phase'] = 'connecting';
  let since = now();
  let connectedAt = 0;
  let lastSeen: LinkState['lastError'];
  const enter = (p: LinkState['phase']) => {
    phase = p;
    since = now();
  };

  const publishOnline = () => {
    const birth = encodeStatus({
      v: 1,
      node: d.node,
      state: 'online',
      at: now(),
      agentVersion: d.agentVersion,
      ...(d.capabilities ? { capabilities: d.capabilities } : {}),
      ...d.status?.(),
    });
    client.publish(topics.status(d.node), birth, { qos: 1, retain: true }, () => undefined);
  };

  client.on('connect', () => {
    // A CONNACK that arrives after close() began: mqtt.js has closed its store, a publish would throw.
    if (closing) return;
    attempt = 0;
    lastError = undefined;
    connected = true;
    connectedAt = now();
    enter('connected');
    publishOnline();
    // Subscribed every time: cheap, and correct when the broker lost the session.
    client.subscribe(topics.downFilter(d.node), { qos: 1 }, () => undefined);
    d.handlers.onConnect();
  });
  client.on('message', (topic, payload) => {
    if (topic === ackTopic) {
      const r = decodeAck(payload);
      if (r.ok) d.handlers.onAck(r.value);
      else d.handlers.onBadMessage(topic, r.error);
    } else if (topic === cmdTopic) {
      const r = decodeCommand(payload);
      if (r.ok) d.handlers.onCommand(r.value);
      else d.handlers.onBadMessage(topic, r.error);
    }
  });
  // Errors (refused, reset, bad credentials) always end in 'close', where the reconnect is planned.
  let lastError: string | undefined;
  client.on('error', (err: Error & { code?: string | number }) => {
    // A broker that only speaks 3.1.1 (aedes, older Mosquitto or cloud brokers) refuses an MQTT 5
    // CONNECT: the next attempt asks for 3.1.1, as other clients fall back, rather than never connecting.
    if (client.options.protocolVersion === 5 && UNSUPPORTED_PROTOCOL_VERSION.has(err.code)) {
      client.options.protocolVersion = 4;
      delete client.options.properties;
      attempt = 0;
      d.onProtocolFallback?.();
    } else d.onConnectError?.(err, err.message === lastError);
    lastError = err.message;
    lastSeen = { at: now(), message: err.message };
  });
  client.on('close', () => {
    if (connected) {
      connected = false;
      d.handlers.onDisconnect();
    }
    if (closing) return;
    if (timer) {
      if (phase === 'connected') enter('waiting');
      return;
    }
    const delay = reconnectDelay(attempt++, d.options.reconnectMinMs, d.options.reconnectMaxMs);
    enter('waiting');
    timer = setTimeout(() => {
      timer = undefined;
      if (closing) return;
      enter('connecting');
      client.reconnect();
    }, delay);
  });

  return {
    get connected() {
      return connected;
    },
    state: () => {
      const stream = client.stream as Partial<Socket> | undefined;
      const socket =
        stream?.bytesWritten !== undefined
          ? {
              written: stream.bytesWritten,
              read: stream.bytesRead ?? 0,
              unsent: stream.writableLength ?? 0,
              connecting: stream.connecting === true,
              destroyed: stream.destroyed === true,
            }
          : undefined;
      return { phase, since, connectedAt, attempts: attempt, lastError: lastSeen, socket };
    },
    publishStatus: () => {
      if (connected && !closing) publishOnline();
    },
    publish: (topic, payload) =>
      new Promise((resolve, reject) => {
        client.publish(topic, payload, { qos: 1 }, (err) => (err ? reject(err) : resolve()));
      }),
    close: async () => {
      closing = true;
      enter('closed');
      if (timer) clearTimeout(timer);
      if (connected) {
        const offline = encodeStatus({ v: 1, node: d.node, state: 'offline', at: now(), agentVersion: d.agentVersion });
        await Promise.race([
          new Promise<void>((resolve) =>
            client.publish(topics.status(d.node), offline, { qos: 1, retain: true }, () => resolve()),
          ),
          new Promise<void>((resolve) => setTimeout(resolve, 2000).unref()),
        ]);
      }
      // A clean DISCONNECT when nothing is in flight, so the broker discards the will (the status
      // already says offline). Otherwise forced: mqtt.js's clean end waits for every in-flight
      // publish to be acknowledged, forever on a cut link, and once it has begun a forced end is a
      // no-op, which left the connection alive. Unacknowledged batches are safe in the outbox.
      await client.endAsync(Object.keys(client.outgoing).length > 0);
      connected = false;
    },
  };
}
