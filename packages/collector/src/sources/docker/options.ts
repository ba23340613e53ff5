import { Type, type Static } from '@sinclair/typebox';
import { resolveOptions } from '../../config/resolve-options.js';

export const DockerSourceOptionsSchema = Type.Object({
  /** Docker Engine API unix socket (mount it read-only into the collector container). */
  socketPath: Type.String({ minLength: 1, default: '/var/run/docker.sock' }),
  /** Whole-request deadline for list and stats calls (ms); a slower engine counts as a timeout. */
  requestTimeoutMs: Type.Integer({ minimum: 100, default: 5000 }),
  /**
   * Wall-clock budget of one scrape (ms), below the scrape interval: with a slow engine, the
   * containers not reached in time are marked as gaps instead of letting scrapes pile up.
   */
  scrapeBudgetMs: Type.Integer({ minimum: 100, default: 8000 }),
  /** Stats requests in flight at once (the engine computes each one; keep the load it sees small). */
  statsConcurrency: Type.Integer({ minimum: 1, maximum: 64, default: 4 }),
  /** First retry delay after the engine fails (ms); doubles per failure up to backoffMaxMs. */
  backoffInitialMs: Type.Integer({ minimum: 10, default: 1000 }),
  backoffMaxMs: Type.Integer({ minimum: 10, default: 60_000 }),
  /** Largest response body accepted (bytes); stats bodies are ~4 KiB. */
  maxBodyBytes: Type.Integer({ minimum: 1024, default: 4 * 1024 * 1024 }),
});

export type DockerSourceOptions = Static<typeof DockerSourceOptionsSchema>;

export function resolveDockerSourceOptions(partial?: Partial<DockerSourceOptions>): DockerSourceOptions {
  return resolveOptions(DockerSourceOptionsSchema, partial);
}
