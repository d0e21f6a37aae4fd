// The shared browser helpers find what they are meant to find: a page with an unlabelled button, text
// without contrast and a control whose focus is hidden gets each reported; a sound page gets nothing.
import { existsSync, rmSync } from 'node:fs';
import { expect, it } from 'vitest';
import { browserForFile, describeWithChromium, focusWithoutIndicator, newContext, runAxe, saveScreenshot } from './browser.js';

const browser = browserForFile();

const SOUND = `<!doctype html><html lang="en"><head><title>sound</title></head><body>
<button type="button">Save</button><a href="#x">Next page</a><p style="color:#000;background:#fff">text</p></body></html>`;

const FLAWED = `<!doctype html><html lang="en"><head><title>flawed</title>
<style>button, a { outline: none; box-shadow: none; }</style></head><body>
<button type="button"></button><a href="#x">Next page</a><p style="color:#ddd;background:#fff">faint text</p></body></html>`;

describeWithChromium('browser helpers (Debian Chromium, axe-core)', () => {
  it('reports no violations and visible focus on a sound page, and writes a screenshot', async () => {
    const context = await newContext(browser());
    const page = await context.newPage();
    await page.setContent(SOUND);
    expect(await runAxe(page)).toEqual([]);
    expect(await focusWithoutIndicator(page)).toEqual([]);
    const file = await saveScreenshot(page, 'browser-helpers', 'sound page');
    expect(existsSync(file)).toBe(true);
    rmSync(file);
    await context.close();
  });

  it('reports a button without a name, faint text and hidden focus', async () => {
    const context = await newContext(browser());
    const page = await context.newPage();
    await page.setContent(FLAWED);
    const ids = (await runAxe(page)).map((violation) => violation.id).sort();
    expect(ids).toEqual(['button-name', 'color-contrast']);
    const hidden = await focusWithoutIndicator(page);
    expect(hidden).toHaveLength(2);
    expect(hidden[1]).toContain('Next page');
    await context.close();
  });
});
