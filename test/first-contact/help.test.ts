/**
 * Every command a README shows answers --help (and -h) with its usage on stdout and exit 0,
 * without doing anything: `start --help` must not start a pipeline, `config set --help` must not
 * ask an API. Runs the built bins (npm test builds before it runs the tests).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { commands } from '../../packages/cli/src/commands/index.js';
import { repoRoot } from '../support/processes.js';

const exec = promisify(execFile);
const bin = (pkg: string, name: string) => path.join(repoRoot, 'packages', pkg, 'dist', 'bin', name);

describe('--help', () => {
  it('every edge-telemetry command prints its usage and exits 0', async () => {
    for (const c of commands)
      for (const flag of ['--help', '-h']) {
        const r = await exec(process.execPath, [bin('cli', 'edge-telemetry.js'), ...c.words, flag], {
          timeout: 30_000,
        });
        expect(r.stdout, `${c.words.join(' ')} ${flag}`).toContain(`edge-telemetry ${c.words.join(' ')}`);
        expect(r.stderr).toBe('');
      }
  }, 120_000);

  it('every edge-telemetry command refuses an option it does not know with exit 2, without a stack trace', async () => {
    // `start --prot 1` threw node:util's parseArgs error with a stack trace and exit 1.
    for (const c of commands) {
      const r = await exec(process.execPath, [bin('cli', 'edge-telemetry.js'), ...c.words, '--no-such-option'], {
        timeout: 30_000,
      }).then(
        () => ({ code: 0, stderr: '' }),
        (e: { code: number; stderr: string }) => e,
      );
      expect(r.code, c.words.join(' ')).toBe(2);
      expect(r.stderr, c.words.join(' ')).not.toMatch(/\n\s+at /);
    }
  }, 120_000);

  it('start refuses a port that is not a number, naming its option, before starting anything', async () => {
    // `start --port abc` reached the ingester's schema, whose error named http.port and its variable.
    for (const option of ['--port', '--mqtt-port', '--metrics-port']) {
      const r = await exec(process.execPath, [bin('cli', 'edge-telemetry.js'), 'start', option, 'abc'], {
        timeout: 30_000,
      }).then(
        () => ({ code: 0, stderr: '' }),
        (e: { code: number; stderr: string }) => e,
      );
      expect(r.code, option).toBe(2);
      expect(r.stderr, option).toContain(`${option} takes a port number`);
    }
  }, 60_000);

  it('the service bins refuse an argument they do not know with exit 2, naming it', async () => {
    // `collector.js --confg x.json` ran on the defaults as if nothing had been said.
    for (const name of ['collector', 'ingester'] as const) {
      const r = await exec(process.execPath, [bin(name, `${name}.js`), '--confg', 'x.json'], {
        timeout: 30_000,
        env: { ...process.env, MQTT_URL: 'mqtt://127.0.0.1:1' },
      }).then(
        () => ({ code: 0, stderr: '' }),
        (e: { code: number; stderr: string }) => e,
      );
      expect(r.code, name).toBe(2);
      expect(r.stderr, name).toContain('unknown argument "--confg"');
      expect(r.stderr, name).not.toMatch(/\n\s+at /);
    }
  }, 60_000);

  it('the service bins print every option', async () => {
    for (const [pkg, name] of [
      ['collector', 'collector.js'],
      ['ingester', 'ingester.js'],
    ] as const) {
      const r = await exec(process.execPath, [bin(pkg, name), '--help'], { timeout: 30_000 });
      expect(r.stdout).toMatch(new RegExp(`^usage: edge-telemetry-${pkg}`));
      expect(r.stdout).toContain('options (file key / environment variable / default):');
    }
    const c = await exec(process.execPath, [bin('collector', 'collector.js'), '--help']);
    expect(c.stdout).toContain('EDGE_TELEMETRY_COLLECTOR_NODE');
  }, 60_000);
});
