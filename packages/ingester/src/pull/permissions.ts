/**
 * Who may change a pull after it is made. Reading one needs the engineer role only (auth/access.ts),
 * but cancelling stops another engineer's work, which may have waited hours for an offline node: only
 * the token that requested it, or an admin, may. The requester is the token (its `name (id)` label,
 * as the pull row keeps it), the identity the API knows and the per-token pull cap counts by: the
 * same person's second token is another requester.
 */
import { actorLabel } from '../auth/audit-log.js';
import { roleAllows, type Principal } from '../auth/roles.js';

export function mayCancel(by: Principal | undefined, requestedBy: string): boolean {
  if (by === undefined) return false;
  return roleAllows(by.role, 'admin') || actorLabel(by) === requestedBy;
}
