/**
 * Why a pull ended other than done: the codes a pull's `error` starts with, in the API, the audit
 * rows and the logs (the ingester's catalogue, src/errors.ts, covers the HTTP-level ones).
 */
export const PullErrorCodes = {
  ET_ERR_PULL_EXPIRED: 'the node did not answer before the pull expired',
  ET_ERR_PULL_STALLED: 'the node stopped sending and did not resume',
  ET_ERR_PULL_DIGEST_MISMATCH: 'the stored lines do not match the digest the node sent',
  ET_ERR_PULL_NODE: 'the node could not read its store',
  ET_ERR_PULL_CANCELLED: 'cancelled on request',
} as const;
export type PullErrorCode = keyof typeof PullErrorCodes;

export function pullError(code: PullErrorCode, detail?: string): string {
  return detail ? `${code}: ${detail}` : `${code}: ${PullErrorCodes[code]}`;
}
