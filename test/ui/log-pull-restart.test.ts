/**
 * The log-pull page across an ingester restart. The page used to stop at "Request failed: Failed
 * to fetch" when the ingester it talked to went away, though the pull went on at the node and was
 * resumed by the restarted ingester; only a reload showed the rest (outsider, session 13). Here the
 * real pull path (test/pull/rig.ts: a collector through Mosquitto to an in-process ingester) is
 * paced slow enough that the ingester is stopped mid-pull and started again on the same address,
 * with the same id and storage, as a restarted process would be; the page must finish on its own
 * with every line once.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveMosquitto } from '../support/mosquitto.js';
import { ADMIN_TOKEN, startPullRig, syntheticRecords, T0, type PullRig } from '../pull/rig.js';
import { haveChromium, launchChromium } from './support/chromium.js';
import { newTab } from './support/tab.js';

const NODE = 'gw-ui-restart';
const SPAN = 10 * 60_000;
const WAIT = { timeout: 60_000, interval: 100 };

describe.runIf(haveChromium() && haveMosquitto())('log-pull page across an ingester restart', () => {
  let rig: PullRig;
  let browser: Browser;

  beforeAll(async () => {
    rig = await startPullRig({
      node: NODE,
      records: syntheticRecords(12_000, SPAN),
      pull: { chunkBytes: 4 * 1024, window: 2, allowance: { rateBytesPerSec: 12 * 1024, burstSeconds: 0.25 } },
      // The restarted ingester asks the node to resume soon after its chunks stop.
      ingesterPull: { stallMs: 500, maxStallMs: 2000 },
    });
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await rig?.close();
  });

  it('goes on by itself when the ingester comes back, and ends done with every line once', async () => {
    const { ctx, page, errors } = await newTab(browser, {
      viewport: { width: 1280, height: 1000 },
      token: ADMIN_TOKEN,
    });
    await page.goto(`${rig.api}/ui/pull.html?node=${NODE}`);
    await page.getByRole('textbox', { name: 'Since' }).fill(new Date(T0).toISOString());
    await page.getByRole('textbox', { name: 'Until (optional)' }).fill(new Date(T0 + SPAN).toISOString());
    await page.getByRole('textbox', { name: 'Container (optional)' }).fill('api');
    // The node's link held to 1 KB/s until the ingester is back, so that the pull is still running
    // when the ingester stops.
    rig.proxy.throttle(1000);
    try {
      await page.getByRole('button', { name: 'Request logs' }).click();
      await expect
        .poll(() => page.locator('#lines').evaluate((e) => e.textContent?.split('\n').length ?? 0), WAIT)
        .toBeGreaterThan(2);

      await expect.poll(() => page.locator('[data-field="state"]').textContent(), WAIT).toBe('running');
      const port = Number(new URL(rig.api).port);
      await rig.ingester.stop();
      await expect.poll(() => page.locator('#status').textContent(), WAIT).toMatch(/cannot be reached/);
      await rig.addIngester({ http: { port } });
      await expect.poll(() => page.locator('#status').textContent(), WAIT).toMatch(/Reconnected/);
    } finally {
      rig.proxy.throttle(undefined);
    }

    await expect
      .poll(() => page.locator('[data-field="state"]').textContent(), { ...WAIT, timeout: 120_000 })
      .toBe('done');
    const want = await rig.expectedLines({ since: T0, until: T0 + SPAN, container: 'api' });
    await expect
      .poll(() => page.locator('#status').textContent(), WAIT)
      .toBe(`Pull done: ${want.length.toLocaleString('en')} lines received.`);
    expect(await page.locator('#lines').textContent()).toBe(want.join('\n') + '\n');
    expect(errors).toEqual([]);
    await ctx.close();
  }, 300_000);
});
