// Browser-test helpers shared by the pages' tests (supervisord's console, the api's dashboard): Debian's
// Chromium driven by playwright-core and Debian's firefox-esr driven by puppeteer-core over WebDriver BiDi
// (nothing downloaded: the system's browsers), axe-core run in the page for the accessibility basics, a
// keyboard walk for visible focus, and screenshots written as test artifacts under test-artifacts/
// (gitignored). The checks are written once against the page driver (page-driver.ts) and take either a
// playwright page or a driver.
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import puppeteer, { type Browser as PuppeteerBrowser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { z } from 'zod';
import { playwrightDriver, puppeteerDriver, type PageDriver } from './page-driver.js';
import { ROOT } from './programs.js';
import { inCi } from './ci.js';

/** Debian's chromium package (scripts/test-machine.mjs installs it). */
export const CHROMIUM = '/usr/bin/chromium';

/** Debian's firefox-esr package (scripts/test-machine.mjs installs it). */
export const FIREFOX = '/usr/bin/firefox-esr';

/** Where screenshots go: one folder per test file's label. */
export const ARTIFACTS_DIR = path.join(ROOT, 'test-artifacts');

const AXE_SCRIPT = createRequire(import.meta.url).resolve('axe-core/axe.min.js');


/**
 * `describe` for browser tests: runs when the browser is installed; on a developer machine without it the
 * suite is skipped, in CI (`CI` set) it fails naming the package, so CI cannot go green by skipping.
 */
function describeWithBrowser(executable: string, packageName: string): (name: string, body: () => void) => void {
  return (name, body) => {
    if (existsSync(executable)) {
      describe(name, body);
      return;
    }
    if (!inCi()) {
      // Skipped only where the browser is missing and CI is not set; scripts/test-machine.mjs installs it.
      describe.skip(name, body);
      return;
    }
    describe(name, () => {
      it(`has ${packageName} installed`, () => {
        throw new Error(`CI is set but ${executable} is missing (npm test installs Debian's ${packageName}: scripts/test-machine.mjs)`);
      });
    });
  };
}

export const describeWithChromium = describeWithBrowser(CHROMIUM, 'chromium');
export const describeWithFirefox = describeWithBrowser(FIREFOX, 'firefox-esr');

/** Headless Debian Chromium. `--no-sandbox`: the tests may run as root, where Chromium's sandbox refuses to start. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
}

/** One Chromium for the whole test file, closed after it. Call at the top of a test file. */
export function browserForFile(): () => Browser {
  let browser: Browser | null = null;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });
  return () => {
    if (browser === null) throw new Error('the browser is used outside the file\'s tests');
    return browser;
  };
}

/** Headless Debian firefox-esr, driven by puppeteer-core over WebDriver BiDi. */
export function launchFirefox(): Promise<PuppeteerBrowser> {
  return puppeteer.launch({ browser: 'firefox', executablePath: FIREFOX, headless: true });
}

/** One Firefox for the whole test file (it is slow to start), closed after it. Call at the top of a test file. */
export function firefoxForFile(): () => PuppeteerBrowser {
  let browser: PuppeteerBrowser | null = null;
  beforeAll(async () => {
    browser = await launchFirefox();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });
  return () => {
    if (browser === null) throw new Error('Firefox is used outside the file\'s tests');
    return browser;
  };
}

/**
 * A tab in a fresh Firefox context (own cookies and session storage) with a laptop-sized viewport, as a
 * page driver; `close` closes the context. `httpCredentials` answer basic-auth challenges.
 */
export async function newFirefoxPage(
  browser: PuppeteerBrowser,
  options: { httpCredentials?: { username: string; password: string }; viewport?: { width: number; height: number } } = {},
): Promise<PageDriver & { closeContext: () => Promise<void> }> {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  await page.setViewport(options.viewport ?? { width: 1100, height: 700 });
  if (options.httpCredentials !== undefined) await page.authenticate(options.httpCredentials);
  return Object.assign(puppeteerDriver(page), { closeContext: () => context.close() });
}

function asDriver(page: Page | PageDriver): PageDriver {
  return 'engine' in page ? page : playwrightDriver(page);
}

/** A fresh context (own cookies, own credentials) with a laptop-sized viewport. */
export function newContext(
  browser: Browser,
  options: { httpCredentials?: { username: string; password: string }; viewport?: { width: number; height: number } } = {},
): Promise<BrowserContext> {
  return browser.newContext({
    viewport: options.viewport ?? { width: 1100, height: 700 },
    ...(options.httpCredentials === undefined ? {} : { httpCredentials: options.httpCredentials }),
  });
}

/** Writes a full-page screenshot to test-artifacts/<label>/<name>.png; returns its path. */
export async function saveScreenshot(page: Page | PageDriver, label: string, name: string): Promise<string> {
  const dir = path.join(ARTIFACTS_DIR, label);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name.replace(/[^\w.-]+/g, '_')}.png`);
  await asDriver(page).screenshot(file);
  return file;
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  /** CSS selectors of the offending elements. */
  targets: string[];
}

/**
 * axe-core's rules for the basics the issue asks for: every control has an accessible name, the page's
 * text has enough contrast, names and roles are sound. (Visible focus has no axe rule: see focusWithoutIndicator.)
 */
export const BASIC_AXE_RULES = [
  'button-name',
  'link-name',
  'label',
  'input-button-name',
  'select-name',
  'aria-command-name',
  'aria-input-field-name',
  'aria-toggle-field-name',
  'color-contrast',
  'document-title',
  'html-has-lang',
  'image-alt',
  'duplicate-id-aria',
] as const;

const violationsSchema = z.array(
  z.object({ id: z.string(), impact: z.string().nullable(), help: z.string(), targets: z.array(z.string()) }),
);

// In-page code is given as source text: it runs in Chromium and Firefox, and this project's TypeScript has no DOM types.
const AXE_IN_PAGE = `async (ruleIds) => {
  const result = await axe.run(document, { runOnly: { type: 'rule', values: ruleIds }, resultTypes: ['violations'] });
  return result.violations.map((v) => ({
    id: v.id,
    impact: v.impact ?? null,
    help: v.help,
    targets: v.nodes.map((node) => node.target.map(String).join(' ')),
  }));
}`;

/** Runs axe-core in the page (injected from node_modules, nothing fetched); returns the violations. */
export async function runAxe(page: Page | PageDriver, rules: readonly string[] = BASIC_AXE_RULES): Promise<AxeViolation[]> {
  const driver = asDriver(page);
  await driver.addScript(AXE_SCRIPT);
  return violationsSchema.parse(await driver.evaluate(`(${AXE_IN_PAGE})(${JSON.stringify(rules)})`));
}

const focusedSchema = z.object({ label: z.string(), visible: z.boolean() }).nullable();

const FOCUSED_IN_PAGE = `(() => {
  const element = document.activeElement;
  if (element === null || element === document.body) return null;
  const style = getComputedStyle(element);
  const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
  const shadow = style.boxShadow !== 'none' && style.boxShadow !== '';
  const index = Array.from(document.querySelectorAll('*')).indexOf(element);
  const text = (element.textContent ?? '').trim().slice(0, 40) || (element.getAttribute('aria-label') ?? '');
  return { label: element.tagName.toLowerCase() + '#' + index + ' "' + text + '"', visible: outline || shadow };
})()`;

/**
 * Walks the page with the Tab key (as a keyboard user does) and returns a description of every focused
 * control that shows no focus indicator (no outline and no box-shadow while focused). Empty: focus is visible.
 */
export async function focusWithoutIndicator(page: Page | PageDriver, maxSteps = 200): Promise<string[]> {
  const driver = asDriver(page);
  const missing: string[] = [];
  const seen = new Set<string>();
  await driver.evaluate('document.activeElement && document.activeElement.blur && document.activeElement.blur()');
  for (let step = 0; step < maxSteps; step++) {
    await driver.press('Tab');
    const focused = focusedSchema.parse(await driver.evaluate(FOCUSED_IN_PAGE));
    // Back at the start (or focus left the document): every control has been visited.
    if (focused === null || seen.has(focused.label)) break;
    seen.add(focused.label);
    if (!focused.visible) missing.push(focused.label);
  }
  return missing;
}
