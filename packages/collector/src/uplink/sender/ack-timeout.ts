/**
 * The ack timeout as TCP's retransmission timeout (RFC 6298): a smoothed ack time and its mean
 * deviation, from acks of batches sent once (Karn: the ack of a batch sent twice could answer
 * either copy), and a timeout of the smoothed time plus four deviations, between a least value
 * and the configured ackTimeoutMs. A batch whose ack is lost (an ingester killed after taking it)
 * is then sent again after about the time acks take, not after the configured maximum; a resend
 * is safe, the ingester stores (node, epoch, seq) once. Pure functions over plain data.
 */

export interface AckEstimate {
  /** Smoothed ack time (ms). */
  srttMs: number;
  /** Its smoothed mean deviation (ms). */
  rttvarMs: number;
}

/** The estimate after one more ack that took `ms` (RFC 6298 section 2, alpha 1/8, beta 1/4). */
export function sampleAck(e: AckEstimate | undefined, ms: number): AckEstimate {
  if (e === undefined) return { srttMs: ms, rttvarMs: ms / 2 };
  return {
    rttvarMs: 0.75 * e.rttvarMs + 0.25 * Math.abs(e.srttMs - ms),
    srttMs: 0.875 * e.srttMs + 0.125 * ms,
  };
}

/** The timeout for the next batch: `maxMs` until an ack was measured, then srtt + 4 x rttvar within [minMs, maxMs]. */
export function ackTimeoutFor(e: AckEstimate | undefined, minMs: number, maxMs: number): number {
  if (e === undefined) return maxMs;
  return Math.min(maxMs, Math.max(minMs, Math.ceil(e.srttMs + 4 * e.rttvarMs)));
}
