/**
 * The web UI in headless Chromium against a real ingester (embedded ClickHouse, Mosquitto) with nodes
 * seeded by encoded batches, behind the API's bearer-token auth (an admin token from the config).
 * Screenshots go to test-artifacts/screenshots/.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditPage } from './support/a11y.js';
import { haveChromium, launchChromium } from './support/chromium.js';
import { newTab } from './support/tab.js';
import { haveMosquitto } from '../support/mosquitto.js';
import { startStack, type Stack } from '../support/stack.js';
import { waitFor } from '../support/wait.js';
import { seedFleet } from './support/seed.js';

const SHOTS = path.resolve('test-artifacts/screenshots');
const TOKEN = 'ui-test-admin-token-0123456789abcdef';
/** Pages query embedded ClickHouse; on a loaded machine that takes seconds, not the poll's default second. */
const WAIT = { timeout: 30_000, interval: 50 };

describe.runIf(haveChromium() && haveMosquitto())('web UI in Chromium', () => {
  let stack: Stack;
  let browser: Browser;
  let origin: string;
  /** Every request any page made, to prove nothing leaves the ingester's origin. */
  const requests: { url: string; authorization?: string }[] = [];
  /** Console errors (a CSP violation shows up here), less the 401s the token prompt expects. */
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    stack = await startStack({ ingester: { mqtt: { clientId: 'ingester-ui' }, auth: { adminToken: TOKEN } } });
    origin = new URL(stack.api).origin;
    await seedFleet(stack.broker.url, [
      { node: 'gw-berlin-01', state: 'online', minutes: 20 },
      { node: 'gw-lisbon-02', state: 'online', minutes: 12 },
      { node: 'gw-oslo-03', state: 'offline', minutes: 6 },
    ]);
    // The offline status travels after the batches; wait until the API reports it.
    await waitFor(
      'three seeded nodes, one offline',
      async () => {
        const res = await stack.call('/api/v1/nodes', { token: TOKEN });
        const nodes = (await res.json()) as { node: string; online: boolean }[];
        return nodes.length === 3 && nodes.find((n) => n.node === 'gw-oslo-03')?.online === false;
      },
      { intervalMs: 50 },
    );
    browser = await launchChromium();
    await mkdir(SHOTS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  const openPage = async (pathname: string, withToken = true): Promise<Page> => {
    const { page } = await newTab(browser, {
      viewport: { width: 1280, height: 900 },
      ...(withToken ? { token: TOKEN } : {}),
    });
    page.on('request', (r) => requests.push({ url: r.url(), authorization: r.headers()['authorization'] }));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/status of 401/.test(m.text())) consoleErrors.push(m.text());
    });
    page.on('pageerror', (err) => {
      throw err;
    });
    await page.goto(`${stack.api}${pathname}`);
    return page;
  };

  it('the fleet page asks for a token, then shows the seeded nodes with state, uplink against raw, and sorts and filters', async () => {
    const page = await openPage('/', false);
    expect(new URL(page.url()).pathname).toBe('/ui/');
    await expect.poll(() => page.locator('#status').textContent(), WAIT).toContain('needs a token');

    await page.getByRole('textbox', { name: 'API token' }).fill(TOKEN);
    await page.getByRole('button', { name: 'Save' }).click();
    const rows = page.locator('#nodes tbody tr');
    await expect.poll(() => rows.count(), WAIT).toBe(3);
    expect(await rows.locator('th').allTextContents()).toEqual(['gw-berlin-01', 'gw-lisbon-02', 'gw-oslo-03']);
    const oslo = rows.filter({ hasText: 'gw-oslo-03' });
    expect(await oslo.textContent()).toContain('offline');
    expect(await rows.filter({ hasText: 'gw-berlin-01' }).textContent()).toContain('online');
    expect(await page.locator('#summary').textContent()).toContain('2 / 3');
    // Uplink bytes of gw-berlin-01: the sum of its 20 batches' health.uplinkBytes (2048 + 10 * seq).
    const berlinUplink = Array.from({ length: 20 }, (_, i) => 2048 + 10 * (i + 1)).reduce((a, b) => a + b, 0);
    expect(await rows.filter({ hasText: 'gw-berlin-01' }).locator('td').nth(3).textContent()).toBe(
      `${(berlinUplink / 1024).toFixed(1)} KiB`,
    );
    expect(await page.locator('#drops tbody').textContent()).toContain('below_level');

    // Sorting from the keyboard: the header is a button; Enter sorts ascending, again descending.
    const uplinkSort = page.getByRole('button', { name: 'Uplink (24 h)' });
    await uplinkSort.focus();
    await page.keyboard.press('Enter');
    await page.keyboard.press('Enter');
    expect(
      await page.locator('th', { has: page.getByRole('button', { name: 'Uplink (24 h)' }) }).getAttribute('aria-sort'),
    ).toBe('descending');
    expect(await rows.locator('th').allTextContents()).toEqual(['gw-berlin-01', 'gw-lisbon-02', 'gw-oslo-03']);
    await page.keyboard.press('Enter');
    expect(await rows.locator('th').allTextContents()).toEqual(['gw-oslo-03', 'gw-lisbon-02', 'gw-berlin-01']);

    await page.getByRole('combobox', { name: 'State' }).selectOption('offline');
    expect(await rows.locator('th').allTextContents()).toEqual(['gw-oslo-03']);
    await page.getByRole('combobox', { name: 'State' }).selectOption('');
    await page.getByRole('searchbox', { name: 'Filter' }).fill('lisbon');
    expect(await rows.locator('th').allTextContents()).toEqual(['gw-lisbon-02']);
    await page.getByRole('searchbox', { name: 'Filter' }).fill('');
    expect(await page.evaluate(auditPage)).toEqual([]);
    await page.screenshot({ path: path.join(SHOTS, 'fleet.png'), fullPage: true });
    // The audit does find what it looks for: a grey-on-white line and an unlabelled field.
    await page.evaluate(() => {
      const probe = document.createElement('p');
      probe.id = 'probe';
      probe.style.color = '#aaaaaa';
      probe.textContent = 'low contrast probe';
      document.querySelector('main')?.append(probe, document.createElement('input'));
    });
    expect((await page.evaluate(auditPage)).map((f) => `${f.rule} ${f.element.split(' ')[0]}`)).toEqual([
      'contrast p#probe',
      'name input',
    ]);

    // Every API call after the token was saved carried it.
    const api = requests.filter((r) => new URL(r.url).pathname.startsWith('/api/'));
    expect(api.at(-1)?.authorization).toBe(`Bearer ${TOKEN}`);
    await page.context().close();
  });

  it('the node page draws a chart per metric with a text alternative, and lists span summaries, warnings, errors and templates', async () => {
    const page = await openPage('/ui/node.html?node=gw-berlin-01');
    const charts = page.locator('figure.chart');
    await expect.poll(() => charts.count(), WAIT).toBe(5);
    // An application's series, named by its container, service and attributes.
    const app = charts.filter({ hasText: 'http.server.request.duration' });
    expect(await app.locator('desc').textContent()).toMatch(/app-1 · checkout · http\.route=\/cart: \d+ points from/);
    await expect.poll(() => page.locator('#spans tbody tr').count(), WAIT).toBe(2);
    const spanRows = await page.locator('#spans tbody tr').allTextContents();
    expect(spanRows.find((r) => r.includes('Error'))).toMatch(/checkoutGET \/cartServerError\d+\d+.*TimeoutError/);
    const cpu = charts.filter({ hasText: 'cpu.usage_pct' });
    // One line per container, each with a real path through several points.
    const paths = cpu.locator('path.series');
    expect(await paths.count()).toBe(3);
    for (const d of await paths.evaluateAll((els) => els.map((e) => e.getAttribute('d') ?? '')))
      expect(d.match(/[ML]/g)?.length ?? 0).toBeGreaterThanOrEqual(10);
    const box = await paths.first().boundingBox();
    expect(box?.height ?? 0).toBeGreaterThan(10);
    expect(await cpu.locator('svg').getAttribute('role')).toBe('img');
    expect(await cpu.locator('desc').textContent()).toMatch(/app-0: \d+ points from/);
    expect(await cpu.locator('details table tbody tr').count()).toBeGreaterThanOrEqual(10);
    expect(await page.locator('#containers li').allTextContents()).toEqual(['app-0', 'app-1', 'app-2']);
    await expect.poll(() => page.locator('#logs tbody tr').count(), WAIT).toBeGreaterThan(0);
    for (const level of await page.locator('#logs tbody td:nth-child(2)').allTextContents())
      expect(['warn', 'error', 'fatal']).toContain(level);
    expect(await page.locator('#templates tbody').textContent()).toContain('request <*> served in <*> ms');
    expect(await page.evaluate(auditPage)).toEqual([]);
    await page.screenshot({ path: path.join(SHOTS, 'node.png') });

    // Narrowing to one container redraws with one line per chart.
    await page.getByRole('combobox', { name: 'Container', exact: true }).selectOption('app-1');
    await expect.poll(() => cpu.locator('path.series').count(), WAIT).toBe(1);
    await page.context().close();
  });

  it('the node page without ?node= says to pick a node, and asks the API nothing', async () => {
    const before = requests.length;
    const page = await openPage('/ui/node.html');
    await expect.poll(() => page.locator('#status').textContent(), WAIT).toContain('No node given');
    expect(requests.slice(before).filter((r) => r.url.includes('/api/v1/nodes/'))).toEqual([]);
    await page.context().close();
  });

  it('makes no request outside the ingester origin and logs no errors (no CSP violation)', () => {
    expect(consoleErrors).toEqual([]);
    expect(requests.length).toBeGreaterThan(10);
    const outside = requests.filter(
      (r) => !r.url.startsWith(origin) && !r.url.startsWith('data:') && !r.url.startsWith('blob:'),
    );
    expect(outside).toEqual([]);
  });
});
