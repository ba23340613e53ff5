/**
 * Who may take the last half of the OTLP item bucket. The bucket (`itemsPerSecond`, `burstItems`)
 * is the node's, shared by every application on the gateway: one that floods it (a metric
 * exporter with a runaway cardinality, a log storm over OTLP) drained it, and every other
 * application got 429 for as long as the flood lasted; the SDK's gRPC exporters do not retry, so
 * theirs was lost. The client that asked for the most of late (refused requests count: a refused
 * flood stays the heaviest), this request included, while another client sent within `ACTIVE_MS`,
 * is taken only while the bucket keeps half after it: the lower half stays for the others (its
 * request over half the bucket: on a full bucket, intake.ts). A client alone is not limited, and
 * neither are equal ones (none asks for more than the rest together).
 *
 * Clients are told apart by address (the connection caps' key: an IPv6 client by its /64), so
 * applications on the host network share one; a container on a bridge network is one. Pure: the
 * caller passes the time.
 */
/** How long a client counts as sending: two of the SDK's default metric export intervals (60 s). */
export const ACTIVE_MS = 120_000;
/** A client's recent demand halves every this many ms: a flood is seen over the last seconds, not the last instant. */
const HALF_LIFE_MS = 10_000;
/** Clients followed at once (the least recent is forgotten): the caps hold at most 256 connections. */
const MAX_CLIENTS = 256;

interface Usage {
  /** Items taken, decayed to `at`. */
  items: number;
  at: number;
}

export interface FairShare {
  /**
   * True when `client` (a clientKey), with `items` more, asked for more of late than every other
   * client together, and another client sent within ACTIVE_MS.
   */
  heaviest(client: string, items: number, now: number): boolean;
  /** Notes that `client` asked for `items`, taken or refused: a refused flood stays the heaviest. */
  asked(client: string, items: number, now: number): void;
}

export function createFairShare(): FairShare {
  const clients = new Map<string, Usage>();
  const recent = (u: Usage, now: number) => u.items * 0.5 ** (Math.max(0, now - u.at) / HALF_LIFE_MS);
  return {
    heaviest(key, items, now) {
      let mine = 0;
      let others = 0;
      let othersActive = false;
      for (const [k, u] of clients) {
        if (now - u.at > ACTIVE_MS) {
          clients.delete(k);
          continue;
        }
        if (k === key) mine = recent(u, now);
        else {
          others += recent(u, now);
          othersActive = true;
        }
      }
      return othersActive && mine + items > others;
    },
    asked(key, items, now) {
      const u = clients.get(key);
      const total = (u === undefined ? 0 : recent(u, now)) + items;
      // Re-inserted, so the map's order is by last take and the first entry is the least recent.
      clients.delete(key);
      clients.set(key, { items: total, at: now });
      if (clients.size > MAX_CLIENTS) clients.delete(clients.keys().next().value as string);
    },
  };
}
