/**
 * Bundles the built collector bin (dist/bin/collector.js, from `tsc -b`) and every JavaScript
 * module it imports into one ESM file, dist/bundle/bin/collector.js, which bin/collector.js runs.
 * Why: Node resolves, reads and links each of the ~900 ESM and CommonJS modules of the unbundled
 * tree at start; on a fifth of a core that was half of the collector's start-up CPU (measured in
 * the 128 MiB / 0.2 CPU cgroup: 1.11-1.17 CPU-s unbundled, 0.44-0.45 bundled; collector README, "Start-up").
 *
 *   node packages/collector/scripts/bundle.mjs     (run by `npm run build`)
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { mqttPacketPrefixCacheOff } from './mqtt-packet-patch.mjs';

const pkg = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// Three levels under the package, as the modules it is made of are: paths they resolve from
// import.meta.url (the OTLP .proto files, the Docker fixtures) still land in the package.
const outdir = path.join(pkg, 'dist/bundle/bin');
// Chunk names carry a hash: those of an earlier build would otherwise stay beside the new ones.
await rm(outdir, { recursive: true, force: true });

await build({
  entryPoints: [path.join(pkg, 'dist/bin/collector.js')],
  outdir,
  bundle: true,
  // What is imported only with import() (the OTLP receiver with gRPC and protobufjs, ~0.75 MB of
  // the 2.3) goes into chunks of its own, read only when used: V8 keeps a loaded file's whole
  // source text in the heap for as long as the process runs, so a receiver that is off by default
  // cost ~0.7 MiB of heap in every collector (measured: the heap snapshot's large-object space held
  // the 2.3 MB bundle as one string; the file read at start is now 1.25 MB and its chunks 0.33 MB).
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // A native addon: loaded from node_modules at run time.
  external: ['zstd-napi'],
  // mqtt-packet pins a Buffer pool slab per packet size it has sent (scripts/mqtt-packet-patch.mjs).
  plugins: [mqttPacketPrefixCacheOff],
  // CommonJS dependencies (mqtt, protobufjs, grpc-js) call require(); an ESM bundle has none.
  banner: {
    js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);",
  },
  // The source text of every function is kept in the heap for as long as the process runs (V8
  // compiles lazily from it): without whitespace and comments it is 2.3 MB instead of 3.5, ~4 MiB less anonymous memory at start.
  // Names are not mangled, so stack traces still name their functions.
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  logLevel: 'warning',
});
