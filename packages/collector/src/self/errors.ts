/**
 * Error codes of the collector's metrics side (host, cgroup and Docker sources, downsampler, self
 * health). The codes are also the `reason` label of the error counters and appear in every log
 * line, so users can search them; callers branch on `code`, never on message text.
 */
import { defineErrors } from '@edge-telemetry/protocol';

export const MetricsErrorCodes = {
  ET_ERR_METRICS_OPTIONS: 'metrics component options are invalid',
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
} as const;

export type MetricsErrorCode = keyof typeof MetricsErrorCodes;

export const MetricsError = defineErrors('MetricsError', MetricsErrorCodes);
export type MetricsError = InstanceType<typeof MetricsError>;

