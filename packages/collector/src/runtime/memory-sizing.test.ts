import { describe, expect, it } from 'vitest';
import { loadCollectorConfig } from '../config/load.js';
import { cgroupMemoryLimit } from './memory-limit.js';
import { launchEnv, launchFlags, memoryFactor, SIZED, sizeToMemory, v8HeapFlags } from './memory-sizing.js';

const MiB = 1024 * 1024;
const files = (m: Record<string, string>) => (f: string) => m[f];
const config = (env: Record<string, string> = {}) =>
  loadCollectorConfig([], { MQTT_URL: 'mqtt://broker:1883', EDGE_TELEMETRY_NODE: 'gw-1', ...env });

// /proc/self/cgroup as a Docker container on a cgroup v1 (hybrid) host sees it.
const V1_SELF = [
  '12:pids:/docker/abc',
  '4:memory:/docker/abc',
  '3:cpu,cpuacct:/docker/abc',
  '1:name=systemd:/docker/abc',
  '0::/docker/abc',
].join('\n');
const V1_UNLIMITED = '9223372036854771712\n';

describe('cgroupMemoryLimit', () => {
  it('v1: its own cgroup memory.limit_in_bytes', () => {
    const l = cgroupMemoryLimit(
      V1_SELF,
      files({
        '/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes': `${128 * MiB}\n`,
        '/sys/fs/cgroup/memory/docker/memory.limit_in_bytes': V1_UNLIMITED,
        '/sys/fs/cgroup/memory/memory.limit_in_bytes': V1_UNLIMITED,
      }),
    );
    expect(l).toEqual({
      bytes: 128 * MiB,
      source: '/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes',
      statFile: '/sys/fs/cgroup/memory/docker/abc/memory.stat',
    });
  });

  it('v1: a smaller ancestor limit applies; the page-counter maximum is no limit', () => {
    const read = files({
      '/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes': `${256 * MiB}`,
      '/sys/fs/cgroup/memory/docker/memory.limit_in_bytes': `${96 * MiB}`,
      '/sys/fs/cgroup/memory/memory.limit_in_bytes': V1_UNLIMITED,
    });
    // What that cgroup is charged for is in its own memory.stat.
    expect(cgroupMemoryLimit(V1_SELF, read)).toMatchObject({
      bytes: 96 * MiB,
      statFile: '/sys/fs/cgroup/memory/docker/memory.stat',
    });
    const none = cgroupMemoryLimit(
      V1_SELF,
      files({
        '/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes': V1_UNLIMITED,
        '/sys/fs/cgroup/memory/memory.limit_in_bytes': V1_UNLIMITED,
      }),
    );
    expect(none.bytes).toBeUndefined();
  });

  it("v1 inside the container: the host's path is not mounted, the mount root's file is the limit", () => {
    const l = cgroupMemoryLimit(V1_SELF, files({ '/sys/fs/cgroup/memory/memory.limit_in_bytes': `${64 * MiB}` }));
    expect(l).toEqual({
      bytes: 64 * MiB,
      source: '/sys/fs/cgroup/memory/memory.limit_in_bytes',
      statFile: '/sys/fs/cgroup/memory/memory.stat',
    });
  });

  it('v2: memory.max of its cgroup and ancestors, "max" is no limit', () => {
    const self = '0::/system.slice/edge-telemetry.service\n';
    const l = cgroupMemoryLimit(
      self,
      files({
        '/sys/fs/cgroup/system.slice/edge-telemetry.service/memory.max': `${128 * MiB}\n`,
        '/sys/fs/cgroup/system.slice/memory.max': 'max\n',
      }),
    );
    expect(l).toEqual({
      bytes: 128 * MiB,
      source: '/sys/fs/cgroup/system.slice/edge-telemetry.service/memory.max',
      statFile: '/sys/fs/cgroup/system.slice/edge-telemetry.service/memory.stat',
    });
    expect(
      cgroupMemoryLimit(self, files({ '/sys/fs/cgroup/system.slice/edge-telemetry.service/memory.max': 'max\n' }))
        .bytes,
    ).toBeUndefined();
  });

  it('v2 inside a container (cgroup namespace: "0::/"), and no cgroup at all', () => {
    expect(cgroupMemoryLimit('0::/\n', files({ '/sys/fs/cgroup/memory.max': `${100 * MiB}\n` })).bytes).toBe(100 * MiB);
    const none = cgroupMemoryLimit('', files({}));
    expect(none.bytes).toBeUndefined();
    expect(none.source).toMatch(/no memory cgroup/);
  });
});

describe('sizeToMemory', () => {
  it('keeps the defaults at the 128 MiB they were measured in, and without a limit', () => {
    for (const limit of [128 * MiB, undefined]) {
      const { config: c, sizing } = sizeToMemory(config(), limit);
      expect(c).toEqual(config());
      expect(sizing.factor).toBe(1);
    }
  });

  it('the sized options are the schema defaults it scales from', () => {
    const { sizing } = sizeToMemory(config(), undefined);
    expect(sizing.sizes).toEqual(Object.fromEntries(SIZED.map((s) => [s.path.join('.'), s.defaultValue])));
  });

  it('shrinks under a smaller limit and grows under a larger one, within bounds', () => {
    const small = sizeToMemory(config(), 64 * MiB);
    expect(small.sizing.factor).toBeCloseTo(0.2);
    expect(small.config.sources.logFiles.chunkBytes).toBe(16384); // 13107, raised to the floor
    expect(small.config.store.blockBytes).toBe(53248);
    expect(small.config.store.maxPendingBytes).toBe(1703936);
    expect(small.config.logs.templates.maxClusters).toBe(1000);
    expect(small.config.logs.templates.maxHeldTokens).toBe(13000);
    expect(small.config.uplink.sender.window).toBe(6);
    const tiny = sizeToMemory(config(), 40 * MiB);
    expect(tiny.sizing.factor).toBe(1 / 8);
    const big = sizeToMemory(config(), 1024 * MiB);
    expect(big.sizing.factor).toBe(4);
    expect(big.config.sources.logFiles.chunkBytes).toBe(262144);
    expect(big.config.logs.templates.maxClusters).toBe(20000);
    expect(big.config.logs.templates.maxHeldTokens).toBe(256000);
    expect(memoryFactor(208 * MiB)).toBe(2);
  });

  it('keeps what was set explicitly', () => {
    const c = config({ EDGE_TELEMETRY_COLLECTOR_STORE_BLOCK_BYTES: '131072' });
    const { config: out, sizing } = sizeToMemory(c, 64 * MiB);
    expect(out.store.blockBytes).toBe(131072);
    expect(sizing.kept).toEqual(['store.blockBytes']);
    expect(out.sources.logFiles.chunkBytes).toBe(16384);
  });
});

describe('v8HeapFlags', () => {
  it('bounds the heap below the reference limit (old space half the limit, semi-space 1 MiB), not at or above it', () => {
    expect(v8HeapFlags(64 * MiB)).toEqual(['--max-old-space-size=32', '--max-semi-space-size=1']);
    expect(v8HeapFlags(96 * MiB)).toEqual(['--max-old-space-size=48', '--max-semi-space-size=1']);
    expect(v8HeapFlags(128 * MiB)).toEqual([]);
    expect(v8HeapFlags(undefined)).toEqual([]);
  });
});

describe('launchFlags', () => {
  it('adds one V8 worker thread and the compiler flags to the heap flags at or below the reference limit (at it a 2 MiB young generation), nothing above it', () => {
    const compiler = ['--no-concurrent-recompilation', '--interrupt-budget=135168'];
    expect(launchFlags(64 * MiB)).toEqual([
      '--max-old-space-size=32',
      '--max-semi-space-size=1',
      '--v8-pool-size=1',
      ...compiler,
    ]);
    expect(launchFlags(128 * MiB)).toEqual(['--max-semi-space-size=2', '--v8-pool-size=1', ...compiler]);
    expect(launchFlags(256 * MiB)).toEqual([]);
    expect(launchFlags(undefined)).toEqual([]);
  });
});

describe('launchEnv', () => {
  it('fixes malloc thresholds at or below the reference limit, nothing above it', () => {
    const fixed = { MALLOC_MMAP_THRESHOLD_: '65536', MALLOC_TRIM_THRESHOLD_: '131072' };
    expect(launchEnv(64 * MiB)).toEqual(fixed);
    expect(launchEnv(128 * MiB)).toEqual(fixed);
    expect(launchEnv(256 * MiB)).toEqual({});
    expect(launchEnv(undefined)).toEqual({});
  });
});
