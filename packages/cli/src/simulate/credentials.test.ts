import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCredentials } from './credentials.js';
import { runSimulate } from '../commands/simulate.js';
import { captureIo } from '../../../../test/support/io.js';

describe('simulate --credentials', () => {
  let dir: string;
  const file = async (name: string, text: string) => {
    const p = path.join(dir, name);
    await writeFile(p, text);
    return p;
  };
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'et-sim-cred-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('gives each node its password and names what is wrong with the file', async () => {
    const good = await file('good.json', JSON.stringify({ 'sim-1': 'a', 'sim-2': 'b', other: 'c' }));
    expect(await readCredentials(good, ['sim-1', 'sim-2'])).toEqual({ 'sim-1': 'a', 'sim-2': 'b' });
    await expect(readCredentials(path.join(dir, 'none.json'), ['sim-1'])).rejects.toThrow(
      /^--credentials .*none\.json: cannot be read \(ENOENT\)$/,
    );
    await expect(readCredentials(await file('bad.json', '{'), ['sim-1'])).rejects.toThrow(/: not JSON \(/);
    await expect(readCredentials(await file('list.json', '[]'), ['sim-1'])).rejects.toThrow(/expected an object/);
    await expect(readCredentials(good, ['sim-1', 'sim-3', 'sim-4'])).rejects.toThrow(
      /no password for 2 of the 3 simulated node\(s\) \(sim-3, sim-4\); give each its broker account/,
    );
  });

  it('refuses before any worker starts: usage, exit 2, no stack trace', async () => {
    const io = captureIo();
    expect(await runSimulate(['--nodes', '2', '--credentials', path.join(dir, 'none.json')], io.io)).toBe(2);
    expect(io.err()).toMatch(/^simulate: --credentials .*none\.json: cannot be read \(ENOENT\)\n$/);
  });
});
