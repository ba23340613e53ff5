/** The log-pull tables (migration 0003) and the column order they are inserted in; the audit table is shared with auth/audit-log.ts. */
export const PULL_TABLES = {
  pulls: 'et_log_pulls',
  lines: 'et_pulled_lines',
  audit: 'et_pull_audit',
} as const;

export const PULL_COLUMNS = {
  pulls: [
    'PullId',
    'NodeName',
    'State',
    'Filter',
    'RequestedBy',
    'CreatedAt',
    'ExpiresAt',
    'StartedAt',
    'FinishedAt',
    'LinesReceived',
    'BytesReceived',
    'BytesExpected',
    'ChunksExpected',
    'Error',
    'UpdatedAt',
  ],
  lines: ['PullId', 'Seq', 'Idx', 'Timestamp', 'ContainerName', 'Stream', 'SeverityText', 'Line', 'InsertedAt'],
  audit: [
    'At',
    'PullId',
    'NodeName',
    'RequestedBy',
    'Action',
    'Accepted',
    'Reason',
    'Filter',
    'Lines',
    'Bytes',
    'RemoteAddress',
  ],
} as const;
