// The shared browser helpers find what they are meant to find, in Chromium (playwright-core) and in Firefox
// (puppeteer-core over WebDriver BiDi): a page with an unlabelled button, text without contrast and a
// control whose focus is hidden gets each reported; a sound page gets nothing.
import { existsSync, rmSync } from 'node:fs';
import { expect, it } from 'vitest';
import { browserForFile, describeWithChromium, describeWithFirefox, firefoxForFile, focusWithoutIndicator, newContext, newFirefoxPage, runAxe, saveScreenshot } from './browser.js';
import { playwrightDriver, type PageDriver } from './page-driver.js';

const SOUND = `<!doctype html><html lang="en"><head><title>sound</title></head><body>
<button type="button">Save</button><a href="#x">Next page</a><p style="color:#000;background:#fff">text</p></body></html>`;

const FLAWED = `<!doctype html><html lang="en"><head><title>flawed</title>
<style>button, a { outline: none; box-shadow: none; }</style></head><body>
<button type="button"></button><a href="#x">Next page</a><p style="color:#ddd;background:#fff">faint text</p></body></html>`;

/** The same checks in each browser: `open` gives a fresh page and its closer. */
function helperTests(open: () => Promise<{ page: PageDriver; close: () => Promise<void> }>): void {
  it('reports no violations and visible focus on a sound page, and writes a screenshot', async () => {
    const { page, close } = await open();
    await page.setContent(SOUND);
    expect(await runAxe(page)).toEqual([]);
    expect(await focusWithoutIndicator(page)).toEqual([]);
    const file = await saveScreenshot(page, 'browser-helpers', `sound page ${page.engine}`);
    expect(existsSync(file)).toBe(true);
    rmSync(file);
    await close();
  });

  it('reports a button without a name, faint text and hidden focus', async () => {
    const { page, close } = await open();
    await page.setContent(FLAWED);
    const ids = (await runAxe(page)).map((violation) => violation.id).sort();
    expect(ids).toEqual(['button-name', 'color-contrast']);
    const hidden = await focusWithoutIndicator(page);
    expect(hidden).toHaveLength(2);
    expect(hidden[1]).toContain('Next page');
    await close();
  });
}

describeWithChromium('browser helpers (Debian Chromium, axe-core)', () => {
  const browser = browserForFile();
  helperTests(async () => {
    const context = await newContext(browser());
    return { page: playwrightDriver(await context.newPage()), close: () => context.close() };
  });
});

describeWithFirefox('browser helpers (Debian firefox-esr, axe-core)', () => {
  const firefox = firefoxForFile();
  helperTests(async () => {
    const page = await newFirefoxPage(firefox());
    return { page, close: () => page.closeContext() };
  });
});
