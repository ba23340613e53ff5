/**
 * The collector's bundle does not let mqtt-packet pin a Buffer pool slab per packet size sent
 * (packages/collector/scripts/mqtt-packet-patch.mjs). The same publishes are written through
 * mqtt-packet bundled with and without the plugin, in a process of their own (the cache is
 * per process), and the memory still held after collection is compared.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build, type Plugin } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error -- a build script in plain JavaScript, without declarations
import { mqttPacketPrefixCacheOff } from '../../packages/collector/scripts/mqtt-packet-patch.mjs';

const collectorDir = fileURLToPath(new URL('../../packages/collector', import.meta.url));
const MiB = 1024 * 1024;

// Publishes of every size up to 16 KiB, with other small allocations from the pool between them
// (as a collector's log pipeline makes), then the array-buffer memory still held after GC.
const SCRIPT = `
const mqttPacket = require('mqtt-packet');
const sink = { write: () => true };
const payload = Buffer.alloc(16384);
global.gc();
const before = process.memoryUsage().arrayBuffers;
for (let n = 0; n <= 16380; n++) {
  Buffer.allocUnsafe(4000);
  mqttPacket.writeToStream({ cmd: 'publish', topic: 'et/up/n1/batch', payload: payload.subarray(0, n), qos: 1, messageId: 1 }, sink);
}
global.gc();
global.gc();
process.stdout.write(String(process.memoryUsage().arrayBuffers - before));
`;

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function heldBytes(plugins: Plugin[]): Promise<number> {
  const dir = await mkdtemp(path.join(tmpdir(), 'et-mqtt-prefix-'));
  dirs.push(dir);
  const outfile = path.join(dir, 'publish.cjs');
  await build({
    stdin: { contents: SCRIPT, resolveDir: collectorDir, loader: 'js' },
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    plugins,
    logLevel: 'silent',
  });
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', outfile]);
  return Number(stdout);
}

describe("the collector bundle's mqtt-packet", () => {
  it('holds no pool slab per packet size it has sent', async () => {
    const unpatched = await heldBytes([]);
    const patched = await heldBytes([mqttPacketPrefixCacheOff as Plugin]);
    // Unpatched: one 8 KiB slab per size cached (64 MiB measured here); patched: none kept.
    expect(unpatched).toBeGreaterThan(16 * MiB);
    expect(patched).toBeLessThan(2 * MiB);
  });
});
