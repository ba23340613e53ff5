/**
 * The log-pull page in Chromium against the real pull path: a collector (buildCollector) with a
 * filled full-log store answers through Mosquitto to an in-process ingester (test/pull/rig.ts).
 * The pull is paced by the node's pull allowance so progress is visible before it ends. The store
 * holds more lines than the page keeps on screen (SHOWN_LINES), so a whole-range pull shows the ring.
 */
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveMosquitto } from '../support/mosquitto.js';
import { ADMIN_TOKEN, startPullRig, syntheticRecords, T0, type PullRig } from '../pull/rig.js';
import { SHOWN_LINES } from '../../packages/ingester/ui-assets/js/pull.js';
import { auditPage } from './support/a11y.js';
import { haveChromium, launchChromium } from './support/chromium.js';
import { newTab } from './support/tab.js';

const SHOTS = path.resolve('test-artifacts/screenshots');
const NODE = 'gw-ui-pull';
const SPAN = 10 * 60_000;
const WAIT = { timeout: 30_000, interval: 50 };
/** Until a whole pull is in: paced by the node's allowance (12 KiB/s), several seconds per thousand lines. */
const PULL_WAIT = { timeout: 100_000, interval: 100 };
/** The attached pull's end: 60 % of the store, 7,200 lines, more than the page keeps on screen. */
const ATTACH_UNTIL = T0 + SPAN * 0.6;

// Page polls of up to 30 s each: cases get 120 s, not the default 30.
describe.runIf(haveChromium() && haveMosquitto())('log-pull page in Chromium', { timeout: 120_000 }, () => {
  let rig: PullRig;
  let browser: Browser;

  beforeAll(async () => {
    // 12 KiB/s of compressed chunks: a pull of one container (~150 KiB raw) takes seconds, so the page shows it running.
    rig = await startPullRig({
      node: NODE,
      records: syntheticRecords(12_000, SPAN),
      pull: { chunkBytes: 8 * 1024, window: 2, allowance: { rateBytesPerSec: 12 * 1024, burstSeconds: 0.25 } },
    });
    browser = await launchChromium();
    await mkdir(SHOTS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await rig?.close();
  });

  /** A tab whose session already holds the API token (the admin's unless another is given). */
  const tab = (opts: { acceptDownloads?: boolean; token?: string } = {}) =>
    newTab(browser, { viewport: { width: 1280, height: 1000 }, ...opts, token: opts.token ?? ADMIN_TOKEN });

  it('requests a pull from the form, shows progress while lines stream in, ends done with every line, and downloads them', async () => {
    const { ctx, page, errors } = await tab({ acceptDownloads: true });
    await page.goto(`${rig.api}/ui/pull.html?node=${NODE}`);
    expect(await page.getByRole('combobox', { name: 'Node' }).inputValue()).toBe(NODE);

    // Record every state and line count the page shows, to see progress between request and end.
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { seen: string[] }).seen = seen;
      new MutationObserver(() => {
        const state = document.querySelector('[data-field="state"]')?.textContent ?? '';
        const lines = document.querySelector('[data-field="lines"]')?.textContent ?? '';
        seen.push(`${state}|${lines}|${document.getElementById('lines')?.textContent?.split('\n').length ?? 0}`);
      }).observe(document.getElementById('main')!, { subtree: true, childList: true, characterData: true });
    });

    const since = new Date(T0).toISOString();
    const until = new Date(T0 + SPAN).toISOString();
    await page.getByRole('textbox', { name: 'Since' }).fill(since);
    await page.getByRole('textbox', { name: 'Until (optional)' }).fill(until);
    await page.getByRole('textbox', { name: 'Container (optional)' }).fill('api');
    // The node's link held to 3 KB/s until the running state has been seen: at the node's own
    // 12 KiB/s the whole pull took a few seconds, and a loaded machine could render the page's
    // first status after it had ended (then 'running' is never shown and the poll times out).
    rig.proxy.throttle(3000);
    try {
      await page.getByRole('button', { name: 'Request logs' }).click();

      // While running: the cancel button is offered and lines arrive before the pull has ended.
      await expect.poll(() => page.locator('[data-field="state"]').textContent(), WAIT).toBe('running');
      await expect
        .poll(() => page.locator('#lines').evaluate((e) => e.textContent?.length ?? 0), WAIT)
        .toBeGreaterThan(0);
      expect(await page.locator('[data-field="state"]').textContent()).toBe('running');
      expect(await page.getByRole('button', { name: 'Cancel' }).isEnabled()).toBe(true);
      await page.screenshot({ path: path.join(SHOTS, 'log-pull-running.png'), fullPage: true });
    } finally {
      rig.proxy.throttle(undefined);
    }

    await expect.poll(() => page.locator('[data-field="state"]').textContent(), PULL_WAIT).toBe('done');
    await expect.poll(() => page.locator('#status').textContent(), WAIT).toMatch(/Pull done: [\d,]+ lines received/);
    const want = await rig.expectedLines({ since: T0, until: T0 + SPAN, container: 'api' });
    expect(want.length).toBeGreaterThan(500);
    expect(await page.locator('#lines').textContent()).toBe(want.join('\n') + '\n');
    expect(await page.locator('[data-field="lines"]').textContent()).toBe(want.length.toLocaleString('en'));
    expect(await page.locator('#progress').evaluate((e) => (e as HTMLProgressElement).value)).toBe(1);

    // Progress was shown in steps: some line counts strictly between none and all.
    const seen = await page.evaluate(() => (window as unknown as { seen: string[] }).seen);
    const shownCounts = seen.map((s) => Number(s.split('|')[2])).filter((n) => n > 1 && n < want.length + 1);
    expect(new Set(shownCounts).size).toBeGreaterThan(1);
    expect(await page.evaluate(auditPage)).toEqual([]);
    await page.screenshot({ path: path.join(SHOTS, 'log-pull.png') });

    // The address names the pull, so a reload attaches to it.
    const id = await page.locator('[data-field="pull"]').textContent();
    expect(new URL(page.url()).search).toBe(`?pull=${id}`);
    expect(await download(page)).toEqual({ name: `${NODE}-${id}.log`, text: want.join('\n') + '\n' });
    expect(errors).toEqual([]);
    await ctx.close();
  }, 200_000); // PULL_WAIT (100 s) after up to a minute of waits for the running state: more than the 120 s of the others.

  /** Presses Download .log: the file's name and text. */
  const download = async (page: Page) => {
    const [d] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download .log' }).click(),
    ]);
    return { name: d.suggestedFilename(), text: await readFile((await d.path())!, 'utf8') };
  };

  const newToken = async (name: string, role: 'viewer' | 'engineer') => {
    const created = await rig.call('/api/v1/tokens', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name, role }),
    });
    expect(created.status).toBe(201);
    return ((await created.json()) as { token: string }).token;
  };

  it('attaches with ?pull= to a pull made elsewhere, follows it, keeps the newest lines on screen and downloads all; not its requester, cannot cancel it', async () => {
    const token = await newToken('ui engineer', 'engineer');
    const { ctx, page, errors } = await tab({ token, acceptDownloads: true });
    const state = () => page.locator('[data-field="state"]').textContent();
    let id: string;
    // Held slow until the page has shown it running and refused the cancel.
    rig.proxy.throttle(3000);
    try {
      // Made by the admin through the API, as the CLI would.
      const r = await rig.call(`/api/v1/nodes/${NODE}/log-pulls`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ since: new Date(T0).toISOString(), until: new Date(ATTACH_UNTIL).toISOString() }),
      });
      expect(r.status).toBe(202);
      id = ((await r.json()) as { id: string }).id;
      await page.goto(`${rig.api}/ui/pull.html?pull=${id}`);
      await expect.poll(state, WAIT).toBe('running');
      await expect
        .poll(() => page.locator('#lines').evaluate((e) => e.textContent?.length ?? 0), WAIT)
        .toBeGreaterThan(0);
      expect(await page.getByRole('combobox', { name: 'Node' }).inputValue()).toBe(NODE);
      expect(await page.locator('[data-field="requested-by"]').textContent()).toBe('bootstrap-admin (bootstrap)');

      await page.getByRole('button', { name: 'Cancel' }).click();
      await expect
        .poll(() => page.locator('#status').textContent(), WAIT)
        .toBe(
          `ET_ERR_PULL_NOT_REQUESTER: only the token that requested a log pull, or an admin, may cancel it (log pull ${id} was requested by bootstrap-admin (bootstrap))`,
        );
      expect(await page.locator('#status').getAttribute('class')).toContain('error');
      const s = (await (await rig.call(`/api/v1/log-pulls/${id}`)).json()) as { state: string };
      expect(s.state).toBe('running');
    } finally {
      rig.proxy.throttle(undefined);
    }

    // Still following after the refusal: it ends done with the newest lines on screen.
    await expect.poll(state, PULL_WAIT).toBe('done');
    const want = await rig.expectedLines({ since: T0, until: ATTACH_UNTIL });
    expect(want.length).toBeGreaterThan(SHOWN_LINES);
    const count = want.length.toLocaleString('en');
    await expect.poll(() => page.locator('#status').textContent(), WAIT).toBe(`Pull done: ${count} lines received.`);
    const last = want.slice(-SHOWN_LINES).join('\n') + '\n';
    expect(await page.locator('#lines').textContent()).toBe(last);
    expect(await page.locator('#line-count').textContent()).toBe(
      `(${count} received, the last ${SHOWN_LINES.toLocaleString('en')} shown)`,
    );
    expect(await download(page)).toEqual({ name: `${NODE}-${id}.log`, text: want.join('\n') + '\n' });
    expect(await page.evaluate(auditPage)).toEqual([]);

    // Attached again once it has ended (a reload): done at once, the same lines, nothing to cancel;
    // only the lines that stay on screen are read (from the API's resume point).
    const read: string[] = [];
    page.on('request', (q) => {
      if (q.url().includes('/lines')) read.push(new URL(q.url()).search);
    });
    await page.reload();
    await expect.poll(() => page.locator('#status').textContent(), WAIT).toBe(`Pull done: ${count} lines received.`);
    expect(await page.locator('#lines').textContent()).toBe(last);
    // (The download above may still be finishing: its read has no `follow`.)
    expect(read.filter((q) => q.includes('follow'))).toEqual([`?follow=true&from=${want.length - SHOWN_LINES}`]);
    expect(await page.locator('#line-count').textContent()).toBe(
      `(${count} received, the last ${SHOWN_LINES.toLocaleString('en')} shown)`,
    );
    expect(await page.getByRole('button', { name: 'Cancel' }).isDisabled()).toBe(true);

    // A pull that does not exist is said so.
    await page.goto(`${rig.api}/ui/pull.html?pull=no-such-pull`);
    await expect.poll(() => page.locator('#status').textContent(), WAIT).toMatch(/^ET_ERR_NOT_FOUND: .*no-such-pull/);
    expect(errors).toEqual([]);
    await ctx.close();
  }, 200_000); // A whole pull of 7,200 lines at the node's pace, with PULL_WAIT's margin.

  it('cancels a running pull from the page', async () => {
    const { ctx, page } = await tab();
    await page.goto(`${rig.api}/ui/pull.html?node=${NODE}`);
    await page.getByRole('textbox', { name: 'Since' }).fill(new Date(T0).toISOString());
    await page.getByRole('textbox', { name: 'Until (optional)' }).fill(new Date(T0 + SPAN).toISOString());
    // Held slow, as above: the pull must still be running when Cancel is pressed.
    rig.proxy.throttle(3000);
    try {
      await page.getByRole('button', { name: 'Request logs' }).click();
      await expect
        .poll(() => page.locator('#lines').evaluate((e) => e.textContent?.length ?? 0), WAIT)
        .toBeGreaterThan(0);
      await page.getByRole('button', { name: 'Cancel' }).click();
      await expect.poll(() => page.locator('#status').textContent(), WAIT).toMatch(/cancelled/);
    } finally {
      rig.proxy.throttle(undefined);
    }
    const id = await page.locator('[data-field="pull"]').textContent();
    const s = (await (await rig.call(`/api/v1/log-pulls/${id}`)).json()) as { state: string; linesReceived: number };
    expect(s.state).toBe('cancelled');
    expect(await page.getByRole('button', { name: 'Request logs' }).isEnabled()).toBe(true);
    expect(await page.getByRole('button', { name: 'Cancel' }).isDisabled()).toBe(true);
    await ctx.close();
  });

  it('with a viewer token the page says the role is too low, and no pull is made', async () => {
    const token = await newToken('ui viewer', 'viewer');
    const { ctx, page } = await tab({ token });
    await page.goto(`${rig.api}/ui/pull.html?node=${NODE}`);
    await page.getByRole('button', { name: 'Request logs' }).click();
    await expect.poll(() => page.locator('#status').textContent(), WAIT).toBe('This token is not allowed to do that.');
    expect(await page.locator('#status').getAttribute('class')).toContain('error');
    expect(await page.locator('[data-field="pull"]').count()).toBe(0);
    await ctx.close();
  });
});
