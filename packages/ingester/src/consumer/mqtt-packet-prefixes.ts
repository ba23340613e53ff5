/**
 * mqtt-packet (under mqtt.js and aedes) caches the length prefix of every packet size below 16,384
 * it writes (writeToStream.js `varByteIntCache`; mqttjs/mqtt-packet#163, open). Each prefix comes
 * from `numbers.genBufVariableByteInt`, a 1-4 byte `Buffer.allocUnsafe` view into an 8 KiB slab of
 * Node's Buffer pool, and keeps the whole slab alive: a process writing packets of many sizes (the
 * embedded broker forwarding every node's batches, the simulator's nodes) pins up to 16,384 slabs,
 * 128 MiB. The collector's bundle removes the cache at build time
 * (packages/collector/scripts/mqtt-packet-patch.mjs); the ingester and the CLI run unbundled (chdb
 * is native, fastify's and pino's files are read by path), so here the function that makes the
 * prefixes is replaced, on mqtt-packet's own module object, by one that copies each prefix into a
 * buffer of its own: the cache stays (a few bytes per size, about 2 MiB at most) and pins nothing.
 * No file is changed and no install step is needed; a later mqtt-packet without the cache makes
 * this a copy of 1-4 bytes per packet size.
 *
 * writeToStream.js takes the function when it loads, so this must run before anything loads it
 * (mqtt, aedes): the entry points import a module calling it first (ingester: bin/mqtt-prefixes.ts;
 * CLI: src/mqtt-prefixes.ts). Too late, it changes nothing and warns (ET_MQTT_PREFIXES_PINNED).
 */
import { createRequire } from 'node:module';

export type PrefixFix = 'applied' | 'already' | 'too-late';

/** Marks a numbers.js already changed (by this module loaded twice, or from another package). */
const UNPINNED = Symbol.for('edge-telemetry.mqtt-packet.unpinned-prefixes');

interface Numbers {
  genBufVariableByteInt(num: number): Buffer;
  [UNPINNED]?: true;
}

/** Unpins the prefixes of the mqtt-packet that `user` (a module's path or file URL, e.g. `import.meta.resolve('aedes')`) loads. */
export function unpinPrefixes(user: string): PrefixFix {
  const from = createRequire(user);
  const numbers = from('mqtt-packet/numbers.js') as Numbers;
  if (numbers[UNPINNED]) return 'already';
  if (from.cache[from.resolve('mqtt-packet/writeToStream.js')] !== undefined) return 'too-late';
  const pooled = numbers.genBufVariableByteInt;
  numbers.genBufVariableByteInt = (num) => {
    const prefix = pooled(num);
    // Buffer.alloc never takes from the pool: the copy holds its own 1-4 bytes.
    const own = Buffer.alloc(prefix.length);
    prefix.copy(own);
    return own;
  };
  numbers[UNPINNED] = true;
  return 'applied';
}

/** unpinPrefixes for each user, with a process warning for one that came too late. */
export function unpinMqttPacketPrefixes(users: readonly string[]): PrefixFix[] {
  return users.map((user) => {
    const fix = unpinPrefixes(user);
    if (fix === 'too-late')
      process.emitWarning(
        `mqtt-packet was loaded (through ${user}) before its length prefixes were unpinned: it may hold up to 128 MiB of Buffer pool slabs; import the module that unpins them before anything that loads mqtt or aedes`,
        { code: 'ET_MQTT_PREFIXES_PINNED' },
      );
    return fix;
  });
}
