import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bigField, parseEngineJson, quoteLongIntegers } from './engine-json.js';
import { DOCKER_FIXTURES_DIR } from './replay-server.js';
import { cpuReading, statsToSamples } from './stats.js';

const fixture = (f: string): Promise<string> => readFile(path.join(DOCKER_FIXTURES_DIR, 'stats', f), 'utf8');

describe('stats bodies', () => {
  it('keeps integers above 2^53 exact', async () => {
    const text = await fixture('otel-contrib_single_container_cgroups_v1_stats.json');
    const body = parseEngineJson(text) as { memory_stats: { stats: { hierarchical_memory_limit: unknown } } };
    const literal = /"hierarchical_memory_limit":\s*(\d+)/.exec(text)?.[1] as string;
    expect(bigField(body.memory_stats.stats.hierarchical_memory_limit)).toBe(BigInt(literal));
    // Strings, decimals and exponents are left alone.
    expect(quoteLongIntegers('{"a":"12345678901234567890","b":1.2345678901234567e5,"c":[-12345678901234567]}')).toBe(
      '{"a":"12345678901234567890","b":1.2345678901234567e5,"c":["-12345678901234567"]}',
    );
  });

  it('computes CPU% exactly from counters above 2^53', () => {
    // JSON.parse would read both totals as 9007199254740992 and see no CPU use at all.
    const body = parseEngineJson(
      '{"cpu_stats":{"cpu_usage":{"total_usage":9007199254740993},"system_cpu_usage":9007199254740995,"online_cpus":1},"precpu_stats":{"cpu_usage":{"total_usage":9007199254740992},"system_cpu_usage":9007199254740993,"online_cpus":1}}',
    );
    expect(statsToSamples('c', body, undefined, 0).samples).toEqual([
      { container: 'c', metric: 'cpu.usage_pct', value: 50, ts: 0, kind: 'gauge' },
    ]);
  });

  it('takes CPU% from the previous scrape when the engine sends no precpu_stats', async () => {
    const body = parseEngineJson(await fixture('otel-contrib_cgroups_v2_stats.json')) as { cpu_stats: unknown };
    const cur = cpuReading(body.cpu_stats);
    expect(cur).toBeDefined();
    if (!cur) return;
    // The scrape before this one: 0.5 s of container CPU over 2 s of host CPU time, 2 online CPUs.
    const prev = { total: cur.total - 500_000_000n, system: cur.system - 2_000_000_000n, onlineCpus: 2 };
    const r = statsToSamples('c', body, prev, 0);
    expect(r.samples.find((s) => s.metric === 'cpu.usage_pct')?.value).toBe(50);
    expect(r.cpu).toEqual(cur);
  });

  it('leaves out the memory limit of an unlimited cgroup v1 container', () => {
    const body = parseEngineJson(
      '{"memory_stats":{"usage":100,"limit":9223372036854771712,"stats":{"total_inactive_file":40}}}',
    );
    expect(statsToSamples('c', body, undefined, 0).samples).toEqual([
      { container: 'c', metric: 'mem.usage_bytes', value: 60, ts: 0, kind: 'gauge' },
    ]);
  });
});
