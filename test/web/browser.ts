/**
 * Chromium for the end-to-end tests: the apt package at /usr/bin/chromium driven by playwright-core.
 * A missing browser is an error, never a skip: CI installs it (`apt-get install -y chromium`), and a
 * silently skipped browser test would hide a broken demo.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium; CLIPSIFT_CHROMIUM names another binary (the suite's own test of a missing browser uses it). */
export const CHROMIUM = process.env.CLIPSIFT_CHROMIUM ?? '/usr/bin/chromium';

/** The one line a missing browser fails with, before anything else is started. */
export function requireChromium(): void {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} not found: the browser tests need Chromium (apt-get install -y chromium)`);
}

export async function launchChromium(): Promise<Browser> {
  requireChromium();
  return chromium.launch({
    executablePath: CHROMIUM,
    // playwright rejects --user-data-dir here; it makes its own profile.
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
