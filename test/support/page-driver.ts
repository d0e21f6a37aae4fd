// A tiny page-driver interface over the two browser libraries the page tests use: playwright-core (Debian's
// Chromium) and puppeteer-core (Debian's firefox-esr over WebDriver BiDi, which playwright-core cannot
// drive). Flows and checks written once against it (axe-core, the keyboard walk, screenshots, the Firefox
// page flows) run in either browser. Elements are found in the page by a CSS selector, optionally narrowed by
// their text, so nothing depends on either library's own locator language; clicks and typing stay real
// input events sent by the library.
import type { ElementHandle as PlaywrightElement, Page as PlaywrightPage } from 'playwright-core';
import type { ElementHandle as PuppeteerElement, Page as PuppeteerPage } from 'puppeteer-core';
import { waitFor } from './wait.js';

/** A CSS selector, or a CSS selector narrowed to the elements whose trimmed text is `text` (or matches it). */
export type Target = string | { css: string; text: string | RegExp };

export interface PageDriver {
  readonly engine: 'chromium' | 'firefox';
  goto: (url: string) => Promise<void>;
  setContent: (html: string) => Promise<void>;
  reload: () => Promise<void>;
  url: () => string;
  /** Evaluates JavaScript source in the page (awaiting a promise it yields); the result comes back as JSON. */
  evaluate: (source: string) => Promise<unknown>;
  click: (target: Target) => Promise<void>;
  /** Replaces an input's value by typing `text` into it. */
  fill: (target: Target, text: string) => Promise<void>;
  select: (target: Target, value: string) => Promise<void>;
  press: (key: string) => Promise<void>;
  addScript: (file: string) => Promise<void>;
  screenshot: (file: string) => Promise<void>;
  setViewport: (width: number, height: number) => Promise<void>;
  /** Runs `action` (a click on a target=_blank link, say) and returns the tab it opens, once loaded. */
  popup: (action: () => Promise<void>) => Promise<PageDriver>;
  /** Calls `listener` with the URL and headers of every request the page makes from now on. */
  onRequest: (listener: (url: string, headers: Record<string, string>) => void) => void;
  close: () => Promise<void>;
}

// In-page code is source text: this project's TypeScript has no DOM types.
function findAllSource(target: Target): string {
  if (typeof target === 'string') return `Array.from(document.querySelectorAll(${JSON.stringify(target)}))`;
  const matches =
    typeof target.text === 'string'
      ? `(text) => text === ${JSON.stringify(target.text)}`
      : `(text) => new RegExp(${JSON.stringify(target.text.source)}, ${JSON.stringify(target.text.flags)}).test(text)`;
  return `Array.from(document.querySelectorAll(${JSON.stringify(target.css)})).filter((element) => (${matches})((element.textContent ?? '').trim()))`;
}

function describeTarget(target: Target): string {
  return typeof target === 'string' ? target : `${target.css} with text ${String(target.text)}`;
}

export async function count(page: PageDriver, target: Target): Promise<number> {
  return Number(await page.evaluate(`${findAllSource(target)}.length`));
}

/** The trimmed text of the first match, or null when nothing matches. */
export async function text(page: PageDriver, target: Target): Promise<string | null> {
  const value = await page.evaluate(`(() => { const e = ${findAllSource(target)}[0]; return e === undefined ? null : (e.textContent ?? '').trim(); })()`);
  return typeof value === 'string' ? value : null;
}

/** The trimmed texts of every match. */
export async function texts(page: PageDriver, target: Target): Promise<string[]> {
  const value = await page.evaluate(`${findAllSource(target)}.map((e) => (e.textContent ?? '').trim())`);
  return Array.isArray(value) ? value.map(String) : [];
}

export async function attribute(page: PageDriver, target: Target, name: string): Promise<string | null> {
  const value = await page.evaluate(`(() => { const e = ${findAllSource(target)}[0]; return e === undefined ? null : e.getAttribute(${JSON.stringify(name)}); })()`);
  return typeof value === 'string' ? value : null;
}

/** Waits until `target` is in the page (or, with `gone`, no longer is). */
export async function waitForTarget(page: PageDriver, target: Target, options: { gone?: boolean; timeoutMs?: number } = {}): Promise<void> {
  const wanted = options.gone === true ? 'to leave the page' : 'in the page';
  await waitFor(`${describeTarget(target)} ${wanted}`, async () => ((await count(page, target)) > 0) !== (options.gone === true), {
    timeoutMs: options.timeoutMs ?? 20_000,
  });
}

/** Waits until `read` gives `expected` (or matches it); returns the last value read. */
export async function waitForValue<T>(what: string, read: () => Promise<T>, expected: T | RegExp, timeoutMs = 20_000): Promise<T> {
  let last: T | undefined;
  const matches = (value: T): boolean => (expected instanceof RegExp ? typeof value === 'string' && expected.test(value) : value === expected);
  try {
    // Wrapped: the value read may itself be false or undefined, which waitFor takes for "not yet".
    const { value } = await waitFor(what, async () => {
      last = await read();
      return matches(last) ? { value: last } : false;
    }, { timeoutMs });
    return value;
  } catch (error) {
    throw new Error(`${(error as Error).message}; last seen: ${JSON.stringify(last)}`, { cause: error });
  }
}

/** Marks the current document, clicks, and waits for the next document (a link or a form's redirect) to load. */
export async function clickToNewDocument(page: PageDriver, target: Target): Promise<void> {
  await page.evaluate('window.__oldDocument = true');
  await page.click(target);
  // Not about:blank: while a slow answer (Restart All waits for every start) is awaited, a browser may
  // show a blank document of its own between the old page and the new one.
  await waitFor(`a new document after clicking ${describeTarget(target)}`, async () =>
    (await page.evaluate(`window.__oldDocument !== true && document.readyState === 'complete' && location.protocol !== 'about:'`)) === true,
  );
}

const FIND_FIRST = (target: Target): string => `${findAllSource(target)}[0] ?? null`;

/**
 * Finds the element and acts on it, again if it left the page in between: the pages re-render parts on
 * live updates, which can replace an element between finding it and clicking it.
 */
function onElement<E>(find: (target: Target) => Promise<E>, act: (element: E) => Promise<void>): (target: Target) => Promise<void> {
  return async (target) => {
    await waitFor(`${describeTarget(target)} to act on`, async () => {
      await act(await find(target));
      return true;
    }, { timeoutMs: 10_000 });
  };
}

// ---- playwright-core (Chromium) ----

export function playwrightDriver(page: PlaywrightPage): PageDriver {
  const element = async (target: Target): Promise<PlaywrightElement> => {
    const handle = (await page.evaluateHandle(FIND_FIRST(target))).asElement();
    if (handle === null) throw new Error(`nothing in the page is ${describeTarget(target)}`);
    return handle;
  };
  return {
    engine: 'chromium',
    goto: async (url) => void (await page.goto(url)),
    setContent: (html) => page.setContent(html),
    reload: async () => void (await page.reload()),
    url: () => page.url(),
    evaluate: (source) => page.evaluate<unknown>(source),
    click: onElement(element, (handle) => handle.click()),
    fill: async (target, value) => (await element(target)).fill(value),
    select: async (target, value) => void (await (await element(target)).selectOption(value)),
    press: (key) => page.keyboard.press(key),
    addScript: async (file) => void (await page.addScriptTag({ path: file })),
    screenshot: async (file) => void (await page.screenshot({ path: file, fullPage: true })),
    setViewport: (width, height) => page.setViewportSize({ width, height }),
    popup: async (action) => {
      const [opened] = await Promise.all([page.context().waitForEvent('page'), action()]);
      await opened.waitForLoadState();
      return playwrightDriver(opened);
    },
    onRequest: (listener) => page.on('request', (request) => listener(request.url(), request.headers())),
    close: () => page.close(),
  };
}

// ---- puppeteer-core (Firefox over WebDriver BiDi) ----

export function puppeteerDriver(page: PuppeteerPage): PageDriver {
  const element = async (target: Target): Promise<PuppeteerElement> => {
    const handle = (await page.evaluateHandle(FIND_FIRST(target))).asElement();
    if (handle === null) throw new Error(`nothing in the page is ${describeTarget(target)}`);
    return handle as PuppeteerElement;
  };
  return {
    engine: 'firefox',
    goto: async (url) => void (await page.goto(url)),
    setContent: (html) => page.setContent(html),
    reload: async () => void (await page.reload()),
    url: () => page.url(),
    evaluate: (source) => page.evaluate(source),
    click: onElement(element, (handle) => handle.click()),
    fill: async (target, value) => {
      const input = await element(target);
      // Three clicks select what the input holds, so typing replaces it.
      await input.click({ count: 3 });
      await input.type(value);
    },
    select: async (target, value) => void (await (await element(target)).select(value)),
    press: (key) => page.keyboard.press(key as Parameters<PuppeteerPage['keyboard']['press']>[0]),
    addScript: async (file) => void (await page.addScriptTag({ path: file })),
    screenshot: async (file) => void (await page.screenshot({ path: file, fullPage: true })),
    setViewport: (width, height) => page.setViewport({ width, height }),
    popup: async (action) => {
      const opened = new Promise<PuppeteerPage | null>((resolve) => page.once('popup', resolve));
      await action();
      const tab = await opened;
      if (tab === null) throw new Error('the click opened no tab');
      // A new tab starts as a loaded about:blank before it navigates to the link.
      await waitFor('the new tab to load', async () => tab.url() !== 'about:blank' && (await tab.evaluate(`document.readyState`)) === 'complete');
      return puppeteerDriver(tab);
    },
    onRequest: (listener) => page.on('request', (request) => listener(request.url(), request.headers())),
    close: () => page.close(),
  };
}
