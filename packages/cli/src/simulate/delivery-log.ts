/**
 * The simulator's delivery log (`--deliveries FILE`): a line per batch the centre acknowledged,
 * `node epoch seq publishedAt ackedAt` (tab-separated, ms since 1970), as the node saw it: its
 * first MQTT publish of the batch (resends keep it) and the arrival of the end-to-end ack, which
 * the ingester sends only once the batch is stored. The pair bounds a batch's publish-to-queryable
 * time from above, without the node's own sealing work (encoding, compression, its outbox) that
 * a thousand simulated nodes do on a few shared cores and real gateways each on their own.
 *
 * Every worker thread appends to the same file: each write is whole lines, and O_APPEND puts each
 * write at the end in one piece. Lines are buffered for a second, so a thousand nodes' acks cost a
 * write a second per thread.
 */
import { createWriteStream } from 'node:fs';
import type { Delivery, Logger } from '@edge-telemetry/collector';

const FLUSH_MS = 1000;

export interface DeliveryLog {
  add(node: string, d: Delivery): void;
  /** Writes what is buffered and closes the file. */
  close(): Promise<void>;
}

export function openDeliveryLog(file: string, log: Logger): DeliveryLog {
  const out = createWriteStream(file, { flags: 'a' });
  let failed = false;
  // A log that cannot be written is said once and dropped; the simulation goes on.
  out.on('error', (err) => {
    if (!failed) log.warn('simulate: delivery log not written', { file, err: err.message });
    failed = true;
  });
  let lines = '';
  const flush = () => {
    if (lines !== '' && !failed) out.write(lines);
    lines = '';
  };
  const timer = setInterval(flush, FLUSH_MS).unref();
  return {
    add(node, d) {
      lines += `${node}\t${d.epoch}\t${d.seq}\t${d.publishedAt}\t${d.ackedAt}\n`;
    },
    close() {
      clearInterval(timer);
      flush();
      return new Promise<void>((resolve) => out.end(() => resolve()));
    },
  };
}
