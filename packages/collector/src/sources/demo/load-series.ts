import { readFile } from 'node:fs/promises';
import type { DemoSeries } from './demo-metric-source.js';

/** The NAB excerpts shipped in fixtures/demo/nab (MIT, notice beside them). */
export async function loadDemoSeries(
  dir = new URL('../../../fixtures/demo/nab/', import.meta.url),
): Promise<DemoSeries> {
  const read = async (name: string) =>
    (await readFile(new URL(name, dir), 'utf8')).split('\n').slice(1).filter(Boolean).map(Number);
  return { cpu: await read('cpu_utilization.csv'), drift: await read('machine_temperature.csv') };
}
