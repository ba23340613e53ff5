/**
 * Whether a node runs what it should, and when to send it its document (pure). What it should run
 * is its merged document (fleet/layers.ts), known by its hash; the node reports the hash of the
 * document it applied (docHash, the command's own hash). The revision of the layers alone is not
 * enough: a rollout admitting a node, or a label change, gives it another document at the same
 * highest revision (issue 20: a node with a debug of its own at a later revision, then admitted,
 * was sent nothing and called in sync).
 *
 * A node applies only a revision above the one it last took, so a document it lacks is sent at the
 * layers' revision when that is above, else at a revision above the node's own (at least the
 * clock, as new revisions are: fleet/documents.ts). Should a later change then get a revision the
 * node already saw, the node answers with its status and this sends it again above it.
 */
import type { ConfigStatus } from '@edge-telemetry/protocol';
import type { Desired } from './layers.js';

/** The node applied the document it should run (no layer concerns it: it applied none). */
export const inSync = (want: Desired, c: ConfigStatus | undefined): boolean =>
  want.rev === 0 ? (c?.appliedRev ?? 0) === 0 : c?.docHash === want.hash;

/** The revision to send the node its document at, or undefined when nothing is to be sent. */
export function revisionToSend(want: Desired, c: ConfigStatus | undefined, now: number): number | undefined {
  if (want.rev === 0 || inSync(want, c)) return undefined;
  const reported = c?.rev ?? 0;
  if (want.rev > reported) return want.rev;
  // Refused or reverted on the node at or above every layer's revision: never sent again until
  // another change (the node's own rule too); still applying: its status says next what it runs.
  if (c?.state !== 'applied') return undefined;
  return Math.max(reported + 1, now);
}

/**
 * The revision to send again to a node of a rollout stage that has not reported the change: as
 * revisionToSend, and when that sends nothing although the node is not in sync (the center last
 * heard `applying`, or a refusal, at or above the layers' revision), at the layers' revision
 * anyway. At or below the revision the node took, the command only makes it answer with its
 * status. A status can be lost for good: the ingester that received it died before storing it,
 * and a shared subscription gives it to no other ingester; without this the stage would wait for
 * its apply timeout and fail.
 */
export function revisionToResend(want: Desired, c: ConfigStatus | undefined, now: number): number | undefined {
  const rev = revisionToSend(want, c, now);
  return rev !== undefined || want.rev === 0 || inSync(want, c) ? rev : want.rev;
}
