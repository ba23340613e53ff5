/**
 * Protocol codec benchmarks on one realistic batch: 30 containers x 12 metrics with DDSketches
 * (values from the NAB machine-temperature series), 100 log events and 50 templates drawn from
 * the Loghub OpenSSH lines (read from ../shared/corpora at run time).
 *
 * MB/s is measured in MB (10^6 bytes) of batch *content*, defined as the size of JSON.stringify of
 * the same batch, so both codecs are charged for the same work. Baselines in the same run:
 * JSON.stringify + zstd (level 3, reused Compressor) and zstd + JSON.parse (reused Decompressor;
 * note it validates nothing, while our decode validates every field).
 */
import { Compressor, Decompressor } from 'zstd-napi';
import { createBatchCodec, type Batch } from '@edge-telemetry/protocol';
import { sampleBatch, seededRng } from '@edge-telemetry/protocol/testing';
import { median, medianMs, type BenchCase, type Figure } from './harness.js';
import { realLinesAndValues } from './support/real-inputs.js';

function realisticBatch(): Batch {
  const { lines, values } = realLinesAndValues();
  return sampleBatch(seededRng(7), { lines, values });
}

const ITERATIONS = 40;
const RUNS = 15;

/** Interleaves the two sides run by run, so machine noise hits both alike; returns median ms per call. */
async function interleaved(ours: () => unknown, baseline: () => unknown): Promise<[number, number]> {
  for (let i = 0; i < 50; i++) {
    ours();
    baseline();
  }
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    a.push(
      await medianMs(1, () => {
        for (let i = 0; i < ITERATIONS; i++) ours();
      }),
    );
    b.push(
      await medianMs(1, () => {
        for (let i = 0; i < ITERATIONS; i++) baseline();
      }),
    );
  }
  return [median(a) / ITERATIONS, median(b) / ITERATIONS];
}

export const benches: BenchCase[] = [
  {
    name: 'protocol',
    async run(): Promise<Figure[]> {
      const batch = realisticBatch();
      const codec = createBatchCodec();
      const compressor = new Compressor();
      compressor.setParameters({ compressionLevel: 3 });
      const decompressor = new Decompressor();
      const jsonBytes = Buffer.byteLength(JSON.stringify(batch));
      const ours = codec.encode(batch);
      const baseline = compressor.compress(Buffer.from(JSON.stringify(batch)));
      const check = codec.decode(ours, batch.node);
      if (!check.ok) throw check.error;
      const mb = jsonBytes / 1e6;

      const [encOurs, encBase] = await interleaved(
        () => codec.encode(batch),
        () => compressor.compress(Buffer.from(JSON.stringify(batch))),
      );
      const [decOurs, decBase] = await interleaved(
        () => codec.decode(ours, batch.node),
        () => JSON.parse(decompressor.decompress(baseline).toString('utf8')) as unknown,
      );
      const encodeMbps = mb / (encOurs / 1000);
      const encodeBase = mb / (encBase / 1000);
      const decodeMbps = mb / (decOurs / 1000);
      const decodeBase = mb / (decBase / 1000);
      const shape = `${batch.containers.length} containers x ${batch.metrics.length / batch.containers.length} metrics with sketches, ${batch.logs.length} logs, ${batch.templates.length} templates; JSON ${jsonBytes} B`;
      return [
        {
          name: 'protocol.encode_mb_per_s',
          value: encodeMbps,
          unit: 'MB/s (JSON-equivalent)',
          baseline: encodeBase,
          ratio: encodeMbps / encodeBase,
          note: 'baseline JSON.stringify+zstd-3',
        },
        {
          name: 'protocol.decode_mb_per_s',
          value: decodeMbps,
          unit: 'MB/s (JSON-equivalent)',
          baseline: decodeBase,
          ratio: decodeMbps / decodeBase,
          note: 'ours validates every field; baseline zstd+JSON.parse validates nothing',
        },
        {
          name: 'protocol.size_ratio_vs_json_zstd',
          value: baseline.length / ours.length,
          unit: 'x (JSON+zstd bytes / ours)',
          baseline: baseline.length,
          note: `ours ${ours.length} B vs ${baseline.length} B; ${shape}`,
        },
      ];
    },
  },
];
