/**
 * One viewer's log search must not hold every node's acknowledgements (session 12, outsider2: a
 * body search over days of a busy node was one statement of seconds on the embedded engine, and
 * every insert waited behind it). On the real embedded engine, with a node holding millions of log
 * rows over six days: the search is read in bounded slices that take turns with the writer, and
 * answered in parts that say how far they searched. The data make the search long (the bytes bound
 * per statement cuts it into hundreds of slices), never a sleep; the assertions are orders of events.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBatchCodec, topics } from '@edge-telemetry/protocol';
import { TABLES } from '@edge-telemetry/ingester';
import { haveMosquitto } from '../support/mosquitto.js';
import { sampleBatch } from '../support/batches.js';
import { connectNode, type NodeClient } from '../support/node-client.js';
import { startStack, type IngesterOverrides, type Stack } from '../support/stack.js';
import { waitFor } from '../support/wait.js';

const BIG = 'gw-big';
const CALM = 'gw-calm';
/** One row in this many holds the word searched for. */
const NEEDLE_EVERY = 5000;
const DAY_MS = 86_400_000;
const LOG_COLUMNS =
  'Timestamp, NodeName, ContainerName, SeverityText, SeverityNumber, Body, Stream, Repeat, TemplateId, LogAttributes';
/** Several granules of these rows: a slice reads a few, so the search takes hundreds of statements. */
const STATEMENT_BYTES = 2 * 1024 * 1024;

interface LogsAnswer {
  logs: { ts: string; message: string }[];
  truncated: boolean;
  partial: boolean;
  searchedFrom: string;
}

/** A stack whose node BIG holds `rows` short log lines spread over [from, to), and a node CALM that sends batches. */
async function seededStack(reads: Record<string, number>, rows: number, from: number, to: number) {
  const stack = await startStack({
    ingester: {
      mqtt: { clientId: 'log-search-ingester' },
      // The parts of one search come quicker than a person's requests.
      auth: { rateLimitPerSecond: 10_000, rateLimitBurst: 10_000 },
      // Slices bounded by bytes (the data), not by time (the machine's load).
      reads: { sliceMs: 60_000, statementBytes: STATEMENT_BYTES, ...reads },
    } satisfies IngesterOverrides,
  });
  await stack.clickhouse.command({
    query: `INSERT INTO ${TABLES.logs} (${LOG_COLUMNS})
      SELECT fromUnixTimestamp64Milli(toInt64({from:Int64} + intDiv(number * {span:Int64}, {n:UInt64}))), {node:String}, 'app', 'INFO', 9,
        if(number % {every:UInt64} = 0, concat('needle ', toString(number)), concat('GET /api/orders/', toString(number), ' served in ', toString(number % 997), ' ms')),
        'stdout', 1, '', map()
      FROM numbers({n:UInt64})`,
    query_params: { from, span: to - from, n: rows, node: BIG, every: NEEDLE_EVERY },
  });
  return { stack, node: await connectNode(stack.broker.url, CALM) };
}

/** The needle rows of BIG in [from, to), newest first, read in one statement without bounds. */
async function needles(stack: Stack, from: number, to: number): Promise<[number, string][]> {
  const rs = await stack.clickhouse.query({
    query: `SELECT toUnixTimestamp64Milli(Timestamp), Body FROM ${TABLES.logs}
      WHERE NodeName = {node:String} AND positionCaseInsensitiveUTF8(Body, 'needle') > 0
        AND Timestamp >= fromUnixTimestamp64Milli({from:Int64}) AND Timestamp < fromUnixTimestamp64Milli({to:Int64})
      ORDER BY Timestamp DESC`,
    query_params: { node: BIG, from, to },
    format: 'JSONCompactEachRow',
  });
  return (await rs.json<[string, string]>()).map(([ts, body]) => [Number(ts), body]);
}

const rowsOf = (a: LogsAnswer) => a.logs.map((l): [number, string] => [Date.parse(l.ts), l.message]);
const batchOf = (seq: number) => createBatchCodec().encode(sampleBatch({ node: CALM, seq }));

describe.runIf(haveMosquitto())('one long log search and the writer (embedded engine)', () => {
  const ROWS = 3_000_000;
  const to = Date.now() - 60_000;
  const from = to - 6 * DAY_MS;
  let stack: Stack;
  let node: NodeClient;

  beforeAll(async () => {
    ({ stack, node } = await seededStack({ searchMs: 600_000 }, ROWS, from, to));
  }, 120_000);

  afterAll(async () => {
    await node?.close();
    await stack?.close();
  });

  it('acknowledges a batch published while the search runs before the search answers', async () => {
    const expected = await needles(stack, from, to);
    expect(expected.length).toBe(ROWS / NEEDLE_EVERY);
    let answeredAt: number | undefined;
    const search = stack.call(`/api/v1/nodes/${BIG}/logs?q=NEEDLE&limit=1000&from=${from}&to=${to}`).then((res) => {
      answeredAt = performance.now();
      return res;
    });
    await waitFor('the search to start reading', () => stack.ingester.stats().reads.statements >= 1, {
      intervalMs: 1,
    });
    // Its slices run one at a time (reads.concurrency 1), and /metrics says so while they do: polled
    // beside the publish, not before it, so the batch goes at the same point of the search as ever.
    const sawRunning = waitFor('a read running in /metrics', async () =>
      /^et_ingester_api_reads_running 1$/m.test(await (await stack.call('/metrics')).text()),
    );
    void node.publish(topics.batch(CALM), batchOf(1));
    await node.ackFor(1, 120_000);
    const ackedAt = performance.now();
    await sawRunning;
    const res = await search;
    expect(res.status).toBe(200);
    const answer = (await res.json()) as LogsAnswer;
    // The writer went between the slices: its ack came before the search's answer, not after it.
    expect(answeredAt).toBeGreaterThan(ackedAt);
    expect(answer).toMatchObject({ partial: false, truncated: false, searchedFrom: new Date(from).toISOString() });
    expect(rowsOf(answer)).toEqual(expected);
    // Hundreds of short statements, some stopped by the bytes bound and read again in halves.
    const reads = stack.ingester.stats().reads;
    expect(reads.statements).toBeGreaterThan(100);
    expect(reads.overLimit).toBeGreaterThan(0);
  }, 300_000);
});

describe.runIf(haveMosquitto())('a log search answered in parts (embedded engine)', () => {
  const ROWS = 600_000;
  const to = Date.now() - 60_000;
  const from = to - 6 * DAY_MS;
  /** A millisecond holding more than one statement may read (node BURST). */
  const burstAt = to - DAY_MS;
  const BURST = 'gw-burst';
  let stack: Stack;
  let node: NodeClient;

  beforeAll(async () => {
    // A part of the answer after 10 ms of slices.
    ({ stack, node } = await seededStack({ searchMs: 10 }, ROWS, from, to));
    await stack.clickhouse.command({
      query: `INSERT INTO ${TABLES.logs} (${LOG_COLUMNS})
        SELECT fromUnixTimestamp64Milli({at:Int64}), {node:String}, 'app', 'INFO', 9, concat(repeat('x', 100), toString(number)), 'stdout', 1, '', map()
        FROM numbers(100000)`,
      query_params: { at: burstAt, node: BURST },
    });
  }, 120_000);

  afterAll(async () => {
    await node?.close();
    await stack?.close();
  });

  it('says each part is partial and how far it searched; asked again from there, the parts add up to the whole answer', async () => {
    const pages: LogsAnswer[] = [];
    let until = new Date(to).toISOString();
    for (;;) {
      const res = await stack.call(`/api/v1/nodes/${BIG}/logs?q=NEEDLE&limit=1000&from=${from}&to=${until}`);
      expect(res.status).toBe(200);
      const page = (await res.json()) as LogsAnswer;
      pages.push(page);
      expect(page.truncated).toBe(false);
      if (!page.partial) break;
      expect(Date.parse(page.searchedFrom)).toBeLessThan(Date.parse(until));
      until = page.searchedFrom;
    }
    expect(pages.length).toBeGreaterThan(1);
    expect(pages.at(-1)!.searchedFrom).toBe(new Date(from).toISOString());
    expect(pages.flatMap(rowsOf)).toEqual(await needles(stack, from, to));
    expect(stack.ingester.stats().searches.partial).toBe(pages.length - 1);
  }, 300_000);

  it('refuses a search whose millisecond holds more than a statement may read, naming the bound, and counts it', async () => {
    const res = await stack.call(`/api/v1/nodes/${BURST}/logs?q=absent&from=${burstAt - 1000}&to=${burstAt + 1}`);
    expect(res.status).toBe(422);
    const body = (await res.json()) as { code: string; message: string };
    expect(body.code).toBe('ET_ERR_READ_LIMIT');
    expect(body.message).toContain('reads.statementBytes');
    const metrics = await (await stack.call('/metrics')).text();
    expect(Number(/^et_ingester_api_reads_over_limit_total (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);
  }, 60_000);
});
