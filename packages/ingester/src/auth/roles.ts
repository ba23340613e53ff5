/** API roles, each including the ones before it: viewer < engineer < admin. */
export const ROLES = ['viewer', 'engineer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const isRole = (v: unknown): v is Role => typeof v === 'string' && (ROLES as readonly string[]).includes(v);

export const roleAllows = (have: Role, need: Role): boolean => ROLES.indexOf(have) >= ROLES.indexOf(need);

/** Who made a request: the token's id and name (never its secret) and its role. */
export interface Principal {
  id: string;
  name: string;
  role: Role;
}
