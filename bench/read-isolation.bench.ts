/**
 * ingester.ack_*_under_search: "no single node or client can slow down the others" for the API's
 * readers (session 12, outsider2: one viewer token looping a body search over six days of a node
 * holding ~300 MB of log bodies took every other node's ack p50 from 0.7 to 7.0 s on the embedded
 * engine). Set-up from test/security/flood-rig.ts (the embedded broker of `start`, an ingester on
 * embedded ClickHouse, 20 normal nodes publishing a batch each 250 ms for 8 rounds); one more node
 * holds 1,000,000 log rows of ~300 bytes over six days, and one client asks for a word none of them
 * holds, over those six days, one request after the other, with the admin token.
 *
 * Figures: the normal nodes' ack p50 and p99 while the client searches (four traffic runs), with
 * the `reads.*` defaults. Baseline in the same run: four runs of the same traffic without the
 * search, alternating with those (a shared machine's load drifts). Then the same again with the
 * read bounds at their largest (a search is then a few statements of seconds, about as before
 * session 13): `..._unbounded`, with its own baseline.
 */
import os from 'node:os';
import { TABLES } from '@edge-telemetry/ingester';
import { median, type BenchCase, type Figure } from './harness.js';
import { embeddedBroker } from '../test/security/broker/brokers.js';
import { p99, startFloodRig, TOKEN, type FloodRig } from '../test/security/flood-rig.js';

const BIG = 'gw-big';
const ROWS = 1_000_000;
const DAY_MS = 86_400_000;
const RUNS = 4;
/** Every read bound at its schema maximum. */
const UNBOUNDED = { statementMs: 600_000, sliceMs: 60_000, searchMs: 600_000 };

/** BIG's rows, spread over the six days before `to`; resolves with their body bytes. */
async function seed(rig: FloodRig, from: number, to: number): Promise<number> {
  await rig.client.command({
    query: `INSERT INTO ${TABLES.logs} (Timestamp, NodeName, ContainerName, SeverityText, SeverityNumber, Body, Stream, Repeat, TemplateId, LogAttributes)
      SELECT fromUnixTimestamp64Milli(toInt64({from:Int64} + intDiv(number * {span:Int64}, {n:UInt64}))), {node:String},
        concat('app-', toString(number % 4)), 'INFO', 9,
        concat('GET /api/orders/', toString(number), ' ', hex(cityHash64(number)), ' served in ', toString(number % 997), ' ms ', repeat(hex(cityHash64(number + 1)), 16)),
        'stdout', 1, '', map()
      FROM numbers({n:UInt64})`,
    query_params: { from, span: to - from, n: ROWS, node: BIG },
  });
  // Merged now, as six days of rows would be: the background merges of one large insert would slow
  // the first traffic after it (a baseline 2-5 times the one measured after the search).
  await rig.client.command({ query: `OPTIMIZE TABLE ${TABLES.logs} FINAL` });
  const [sizes] = await (
    await rig.client.query({
      query: `SELECT sum(length(Body)) FROM ${TABLES.logs} WHERE NodeName = {node:String}`,
      query_params: { node: BIG },
      format: 'JSONCompactEachRow',
    })
  ).json<[string]>();
  return Number(sizes?.[0]);
}

/** Every search's time and whether it answered partial. */
interface Searches {
  ms: number[];
  partial: number;
}

/** `during` while one client loops the search, which is then let finish its last request. */
async function underSearch<T>(url: string, s: Searches, during: () => Promise<T>): Promise<T> {
  let searching = true;
  const loop = (async () => {
    while (searching) {
      const t0 = performance.now();
      const res = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
      const body = (await res.json()) as { partial?: boolean };
      if (!res.ok) throw new Error(`search answered ${res.status}: ${JSON.stringify(body)}`);
      s.ms.push(performance.now() - t0);
      if (body.partial) s.partial++;
    }
  })();
  try {
    return await during();
  } finally {
    searching = false;
    await loop;
  }
}

async function measure(suffix: string, reads: Record<string, number>): Promise<Figure[]> {
  const rig = await startFloodRig(embeddedBroker, {}, reads);
  try {
    const to = Date.now() - 60_000;
    const from = to - 6 * DAY_MS;
    const bodyBytes = await seed(rig, from, to);
    await rig.normalTraffic(1);
    const url = `${rig.api}/api/v1/nodes/${BIG}/logs?q=absent-word&from=${from}&to=${to}`;
    const searches: Searches = { ms: [], partial: 0 };
    // Quiet and searched runs alternate, so both see the same minutes of a shared machine.
    const quiet: number[] = [];
    const under: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      quiet.push(...(await rig.normalTraffic(100 + 20 * r)));
      under.push(...(await underSearch(url, searches, () => rig.normalTraffic(110 + 20 * r))));
    }
    const reads = rig.ingester.stats().reads;
    const setting = `20 nodes x 8 batches at 250 ms, ${RUNS} runs, each while one client loops GET /logs?q=<absent> over 6 days of ${BIG} (${ROWS} rows, ${(bodyBytes / 1e6).toFixed(0)} MB of bodies), embedded broker and chdb, ${suffix === '' ? 'reads.* defaults' : `reads ${JSON.stringify(UNBOUNDED)}`}`;
    const searchNote = `${searches.ms.length} searches, median ${median(searches.ms).toFixed(0)} ms, ${searches.partial} partial; ${reads.statements} read statements, ${reads.overLimit} over a bound; load average ${os.loadavg()[0]!.toFixed(1)}`;
    const figure = (q: string, of: (xs: number[]) => number): Figure => ({
      name: `ingester.ack_${q}_ms_under_search${suffix}`,
      value: of(under),
      unit: 'ms',
      baseline: of(quiet),
      ratio: of(under) / of(quiet),
      note: `${setting}; baseline the ack ${q} of ${RUNS} runs of the same traffic without the search, alternating with them; ${searchNote}`,
    });
    return [figure('p50', median), figure('p99', p99)];
  } finally {
    await rig.close();
  }
}

export const benches: BenchCase[] = [
  {
    name: 'ingester.ack',
    run: async () => [...(await measure('', {})), ...(await measure('_unbounded', UNBOUNDED))],
  },
];
