/** A browser tab for the UI tests, signed in as after pressing Save in the page header. */
import type { Browser, BrowserContext, Page } from 'playwright-core';

export interface Tab {
  ctx: BrowserContext;
  page: Page;
  /** Uncaught errors of the page's scripts, in order. */
  errors: Error[];
}

/**
 * A new context and its page, of `viewport` size; with `token`, its session already holds the API
 * token (sessionStorage, before any script of the page runs).
 */
export async function newTab(
  browser: Browser,
  o: { viewport: { width: number; height: number }; token?: string; acceptDownloads?: boolean },
): Promise<Tab> {
  const ctx = await browser.newContext({ viewport: o.viewport, acceptDownloads: o.acceptDownloads ?? false });
  if (o.token !== undefined) await ctx.addInitScript((t) => sessionStorage.setItem('edge-telemetry.token', t), o.token);
  const page = await ctx.newPage();
  const errors: Error[] = [];
  page.on('pageerror', (e) => errors.push(e));
  return { ctx, page, errors };
}
