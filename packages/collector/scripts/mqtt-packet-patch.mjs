/**
 * An esbuild plugin that stops mqtt-packet caching the length prefix of every packet size below
 * 16,384 (writeToStream.js, `varByteIntCache`; mqttjs/mqtt-packet#163, open). Each cached prefix
 * is a 4-byte view into an 8 KiB slab of Node's Buffer pool and keeps the whole slab alive: a
 * collector sending batches of many sizes over a long backlog held up to 16,384 slabs (128 MiB,
 * its whole budget; a heap snapshot of a 2 GiB backlog: 7.9 of 8.8 MiB of buffer memory). The
 * option `writeCache: false` does not reach this cache. Without it, a packet allocates its 1-4
 * byte prefix, which is nothing next to a batch's compression.
 *
 * The build fails when the cached line is not found, so an mqtt-packet that changes it is looked
 * at again rather than bundled unpatched.
 */
import { readFile } from 'node:fs/promises';

const CACHED = 'if (num < 16384) varByteIntCache[num] = buffer';

export const mqttPacketPrefixCacheOff = {
  name: 'mqtt-packet-prefix-cache-off',
  setup(build) {
    build.onLoad({ filter: /[\\/]mqtt-packet[\\/]writeToStream\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      if (!source.includes(CACHED))
        throw new Error(
          `${args.path}: "${CACHED}" not found; check mqtt-packet's varByteIntCache and update scripts/mqtt-packet-patch.mjs`,
        );
      return { contents: source.replace(CACHED, '/* not cached: scripts/mqtt-packet-patch.mjs */'), loader: 'js' };
    });
  },
};
