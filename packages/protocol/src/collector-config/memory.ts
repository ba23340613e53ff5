import { Type } from '@sinclair/typebox';

export const MemoryOptionsSchema = Type.Object(
  {
    limitBytes: Type.Integer({
      minimum: -1,
      default: 0,
      description:
        "Memory the collector sizes what it holds to (read-ahead, store blocks and pending writes, miner clusters, verbatim lines per window, batches in flight, the references a batch is compressed against): 0 = its cgroup's limit read at start (v1 or v2), -1 = none (the defaults stand), else bytes. Options set to other than their default are kept; the sizes chosen are logged at start.",
    }),
  },
  { default: {} },
);
