/**
 * The ingester's error catalogue. API responses, log lines, dead-letter reasons and counters
 * use these codes; protocol rejections keep the protocol's own codes (ET_ERR_TOO_LARGE, ...).
 */
import { defineErrors } from '@edge-telemetry/protocol';

export const IngesterErrorCodes = {
  ET_ERR_CONFIG_INVALID: { status: 500, message: 'configuration is invalid' },
  ET_ERR_CONFIG_FILE: { status: 500, message: 'configuration file cannot be read or parsed' },
  ET_ERR_DATA_DIR_LOCKED: { status: 500, message: 'another process runs the embedded engine on clickhouse.dataDir' },
  ET_ERR_MIGRATION_FAILED: { status: 500, message: 'a schema migration failed' },
  ET_ERR_STORAGE_UNAVAILABLE: { status: 503, message: 'ClickHouse did not accept the request' },
  ET_ERR_STORAGE_REJECTED: {
    status: 422,
    message: 'ClickHouse refused the rows of this batch; retrying would not help',
  },
  ET_ERR_WRITER_CLOSED: { status: 503, message: 'the writer is closed' },
  ET_ERR_CLAIM_UNREADABLE: {
    status: 503,
    message: 'another ingester claimed this batch in a claim this version cannot read; not acknowledged',
  },
  ET_ERR_UNKNOWN_TOPIC: { status: 400, message: 'topic is not part of the protocol' },
  ET_ERR_UNSUPPORTED_KIND: { status: 400, message: 'message kind is not handled by this ingester' },
  ET_ERR_TEMPLATE_TEXT_UNKNOWN: {
    status: 422,
    message: 'a template row left its text out and no stored row has it; stored with an empty text',
  },
  ET_ERR_NODE_CLOCK: {
    status: 422,
    message: 'a batch is stamped by a node clock that was never set or runs ahead; stored moved to its receive time',
  },
  ET_ERR_BAD_REQUEST: { status: 400, message: 'request is invalid' },
  ET_ERR_CONFIG_DOC_INVALID: {
    status: 400,
    message: "the collectors' option schema refuses this configuration document; nothing was stored",
  },
  ET_ERR_RANGE_TOO_LARGE: { status: 400, message: 'requested time range or step is out of bounds' },
  ET_ERR_NOT_FOUND: { status: 404, message: 'not found' },
  ET_ERR_NODE_UNKNOWN: { status: 404, message: 'no such node: it never sent a status or a batch' },
  ET_ERR_PULL_UNSUPPORTED: { status: 409, message: 'the node cannot answer log pulls' },
  ET_ERR_TOO_MANY_PULLS: { status: 429, message: 'too many log pulls queued or running' },
  ET_ERR_UNAUTHENTICATED: { status: 401, message: 'a valid bearer token is required' },
  ET_ERR_FORBIDDEN: { status: 403, message: "the token's role does not allow this" },
  ET_ERR_PULL_NOT_REQUESTER: {
    status: 403,
    message: 'only the token that requested a log pull, or an admin, may cancel it',
  },
  ET_ERR_RATE_LIMITED: { status: 429, message: 'too many requests for this token' },
  ET_ERR_TOO_MANY_READS: { status: 429, message: 'too many reads of this token are waiting for the engine' },
  ET_ERR_READ_LIMIT: {
    status: 422,
    message: 'the read needs more time or bytes than one API statement may take: narrow the range or filter',
  },
  ET_ERR_INTERNAL: { status: 500, message: 'internal error' },
} as const;

export type IngesterErrorCode = keyof typeof IngesterErrorCodes;

export const IngesterError = defineErrors('IngesterError', IngesterErrorCodes);
export type IngesterError = InstanceType<typeof IngesterError>;
