/**
 * Debian's chromium driven by playwright-core. Outside CI a missing browser skips the suite with
 * a reason; with CI=true it fails, because CI must run the browser tests.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** True when the suite may run; throws in CI when chromium is missing. */
export function haveChromium(
  executable = CHROMIUM_PATH,
  env: Readonly<Record<string, string | undefined>> = process.env,
): boolean {
  const found = existsSync(executable);
  if (!found && env.CI)
    throw new Error(`chromium is not installed at ${executable}; CI must install it (apt-get install -y chromium)`);
  return found;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}
