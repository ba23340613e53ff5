/** The API token table (migration 0004) and its insert column order. */
export const TOKEN_TABLE = 'et_api_tokens';

export const TOKEN_COLUMNS = [
  'TokenId',
  'Name',
  'Role',
  'TokenHash',
  'CreatedAt',
  'CreatedBy',
  'ExpiresAt',
  'RevokedAt',
  'RevokedBy',
  'UpdatedAt',
] as const;
