/**
 * Browser tests' support: whether Debian's chromium is there (skip with a clear message when it is
 * not; under CI=true a skip is a failure, like the lab tests), launching it headless through
 * playwright-core (optionally inside a lab namespace, through a wrapper that runs it with
 * `ip netns exec`), a page that refuses and records every request off the allowed origin, and
 * where screenshots go (test-artifacts/, gitignored). Not pure.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { repoRoot } from "../../netns/support/vigil.ts";
import { inCi } from "../../support/env.ts";

export const CHROMIUM = "/usr/bin/chromium";

/** The skip condition for a browser suite (throws under CI=true instead of skipping). */
export function skipUnlessBrowser(suite: string): boolean {
  if (existsSync(CHROMIUM)) return false;
  const why = `${CHROMIUM} is not installed (apt-get install chromium)`;
  if (inCi) throw new Error(`${suite}: ${why} — under CI=true a skipped browser test is a failure`);
  console.warn(`[skip] ${suite}: ${why}`);
  return true;
}

/**
 * Launches headless chromium; with `ns` (and a `dir` for the wrapper script) inside that network
 * namespace, so the page reaches a daemon's loopback status port there.
 */
export function launchChromium(inside?: { readonly ns: string; readonly dir: string }): Promise<Browser> {
  let executablePath = CHROMIUM;
  if (inside !== undefined) {
    executablePath = join(inside.dir, "chromium-in-ns");
    writeFileSync(executablePath, `#!/bin/sh\nexec ip netns exec ${inside.ns} ${CHROMIUM} "$@"\n`, {
      mode: 0o755,
    });
  }
  return chromium.launch({
    executablePath,
    args: ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
    timeout: 30_000,
  });
}

/**
 * A new page that aborts, and records, every request whose URL does not start with `allowed`;
 * `requests` lists every request the page made (file: ones included).
 */
export async function guardedPage(
  browser: Browser,
  allowed: string,
): Promise<{ page: Page; refused: string[]; requests: string[]; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const refused: string[] = [];
  const requests: string[] = [];
  const errors: string[] = [];
  page.on("request", (r) => requests.push(r.url()));
  await page.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith(allowed)) return route.continue();
    refused.push(url);
    return route.abort();
  });
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  return { page, refused, requests, errors };
}

/** Saves a full-page screenshot under test-artifacts/ and prints where. */
export async function screenshot(page: Page, name: string): Promise<string> {
  const dir = join(repoRoot, "test-artifacts");
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  await page.screenshot({ path, fullPage: true });
  console.log(`screenshot: ${path}`);
  return path;
}
