import { Type, type Static } from '@sinclair/typebox';

export const DockerSourceOptionsSchema = Type.Object({
  socketPath: Type.String({
    minLength: 1,
    default: '/var/run/docker.sock',
    description: 'Docker Engine API unix socket; mount it read-only into the collector container.',
  }),
  requestTimeoutMs: Type.Integer({
    minimum: 100,
    default: 5000,
    description: 'Whole-request deadline (ms) of list and stats calls; a slower engine counts as a timeout.',
  }),
  /** Without a budget, scrapes against a slow engine would pile up. */
  scrapeBudgetMs: Type.Integer({
    minimum: 100,
    default: 8000,
    description:
      'Wall-clock budget (ms) of one scrape, below the scrape interval; containers not reached in time are marked as gaps.',
  }),
  /** The engine computes each stats response; keep the load it sees small. */
  statsConcurrency: Type.Integer({
    minimum: 1,
    maximum: 64,
    default: 4,
    description: 'Stats requests in flight at once.',
  }),
  backoffInitialMs: Type.Integer({
    minimum: 10,
    default: 1000,
    description: 'First retry delay (ms) after the engine fails; doubles per failure up to backoffMaxMs.',
  }),
  backoffMaxMs: Type.Integer({
    minimum: 10,
    default: 60_000,
    description: 'Longest retry delay (ms) after repeated engine failures.',
  }),
  maxBodyBytes: Type.Integer({
    minimum: 1024,
    default: 4 * 1024 * 1024,
    description: 'Largest response body accepted (bytes); a stats body is about 4 KiB.',
  }),
});

export type DockerSourceOptions = Static<typeof DockerSourceOptionsSchema>;
