/**
 * The fleet configuration page in Chromium against a real ingester (embedded ClickHouse,
 * Mosquitto): three nodes announce themselves with the status a collector sends, layers are set
 * through the API, and a fleet change starts a staged rollout that stays at its canaries (the
 * stand-in nodes never apply it, and the apply timeout is minutes away). Every value a node or an
 * admin controls (collector version, labels, a refusal's reason, options needing a restart, an
 * option's value, a group label's value) carries markup that would run script if the page wrote it as HTML. Waits are on
 * what the page shows, never on time.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_DOC_VERSION, encodeStatus, topics } from '@edge-telemetry/protocol';
import { auditPage } from './support/a11y.js';
import { haveChromium, launchChromium } from './support/chromium.js';
import { newTab } from './support/tab.js';
import { haveMosquitto } from '../support/mosquitto.js';
import { connectNode } from '../support/node-client.js';
import { startStack, type Stack } from '../support/stack.js';
import { waitFor } from '../support/wait.js';

const SHOTS = path.resolve('test-artifacts/screenshots');
const TOKEN = 'ui-config-admin-token-0123456789abcdef';
const WAIT = { timeout: 30_000, interval: 50 };
/** Runs script when written as HTML (an attribute handler and a script element). */
const XSS = (n: number) => `<img src=x onerror="window.__xss=${n}"><script>window.__xss=${n}</script>`;
const NODES = ['gw-cfg-1', 'gw-cfg-2', 'gw-cfg-3'];

interface RolloutRow {
  id: string;
  rev: number;
  state: string;
  stage: number;
  stages: number[];
  admitted: number;
}

describe.runIf(haveChromium() && haveMosquitto())('fleet configuration page in Chromium', () => {
  let stack: Stack;
  let browser: Browser;
  let viewer: string;
  let rollout: RolloutRow;
  const json = async <T>(p: string, init: RequestInit & { token?: string } = {}): Promise<T> => {
    const r = await stack.call(p, {
      token: TOKEN,
      ...init,
      headers: { 'content-type': 'application/json', ...init.headers },
    });
    expect(r.status, `${init.method ?? 'GET'} ${p}: ${r.status}`).toBeLessThan(300);
    return (await r.json()) as T;
  };

  beforeAll(async () => {
    stack = await startStack({ ingester: { mqtt: { clientId: 'ingester-ui-config' }, auth: { adminToken: TOKEN } } });
    for (const [i, node] of NODES.entries()) {
      const c = await connectNode(stack.broker.url, node);
      await c.client.publishAsync(
        topics.status(node),
        encodeStatus({
          v: 1,
          node,
          state: 'online',
          at: Date.now(),
          agentVersion: i === 0 ? XSS(1) : '0.1.0',
          capabilities: { logStore: false, control: [1], batchFrames: [1], config: [CONFIG_DOC_VERSION] },
          labels: { site: XSS(2) },
          config: {
            state: 'failed',
            rev: 1,
            reason: XSS(3),
            appliedRev: 0,
            docHash: '',
            effectiveHash: 'e'.repeat(64),
            restartNeeded: [XSS(4)],
          },
        }),
        { qos: 1, retain: true },
      );
      await c.close();
    }
    await waitFor(
      'the three nodes in the configuration status',
      async () => {
        const { nodes } = await json<{ nodes: unknown[] }>('/api/v1/config/status', { token: TOKEN });
        return nodes.length === NODES.length;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    const made = async (name: string, role: string) =>
      (
        await json<{ token: string }>('/api/v1/tokens', {
          method: 'POST',
          token: TOKEN,
          body: JSON.stringify({ name, role }),
        })
      ).token;
    viewer = await made('ui viewer', 'viewer');
    // A group layer on the nodes' label, with markup in an option.
    await json(`/api/v1/config/groups/site/${encodeURIComponent(XSS(2))}`, {
      method: 'PUT',
      token: TOKEN,
      body: JSON.stringify({ options: { logs: { defaults: { filter: { exclude: [XSS(6)] } } } }, rollout: false }),
    });
    await json('/api/v1/config/fleet', {
      method: 'PUT',
      token: TOKEN,
      body: JSON.stringify({ options: { logs: { defaults: { filter: { minLevel: 'warn' } } } }, rollout: false }),
    });
    const changed = await json<{ rollout: RolloutRow }>('/api/v1/config/fleet', {
      method: 'PUT',
      token: TOKEN,
      body: JSON.stringify({ options: { logs: { defaults: { filter: { minLevel: 'error' } } } } }),
    });
    rollout = changed.rollout;
    expect(rollout).toMatchObject({ state: 'running', stage: 0, admitted: 1 });
    browser = await launchChromium();
    await mkdir(SHOTS, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  const open = async (token: string): Promise<{ page: Page; errors: Error[]; close: () => Promise<void> }> => {
    const { ctx, page, errors } = await newTab(browser, { viewport: { width: 1400, height: 1000 }, token });
    await page.goto(`${stack.api}/ui/config.html`);
    return { page, errors, close: () => ctx.close() };
  };
  const rolloutRow = (page: Page) => page.locator('#rollouts tbody tr');
  const stateOf = async (id: string) => (await json<RolloutRow>(`/api/v1/config/rollouts/${id}`)).state;

  it('shows rollouts, versions, layers with their versions and diff, and node states, all as text', async () => {
    const { page, errors, close } = await open(TOKEN);
    await expect.poll(() => page.locator('#status').textContent(), WAIT).toBe('Nodes: 3, layers: 2, rollouts: 1.');
    const cells = await rolloutRow(page).locator('td').allTextContents();
    expect(cells.slice(0, 5)).toEqual([
      'fleet',
      String(rollout.rev),
      'running',
      `canaries (1 of ${rollout.stages.length})`,
      `1 / ${NODES.length}`,
    ]);
    expect(cells.at(-1)).toBe('Halt');
    // Grouped by version: the node whose collector version is markup is its own group, shown verbatim.
    const versions = await page.locator('#versions tbody tr').allTextContents();
    expect(versions).toHaveLength(2);
    expect(versions.filter((t) => t.startsWith(XSS(1)))).toHaveLength(1);
    // The nodes' reasons, restart lists and labels as they sent them.
    const first = await page.locator('#nodes tbody tr', { hasText: 'gw-cfg-1' }).locator('td').allTextContents();
    expect(first.slice(0, 3)).toEqual(['online', 'failed', '0']);
    expect(first.slice(4)).toEqual(['no', XSS(3), XSS(4), `site=${XSS(2)}`, XSS(1)]);

    // The group layer: its name and options as text.
    const group = page.locator('#layers tbody tr', { hasText: 'group site=' });
    expect(await group.locator('th').textContent()).toBe(`group site=${XSS(2)}`);
    expect(await group.locator('td').nth(1).textContent()).toBe(
      JSON.stringify({ logs: { defaults: { filter: { exclude: [XSS(6)] } } } }),
    );

    // The fleet layer's versions, and what its newest changed.
    await page.getByRole('button', { name: 'Versions of fleet' }).click();
    await expect.poll(() => page.locator('#history-versions tbody tr').count(), WAIT).toBe(2);
    await expect
      .poll(() => page.locator('#diff tbody tr').allTextContents(), WAIT)
      .toEqual(['logs.defaults.filter.minLevel"warn""error"']);
    // An older version's diff: the first one against none.
    await page
      .locator('#history-versions tbody tr')
      .nth(1)
      .getByRole('button', { name: /^Changes in revision/ })
      .click();
    await expect
      .poll(() => page.locator('#diff tbody tr').allTextContents(), WAIT)
      .toEqual(['logs.defaults.filter.minLevel(unset)"warn"']);
    await page.getByRole('button', { name: `Versions of group site=${XSS(2)}` }).click();
    await expect.poll(() => page.locator('#history-layer').textContent(), WAIT).toBe(`group site=${XSS(2)}`);
    await expect
      .poll(() => page.locator('#diff tbody tr').allTextContents(), WAIT)
      .toEqual([`logs.defaults.filter.exclude(unset)${JSON.stringify([XSS(6)])}`]);

    // Nothing ran, no element was made from a value.
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(await page.locator('main img, main script').count()).toBe(0);
    expect(await page.evaluate(auditPage)).toEqual([]);
    await page.screenshot({ path: path.join(SHOTS, 'fleet-config.png'), fullPage: true });
    expect(errors).toEqual([]);
    await close();
  }, 180_000);

  it('a viewer cannot halt; an admin halts and resumes the rollout from the page', async () => {
    const asViewer = await open(viewer);
    await expect.poll(() => rolloutRow(asViewer.page).locator('td').nth(2).textContent(), WAIT).toBe('running');
    await asViewer.page.getByRole('button', { name: `Halt rollout ${rollout.id}` }).click();
    await expect
      .poll(() => asViewer.page.locator('#status').textContent(), WAIT)
      .toBe('This token is not allowed to do that.');
    expect(await stateOf(rollout.id)).toBe('running');
    await asViewer.close();

    const { page, errors, close } = await open(TOKEN);
    await page.getByRole('button', { name: `Halt rollout ${rollout.id}` }).click();
    await expect.poll(() => page.locator('#status').textContent(), WAIT).toBe(`Rollout ${rollout.id} is halted.`);
    expect(await rolloutRow(page).locator('td').nth(2).textContent()).toBe('halted');
    expect(await stateOf(rollout.id)).toBe('halted');
    await page.getByRole('button', { name: `Resume rollout ${rollout.id}` }).click();
    await expect.poll(() => page.locator('#status').textContent(), WAIT).toBe(`Rollout ${rollout.id} is running.`);
    expect(await rolloutRow(page).locator('td').nth(2).textContent()).toBe('running');
    expect(await stateOf(rollout.id)).toBe('running');
    expect(errors).toEqual([]);
    await close();
  }, 180_000);
});
