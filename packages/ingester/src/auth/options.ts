/**
 * API authentication options. There is no switch to turn tokens off: every /api/ route needs one
 * (fail closed); a deployment without a configured admin token gets one made at start.
 */
import { Type, type Static } from '@sinclair/typebox';

export const AuthOptions = Type.Object(
  {
    adminToken: Type.Optional(
      Type.String({
        minLength: 32,
        maxLength: 256,
        writeOnly: true,
        description:
          'First admin bearer token (env EDGE_TELEMETRY_ADMIN_TOKEN), 32 to 256 characters (`openssl rand -base64 32`). Held in memory as a hash, never stored. Unset: the ingester makes a random one at start (`npm start` prints it); it is valid until the process stops. With several ingesters (compose runs two) give them all the same one.',
      }),
    ),
    rateLimitPerSecond: Type.Number({
      minimum: 0.01,
      default: 20,
      description:
        'Sustained requests per second each token may make (token bucket refill rate); beyond the burst, 429 with Retry-After.',
    }),
    rateLimitBurst: Type.Integer({
      minimum: 1,
      default: 200,
      description:
        'Requests a token may make at once before the per-second rate applies (bucket size). Requests with a missing or wrong token share a bucket per client address.',
    }),
    tokenCacheMs: Type.Integer({
      minimum: 100,
      default: 5000,
      description:
        'How long the token table is cached in memory: tokens revoked through another ingester stop working here within this time (through this one, at once). A token unknown here is looked up again at most once a second.',
    }),
  },
  { additionalProperties: false, default: {} },
);

export type AuthConfig = Static<typeof AuthOptions>;
