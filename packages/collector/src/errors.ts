/**
 * The collector's error catalogue. The codes appear in log lines, as the `reason` label of error
 * counters and in tests; callers branch on `code`, never on message text.
 */
import { defineErrors } from '@edge-telemetry/protocol';

export const CollectorErrorCodes = {
  ET_ERR_OPTIONS: 'an option is invalid or names something unusable',
  // sources and self-health
  ET_ERR_DOCKER_SOCKET_MISSING: 'the Docker Engine socket does not exist',
  ET_ERR_DOCKER_CONNECT: 'could not connect to the Docker Engine socket',
  ET_ERR_DOCKER_TIMEOUT: 'the Docker Engine did not answer in time',
  ET_ERR_DOCKER_ENGINE: 'the Docker Engine answered with a server error',
  ET_ERR_DOCKER_GONE: 'the container vanished before its stats were read',
  ET_ERR_DOCKER_HTTP: 'the Docker Engine answered with an unexpected status',
  ET_ERR_DOCKER_BAD_PAYLOAD: 'the Docker Engine answered with a body that is not the documented JSON',
  ET_ERR_DOCKER_EVENTS: 'the Docker Engine event stream ended or failed',
  ET_ERR_CGROUP_NOT_FOUND: 'no cgroup v1 or v2 hierarchy found at the configured root',
  ET_ERR_CGROUP_READ: 'a cgroup file could not be read or parsed',
  ET_ERR_CGROUP_TOO_MANY: 'more container cgroups than maxContainers; the rest are not read',
  ET_ERR_HOST_READ: 'a /proc file or the data volume could not be read',
  ET_ERR_PROM_CONNECT: 'a Prometheus target could not be connected to',
  ET_ERR_PROM_TIMEOUT: 'a Prometheus target did not send its whole answer within its scrape timeout',
  ET_ERR_PROM_HTTP: 'a Prometheus target answered with a status other than 2xx',
  ET_ERR_PROM_TOO_LARGE: "a Prometheus target's body is larger than maxBodyBytes (after decompression)",
  ET_ERR_PROM_BAD_BODY: "a Prometheus target's body could not be read (unknown encoding, corrupt gzip, cut short)",
  ET_ERR_PROM_TRUNCATED: 'an OpenMetrics body ended without its # EOF line',
  ET_ERR_PROM_BAD_LINES: "lines of a Prometheus target's body were not valid exposition format and were skipped",
  ET_ERR_PROM_LIMIT: "a Prometheus target's series went over maxSeries or its label limits; the excess was dropped",
  ET_ERR_PROM_TARGET: 'a Prometheus target (static or from container labels) is not a valid URL',
  ET_ERR_OTLP_LISTEN: 'the OTLP receiver could not listen on sources.otlp.host:port (HTTP) or host:grpcPort (gRPC)',
  ET_ERR_OTLP_CONTENT_TYPE: 'an OTLP request is neither application/x-protobuf nor application/json',
  ET_ERR_OTLP_ENCODING: 'an OTLP request has a content-encoding other than gzip or identity, or its gzip is corrupt',
  ET_ERR_OTLP_TOO_LARGE:
    'an OTLP request is larger than maxRequestBytes (as sent) or maxDecodedBytes (inflated), decodes into more than maxDecodedValues values, or would hold more than maxInFlightBytes alone once decoded',
  ET_ERR_OTLP_MALFORMED: 'an OTLP request body is not a valid ExportServiceRequest in its content type',
  ET_ERR_OTLP_BUSY: 'the OTLP receiver is over its item rate or its in-flight bytes: retry after Retry-After',
  ET_ERR_OTLP_INTERNAL:
    'the OTLP receiver failed on a request it decoded (a bug: the request is answered 500, counted, and the receiver goes on)',
  ET_ERR_OTLP_NOT_FOUND: 'an OTLP request to a path other than POST /v1/metrics, /v1/logs or /v1/traces',
  // log pipeline, log files, full-log store
  ET_ERR_LOG_PATTERN: 'a configured regular expression does not compile',
  ET_ERR_LOG_NOT_A_FILE:
    "a container's log path is not a regular file (a symlink, a FIFO, a folder): it is not read, and the other files go on",
  ET_ERR_STORE_CLOSED: 'the log store is closed',
  ET_ERR_DISK_FULL:
    'the data volume is full: the store and the outbox evicted what their policies allow and this write still did not fit',
  // uplink
  ET_ERR_RECORD_TOO_LARGE: 'an outbox record exceeds the configured record size cap',
  ET_ERR_OUTBOX_FULL: 'the outbox cap is reached and only more valuable records remain',
  ET_ERR_OUTBOX_CLOSED: 'the outbox is closed',
  ET_ERR_OUTBOX_IO: 'the outbox could not read or write its directory',
  ET_ERR_UPLINK_CLOSED: 'the uplink is closed',
  ET_ERR_UPLINK_CONNECT:
    'the broker at uplink.mqtt.url refused the connection or could not be reached (the reason says which); the collector keeps retrying',
  // runtime
  ET_ERR_DATA_DIR_LOCKED: 'another running collector uses this dataDir',
  ET_ERR_DATA_DIR_UNUSABLE: 'the dataDir cannot be created or written',
  ET_ERR_HTTP_LISTEN: 'the /healthz and /metrics listener could not listen on http.host:http.port',
} as const;

export type CollectorErrorCode = keyof typeof CollectorErrorCodes;

export const CollectorError = defineErrors('CollectorError', CollectorErrorCodes);
export type CollectorError = InstanceType<typeof CollectorError>;
