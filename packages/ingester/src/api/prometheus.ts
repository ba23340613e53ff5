/** The ingester's own counters in the Prometheus text format. Pure; labels are bounded (reason codes). */
import type { RouterCounters } from '../consumer/router.js';
import type { WriterState } from '../writer/writer.js';
import type { ReferenceStats } from '../references/store.js';
import type { TemplateTextStats } from '../template-texts/resolver.js';
import type { NodeQuotas } from '../quotas/node-quotas.js';
import type { PullCounters } from '../pull/coordinator.js';
import type { ConnectionRefusal } from '@edge-telemetry/protocol/net';
import { LOOP_DELAY_PERIOD_MS, type LoopFigures } from '../loop-delay.js';
import type { ReadFigures } from '../storage/read-scheduler.js';
import type { LogSearchCounters } from './log-search.js';

/** Series with a node label at most: beyond, the rest are summed under node="(others)". */
const MAX_NODE_SERIES = 1000;

export interface IngesterFigures {
  writer: WriterState;
  consumer: RouterCounters;
  /** Messages received and not in the writer's queue yet (Router.handling). */
  handling?: { messages: number; bytes: number };
  brokerConnected: boolean;
  references?: ReferenceStats;
  templateTexts?: TemplateTextStats;
  quotas?: Pick<NodeQuotas, 'drops' | 'totals'>;
  pulls?: PullCounters;
  /** API connections closed as accepted, by the cap they met (protocol's net/connection-limits.ts). */
  connectionsRefused?: Record<ConnectionRefusal, number>;
  /** The event loop's busy time and delay (loop-delay.ts). */
  loop?: LoopFigures;
  /** The API's reads (storage/read-scheduler.ts). */
  reads?: ReadFigures;
  /** The API's log searches (api/log-search.ts). */
  searches?: LogSearchCounters;
}

export function prometheusText(f: IngesterFigures): string {
  const { writer: w, consumer: c, handling: h, brokerConnected, references: r, templateTexts: t, quotas: q } = f;
  const { pulls, connectionsRefused, loop, reads, searches } = f;
  const lines: string[] = [];
  const metric = (name: string, type: 'counter' | 'gauge' | 'summary', help: string, samples: [string, number][]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of samples) lines.push(`${name}${labels} ${v}`);
  };
  metric('et_ingester_messages_received_total', 'counter', 'Upstream MQTT messages received.', [['', c.received]]);
  metric('et_ingester_batches_accepted_total', 'counter', 'Batches decoded and queued for insert.', [
    ['', c.batchesAccepted],
  ]);
  metric('et_ingester_batches_stored_total', 'counter', 'Batches whose rows ClickHouse accepted.', [
    ['', c.batchesStored],
  ]);
  metric(
    'et_ingester_batches_duplicate_total',
    'counter',
    'Batches already in the ledger (acknowledged, not stored again).',
    [['', c.batchesDuplicate]],
  );
  metric('et_ingester_acks_published_total', 'counter', 'Acknowledgements published to nodes.', [
    ['', c.acksPublished],
  ]);
  metric(
    'et_ingester_unknown_references_total',
    'counter',
    'Batches compressed against a keyframe this ingester could not find; the node was asked to resend them standalone.',
    [['', c.unknownReferences]],
  );
  metric(
    'et_ingester_batches_off_clock_total',
    'counter',
    "Batches stamped by a node clock that was never set (behind: before 2025) or runs ahead of the ingester's, stored moved to their receive time.",
    [
      ['{direction="behind"}', c.offClock.behind],
      ['{direction="ahead"}', c.offClock.ahead],
    ],
  );
  metric(
    'et_ingester_batches_past_retention_total',
    'counter',
    'Batches stored at their own times that ended before the shortest data retention (a backlog that old): the TTL deletes rows of theirs at the next merge.',
    [['', c.pastRetention]],
  );
  metric('et_ingester_statuses_total', 'counter', 'Node status messages received.', [['', c.statuses]]);
  metric(
    'et_ingester_rejected_total',
    'counter',
    'Messages rejected and dead-lettered, by reason code.',
    Object.entries(c.rejected).map(([code, n]) => [`{reason="${code}"}`, n]),
  );
  metric('et_ingester_rows_inserted_total', 'counter', 'Rows inserted into ClickHouse (ledger rows not counted).', [
    ['', w.rowsInserted],
  ]);
  metric('et_ingester_inserts_total', 'counter', 'Coalesced flushes that ClickHouse accepted.', [['', w.inserts]]);
  metric('et_ingester_insert_failures_total', 'counter', 'Failed ClickHouse calls (each retried).', [
    ['', w.insertFailures],
  ]);
  metric(
    'et_ingester_batches_refused_total',
    'counter',
    'Batches whose rows ClickHouse refused (dead-lettered with ET_ERR_STORAGE_REJECTED, then acknowledged).',
    [['', w.batchesRefused]],
  );
  metric(
    'et_ingester_claims_unreadable_total',
    'counter',
    "Other ingesters' claims this version could not read (ET_ERR_CLAIM_UNREADABLE): their batches were left unacknowledged.",
    [['', w.claimsUnreadable]],
  );
  metric('et_ingester_queue_batches', 'gauge', 'Batches waiting for insert.', [['', w.queuedBatches]]);
  metric('et_ingester_queue_rows', 'gauge', 'Rows waiting for insert.', [['', w.queuedRows]]);
  metric('et_ingester_queue_bytes', 'gauge', 'Approximate bytes waiting for insert.', [['', w.queuedBytes]]);
  if (h) {
    // Received and not queued for insert yet: a node lane, or template texts being read.
    metric('et_ingester_handling_messages', 'gauge', 'Messages received, not queued yet.', [['', h.messages]]);
    metric('et_ingester_handling_bytes', 'gauge', 'Payload bytes of those messages.', [['', h.bytes]]);
  }
  metric('et_ingester_backpressured', 'gauge', '1 while the consumer is stopped (queue full or ClickHouse failing).', [
    ['', w.backpressured ? 1 : 0],
  ]);
  metric('et_ingester_clickhouse_failing', 'gauge', '1 while ClickHouse calls fail and are retried.', [
    ['', w.failing ? 1 : 0],
  ]);
  metric('et_ingester_broker_connected', 'gauge', '1 while connected to the MQTT broker.', [
    ['', brokerConnected ? 1 : 0],
  ]);
  if (loop) {
    metric(
      'et_ingester_event_loop_busy_seconds_total',
      'counter',
      'Seconds the event loop spent running callbacks (rate() is its busy share; near 1, messages wait at the socket).',
      [['', loop.busySeconds]],
    );
    metric(
      'et_ingester_event_loop_delay_seconds',
      // Quantiles are a summary's: promtool refuses a `quantile` label on any other type.
      'summary',
      `How late the event loop ran a timer, over the last ${LOOP_DELAY_PERIOD_MS / 1000} s: p99 and max.`,
      [
        ['{quantile="0.99"}', loop.delayP99Seconds],
        ['{quantile="1"}', loop.delayMaxSeconds],
      ],
    );
  }
  if (r) {
    metric('et_ingester_reference_cache_hits_total', 'counter', 'Keyframe bodies found in the cache.', [['', r.hits]]);
    metric(
      'et_ingester_reference_cache_misses_total',
      'counter',
      'Keyframe bodies read from ClickHouse (a cache too small for the fleet shows here).',
      [['', r.misses]],
    );
    metric(
      'et_ingester_reference_reads_total',
      'counter',
      'ClickHouse reads of keyframe bodies (each serves every body missed while the one before ran).',
      [['', r.reads]],
    );
    metric(
      'et_ingester_reference_followed_total',
      'counter',
      "Keyframe bodies read ahead of need (referenceFollowMs): the other ingesters' of a shared subscription, mostly.",
      [['', r.followed]],
    );
    metric(
      'et_ingester_reference_follow_dropped_total',
      'counter',
      "Keyframe bodies read ahead and given up unused for room: referenceCacheMiB is below the fleet's keyframes.",
      [['', r.followDropped]],
    );
    metric('et_ingester_reference_cache_bytes', 'gauge', 'Bytes of keyframe bodies held in the cache.', [
      ['', r.cachedBytes],
    ]);
  }
  if (t) {
    metric(
      'et_ingester_template_texts_omitted_total',
      'counter',
      'Template rows that left their text out (the node knew it was stored), by where the text was found.',
      [
        ['{found="cache"}', t.fromCache],
        ['{found="clickhouse"}', t.fromStorage],
        ['{found="nowhere"}', t.unresolved],
      ],
    );
    metric(
      'et_ingester_template_text_lookups_skipped_total',
      'counter',
      'Of those found nowhere: rows beyond the 20,000 texts one batch may have looked up in ClickHouse, stored empty without a read (their node is charged for every text found nowhere).',
      [['', t.notLookedUp]],
    );
    metric('et_ingester_template_text_reads_total', 'counter', 'ClickHouse reads for omitted template texts.', [
      ['', t.reads],
    ]);
    metric(
      'et_ingester_template_text_followed_total',
      'counter',
      "Template texts read ahead of need (referenceFollowMs): the other ingesters' of a shared subscription, mostly.",
      [['', t.followed]],
    );
    metric('et_ingester_template_text_cache_bytes', 'gauge', 'Approximate bytes of template texts held.', [
      ['', t.cachedBytes],
    ]);
  }
  if (pulls) {
    metric(
      'et_ingester_log_pull_follow_streams',
      'gauge',
      'Log-pull line streams with follow=true open now (each ends with its client, its pull, or the process).',
      [['', pulls.followStreams]],
    );
    metric(
      'et_ingester_log_pull_cancels_refused_total',
      'counter',
      'Log-pull cancels refused (403 ET_ERR_PULL_NOT_REQUESTER): the caller neither requested the pull nor is an admin. Each is in the audit table.',
      [['', pulls.cancelsRefused]],
    );
    metric(
      'et_ingester_log_pull_lookups_refused_total',
      'counter',
      'Pull messages for ids not known here that were not looked up in ClickHouse: their node was over its lookup budget (10 at once, then 2 a second); such a message is ignored, as one for an unknown pull.',
      [['', pulls.lookupsRefused]],
    );
  }
  if (connectionsRefused)
    metric(
      'et_ingester_http_connections_refused_total',
      'counter',
      'API connections closed as they were accepted, by the cap they met: http.maxConnections (total) or http.maxConnectionsPerAddress (address).',
      Object.entries(connectionsRefused).map(([reason, n]) => [`{reason="${reason}"}`, n]),
    );
  if (reads) {
    metric('et_ingester_api_read_statements_total', 'counter', 'API read statements run (a log search is several).', [
      ['', reads.statements],
    ]);
    metric(
      'et_ingester_api_reads_over_limit_total',
      'counter',
      'API read statements stopped by their time or bytes bound (reads.statementMs, reads.sliceMs, reads.statementBytes): answered 422, or a log-search slice read again in halves.',
      [['', reads.overLimit]],
    );
    metric(
      'et_ingester_api_reads_refused_total',
      'counter',
      'API reads refused with 429 because their token had reads.waitingPerToken reads waiting.',
      [['', reads.refused]],
    );
    metric('et_ingester_api_reads_waiting', 'gauge', 'API read statements waiting for their turn.', [
      ['', reads.waiting],
    ]);
    metric('et_ingester_api_reads_running', 'gauge', 'API read statements running now (at most reads.concurrency).', [
      ['', reads.running],
    ]);
  }
  if (searches)
    metric(
      'et_ingester_api_log_searches_partial_total',
      'counter',
      'Log searches answered partial: reads.searchMs spent, a slice over its bounds, or the caller gone.',
      [['', searches.partial]],
    );
  if (q) {
    const listed = q.drops(MAX_NODE_SERIES);
    const total = q.totals();
    const others = (k: 'messages' | 'bytes' | 'deadLetters' | 'deadLetterBytes') =>
      total[k] - listed.reduce((n, d) => n + d[k], 0);
    const perNode = (k: 'messages' | 'bytes' | 'deadLetters' | 'deadLetterBytes'): [string, number][] => [
      ...listed.filter((d) => d[k] > 0).map((d): [string, number] => [`{node="${d.node}"}`, d[k]]),
      ...(others(k) > 0 ? [['{node="(others)"}', others(k)] as [string, number]] : []),
    ];
    metric(
      'et_ingester_quota_dropped_messages_total',
      'counter',
      'Messages dropped unprocessed because their node was over its message or byte rate or its share of the messages in hand, by node.',
      perNode('messages'),
    );
    metric(
      'et_ingester_quota_dropped_bytes_total',
      'counter',
      'Payload bytes of those messages, by node.',
      perNode('bytes'),
    );
    metric(
      'et_ingester_dead_letters_over_quota_total',
      'counter',
      "Dead-letter rows not stored because their node's daily allowance was spent, by node.",
      perNode('deadLetters'),
    );
    metric(
      'et_ingester_dead_letter_bytes_over_quota_total',
      'counter',
      'Bytes of those dead-letter rows, by node.',
      perNode('deadLetterBytes'),
    );
  }
  return lines.join('\n') + '\n';
}
