/**
 * The embedded MQTT broker for `start`: aedes in-process, MQTT 3.1.1 only and no shared
 * subscriptions (docs/architecture.md), secured like the shipped Mosquitto configuration:
 *
 * - every client authenticates: node accounts from a Mosquitto password file (`nodes add
 *   --password-file <it>`), the ingester's account from the caller; anonymous and wrong
 *   credentials get CONNACK 5 (not authorized), as Mosquitto answers a 3.1.1 client;
 * - a node's client id is forced to its account (Mosquitto's use_username_as_clientid), so no one
 *   takes over another node's session or disconnects it by choosing its id;
 * - the ACL of docker/mosquitto/acl (acl.ts): a publish a client may not make is discarded after
 *   its PUBACK (what Mosquitto does for a 3.1.1 client), a message is delivered only to clients that
 *   may read its topic (each delivery is checked, as in Mosquitto 2.0); a node may hold only
 *   filters under its own down/, at most MAX_NODE_FILTERS of them (others get SUBACK 0x80), so an
 *   offline session queues nothing it may not read and a node cannot grow the subscription tree;
 * - a QoS 2 publish closes its connection before aedes stores it (Mosquitto's `max_qos 1`): the
 *   contract uses QoS 0 and 1 only, and aedes keeps each QoS 2 publish until its PUBREL, per
 *   session and across reconnects, so one node that never sent PUBREL held 1 GB of this process
 *   per 1,000 packets of 1 MB (`maxInflightInbound` bounds only one connection);
 * - a packet above `maxPacketBytes` is refused at its fixed header and its connection closed,
 *   before aedes buffers it, and a connection over its publish rate is read slower, so one flooding
 *   client cannot take this process (which `start` shares with the ingester) from the others
 *   (packet-guard.ts). The rate is above the ingester's per-node quota, which drops and counts the
 *   excess (ingester quotas/).
 */
import net from 'node:net';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import { limits } from '@edge-telemetry/protocol';
import { createConnectionGate } from '@edge-telemetry/protocol/net';
import type { AccountBook } from './accounts.js';
import { mayPublish, mayReceive, mayRetain, maySubscribe, type Account } from './acl.js';
import { guardPackets, type OversizedPacket } from './packet-guard.js';

/**
 * The largest MQTT packet a node or the ingester sends: a batch frame at the protocol's maximum
 * (pull chunks and control messages are smaller) plus its topic and packet framing.
 */
export const MAX_PACKET_BYTES = limits.maxBatchWireBytes + 4096;

/**
 * Publishes per second and burst per connection before it is read slower: five times the
 * ingester's default per-node quota (200/s, burst 1,000), so the ingester still sees, drops and
 * counts a node's excess, while a flood stops costing this process more than that.
 */
export const PUBLISH_RATE = { perSecond: 1000, burst: 10_000 };

/**
 * Distinct filters a node's connection may hold: the collector subscribes to one (its down/#).
 * Without a bound one node subscribed to 100,000 filters in 20 packets, which took this process
 * (shared with the ingester) 270 MB and four minutes of CPU.
 */
export const MAX_NODE_FILTERS = 16;

/**
 * Connections the broker holds at once; the next is closed as it is accepted. Each is a file
 * descriptor of the process that `start` shares with the ingester and its embedded ClickHouse:
 * 20,000 idle connections (no CONNECT, 30 s each before aedes drops them, opened again and again)
 * took every descriptor, and every insert failed with "Too many open files". 8,192 is well over
 * the gateways `start --simulate` runs (1,000 in the benches) and leaves the rest of the usual
 * open-files limit (Node raises its soft limit to the hard one) to the API (its own cap,
 * `http.maxConnections`) and the engine.
 */
export const MAX_CONNECTIONS = 8192;

/**
 * The highest QoS a client may publish with: the contract's (docs/architecture.md). aedes stores a
 * QoS 2 publish until its PUBREL for as long as the session lives, whatever its topic.
 */
export const MAX_QOS = 1;

/** Where refused publishes go: a `$` topic no `#` filter matches and no account may read. */
const DISCARDED = '$discarded';

export interface EmbeddedBrokerOptions {
  host: string;
  port: number;
  accounts: AccountBook;
  maxPacketBytes?: number;
  publishRate?: { perSecond: number; burst: number };
  /** Connections held at once (MAX_CONNECTIONS). */
  maxConnections?: number;
  /** Told of refusals (bad credentials, oversized packets, forbidden publishes or retains, throttled clients, connections over the cap), for the log. */
  onRefused?: (what: string, detail: Record<string, unknown>) => void;
}

export interface EmbeddedBroker {
  url: string;
  stats(): {
    refusedConnects: number;
    refusedPublishes: number;
    oversizedPackets: number;
    throttled: number;
    /** Retained publishes outside the node's status topic, delivered without the retain flag. */
    unretained: number;
    /** Subscriptions refused (SUBACK 0x80): filters outside the node's own down/, or over MAX_NODE_FILTERS. */
    refusedSubscriptions: number;
    /** Connections closed as they were accepted: maxConnections were held. */
    refusedConnections: number;
    /** Connections closed at a QoS 2 publish (MAX_QOS). */
    refusedQos: number;
  };
  close(): Promise<void>;
}

export async function startEmbeddedBroker(o: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const accountOf = new WeakMap<Client, Account>();
  const stats = {
    refusedConnects: 0,
    refusedPublishes: 0,
    oversizedPackets: 0,
    throttled: 0,
    unretained: 0,
    refusedSubscriptions: 0,
    refusedConnections: 0,
    refusedQos: 0,
  };
  /** The filters granted to each node connection (a reconnecting session's are granted again). */
  const filtersOf = new WeakMap<Client, Set<string>>();
  const granted = (client: Client, filter: string) =>
    accountOf.get(client)?.kind === 'ingester' || filtersOf.get(client)?.has(filter) === true;
  const refused = (what: string, detail: Record<string, unknown>) => o.onRefused?.(what, detail);
  const limit = o.maxPacketBytes ?? MAX_PACKET_BYTES;
  const rate = o.publishRate ?? PUBLISH_RATE;

  const aedes = await Aedes.createBroker({
    authenticate(client, username, password, done) {
      o.accounts.verify(username, password).then(
        (account) => {
          if (!account) {
            stats.refusedConnects++;
            refused('connect', { user: username ?? '(anonymous)', clientId: client.id });
            const err = new Error('not authorized') as AuthenticateError;
            err.returnCode = 5;
            return done(err, false);
          }
          accountOf.set(client, account);
          // Before aedes registers the client: the session and any takeover use the forced id.
          if (account.kind === 'node') client.id = account.user;
          done(null, true);
        },
        () => {
          const err = new Error('server unavailable') as AuthenticateError;
          err.returnCode = 3;
          done(err, false);
        },
      );
    },
    authorizePublish(client, packet, callback) {
      const account = client ? accountOf.get(client) : undefined;
      if (packet.qos > MAX_QOS) {
        stats.refusedQos++;
        refused('qos', { user: account?.user, qos: packet.qos, topic: packet.topic.slice(0, 200) });
        // An error closes the connection before aedes stores the packet: dropping it after a
        // PUBREC would still store it (publish.js stores before it publishes).
        return callback(new Error(`QoS ${packet.qos} publishes are not accepted (at most ${MAX_QOS})`));
      }
      if (account && mayPublish(account, packet.topic)) {
        if (packet.retain && !mayRetain(account, packet.topic)) {
          // Delivered, not kept: Mosquitto cannot refuse this per topic (docs/security.md).
          stats.unretained++;
          refused('retain', { user: account.user, topic: packet.topic.slice(0, 200) });
          packet.retain = false;
        }
        return callback(null);
      }
      stats.refusedPublishes++;
      refused('publish', { user: account?.user, topic: packet.topic.slice(0, 200) });
      // Discarded, not refused with an error: an error would close the connection, where
      // Mosquitto acknowledges a 3.1.1 publish it may not make and drops it.
      packet.topic = DISCARDED;
      packet.retain = false;
      callback(null);
    },
    authorizeSubscribe(client, sub, callback) {
      const account = accountOf.get(client);
      if (account?.kind === 'ingester') return callback(null, sub);
      const filters = filtersOf.get(client) ?? filtersOf.set(client, new Set()).get(client)!;
      if (account && maySubscribe(account, sub.topic) && (filters.has(sub.topic) || filters.size < MAX_NODE_FILTERS)) {
        filters.add(sub.topic);
        return callback(null, sub);
      }
      stats.refusedSubscriptions++;
      refused('subscribe', { user: account?.user, filter: sub.topic.slice(0, 200), held: filters.size });
      // Refused (SUBACK 0x80) rather than an error, which would close the connection.
      callback(null, null);
    },
    authorizeForward(client, packet) {
      const account = accountOf.get(client);
      return account && packet.topic !== DISCARDED && mayReceive(account, packet.topic) ? packet : null;
    },
  });

  // aedes stores a SUBSCRIBE's every filter along with each one it grants (handlers/subscribe.js,
  // storeSubscriptions), refused ones included, and an offline session's stored filters decide
  // what is queued for it: only granted filters may reach the store.
  const store = (aedes as unknown as { persistence: SubscriptionStore }).persistence;
  const addSubscriptions = store.addSubscriptions.bind(store);
  store.addSubscriptions = (client, subs, ...rest) =>
    addSubscriptions(
      client,
      subs.filter((s) => granted(client, s.topic)),
      ...rest,
    );

  const maxConnections = o.maxConnections ?? MAX_CONNECTIONS;
  const connections = createConnectionGate({ maxConnections, maxConnectionsPerAddress: Infinity }, () => {
    stats.refusedConnections++;
    refused('connection', { held: maxConnections });
  });
  const server = net.createServer((socket) => {
    if (!connections.admit(socket)) return;
    aedes.handle(
      guardPackets(socket, {
        maxPacketBytes: limit,
        publishesPerSecond: rate.perSecond,
        publishBurst: rate.burst,
        onOversized: (p: OversizedPacket) => {
          stats.oversizedPackets++;
          refused('packet', { from: socket.remoteAddress, announced: p.announced, limit: p.limit });
        },
        onThrottled: (pauseMs) => {
          stats.throttled++;
          refused('rate', { from: socket.remoteAddress, pauseMs });
        },
      }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      // aedes's heartbeat timer would keep the process alive after the failure is reported.
      aedes.close(() =>
        reject(
          new Error(
            err.code === 'EADDRINUSE'
              ? `MQTT port ${o.port} is in use; fix: pass --mqtt-port <free port>`
              : err.message,
          ),
        ),
      ),
    );
    server.listen(o.port, o.host, () => resolve());
  });
  const addr = server.address();
  const bound = typeof addr === 'object' && addr ? addr.port : o.port;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    url: `mqtt://${host}:${bound}`,
    stats: () => ({ ...stats }),
    close: () =>
      // aedes first: its open client sockets would keep server.close() waiting.
      new Promise<void>((resolve) => aedes.close(() => server.close(() => resolve()))),
  };
}

/** The part of aedes's persistence (aedes-persistence, untyped in aedes) that stores a session's filters. */
interface SubscriptionStore {
  addSubscriptions(client: Client, subs: Array<{ topic: string }>, ...rest: unknown[]): unknown;
}
