import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { valueErrorMessage } from '@edge-telemetry/protocol';
import { IngesterError } from '../errors.js';

export const PullCoordinatorOptions = Type.Object(
  {
    expiresInMs: Type.Integer({
      minimum: 1000,
      default: 15 * 60_000,
      description:
        'How long a pull waits for its node to answer (an offline node gets the command when it returns, until then); the request may ask for another value.',
    }),
    maxExpiresInMs: Type.Integer({
      minimum: 1000,
      default: 7 * 86_400_000,
      description: 'Longest expiry a request may ask for.',
    }),
    stallMs: Type.Integer({
      minimum: 100,
      default: 15_000,
      description:
        'No chunk for this long while running: ask the node to resume (fromChunk and resend). Doubles per fruitless attempt up to maxStallMs.',
    }),
    maxStallMs: Type.Integer({ minimum: 100, default: 300_000, description: 'Ceiling of the resume interval.' }),
    abandonMs: Type.Integer({
      minimum: 1000,
      default: 30 * 60_000,
      description: 'No progress for this long while running: the pull fails with ET_ERR_PULL_STALLED.',
    }),
    commandTtlMs: Type.Integer({
      minimum: 1000,
      default: 10 * 60_000,
      description: 'Expiry carried by resume and cancel commands.',
    }),
    keepFinishedMs: Type.Integer({
      minimum: 0,
      default: 10 * 60_000,
      description: 'A finished pull stays in memory this long (its rows stay in ClickHouse for the TTL).',
    }),
    insertQueueBytes: Type.Integer({
      minimum: 1024,
      default: 8 * 1024 * 1024,
      description:
        'Pulled line bytes waiting for their insert at most; beyond it the broker connection stops handing over messages until the insert is done.',
    }),
    leaseMs: Type.Integer({
      minimum: 1000,
      default: 30_000,
      description:
        'With several ingesters: the one running a pull writes its state at least every third of this; when it has written nothing for this long, another ingester takes the pull over (each looks for such pulls every third of this). An orderly stop hands its pulls over without waiting for it.',
    }),
    maxActivePerToken: Type.Integer({
      minimum: 1,
      default: 10,
      description:
        'Pulls one API token may have queued or running at once; beyond it a request is refused (429 ET_ERR_TOO_MANY_PULLS).',
    }),
    maxActivePerNode: Type.Integer({
      minimum: 1,
      default: 4,
      description: 'Pulls queued or running for one node at once, whoever asked; beyond it a request is refused (429).',
    }),
    maxReorderBytes: Type.Integer({
      minimum: 0,
      default: 16 * 1024 * 1024,
      description:
        'Out-of-order chunk text held for the running digests of all pulls together; the pull whose chunk passes it has its digest computed from ClickHouse at the end.',
    }),
  },
  { additionalProperties: false, default: {} },
);
export type PullCoordinatorOptionsT = Static<typeof PullCoordinatorOptions>;

export function pullCoordinatorOptions(partial: unknown = {}): PullCoordinatorOptionsT {
  const value = Value.Default(PullCoordinatorOptions, Value.Clone(partial ?? {}));
  const first = Value.Errors(PullCoordinatorOptions, value).First();
  if (first) throw new IngesterError('ET_ERR_CONFIG_INVALID', `pull${first.path}: ${valueErrorMessage(first)}`);
  return value as PullCoordinatorOptionsT;
}
