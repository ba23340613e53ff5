/**
 * A router as the ingester wires it (dead-letter sink within the node quotas, node registry), on a
 * client and writer the caller made: for the tests and benches that drive the router directly.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import {
  createDeadLetterSink,
  createNodeQuotas,
  createNodeRegistry,
  createRouter,
  resolveConfig,
  type Router,
  type RouterDeps,
} from '@edge-telemetry/ingester';

export type RouterRigOptions = Pick<RouterDeps, 'writer' | 'logger' | 'ingesterId' | 'publish'> &
  Partial<Pick<RouterDeps, 'onPull' | 'references' | 'templateTexts'>> & { quotas?: Record<string, number> };

export function routerRig(
  client: ClickHouseClient,
  o: RouterRigOptions,
): { router: Router; drain(): Promise<void> } & Pick<RouterDeps, 'quotas'> {
  const quotas = createNodeQuotas(resolveConfig({ quotas: o.quotas ?? {} }, {}).quotas);
  const deadLetters = createDeadLetterSink({ client, logger: o.logger, allowance: quotas.admitDeadLetter });
  const nodes = createNodeRegistry({ client, logger: o.logger });
  const { quotas: _q, ...rest } = o;
  const router = createRouter({ ...rest, deadLetters, quotas, nodes });
  return {
    router,
    quotas,
    drain: async () => {
      await router.drain();
      await deadLetters.drain();
      await nodes.drain();
    },
  };
}
