// Drives Debian's headless Chromium (no browser download) over review pages written by
// `veriscribe review`, and checks the evidence interaction, network silence, console errors and
// accessibility (axe-core). Called by cli/tests/review_browser.rs; usable on its own:
//
//   node review_page.mjs --chromium /usr/bin/chromium --out DIR [--signoff] PAGE.html...
//
// Prints one JSON report on stdout; exits 1 when any check fails.
import { chromium } from 'playwright-core';
import { readFileSync, writeFileSync, mkdirSync, mkdtempSync, statSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';
import { tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const args = process.argv.slice(2);
let executablePath = '/usr/bin/chromium';
let outDir = 'review-screenshots';
let signoff = false;
const pages = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--chromium') executablePath = args[++i];
  else if (args[i] === '--out') outDir = args[++i];
  else if (args[i] === '--signoff') signoff = true;
  else pages.push(args[i]);
}
mkdirSync(outDir, { recursive: true });

const userDataDir = mkdtempSync(join(tmpdir(), 'veriscribe-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath,
  headless: true,
  viewport: { width: 1366, height: 900 },
  acceptDownloads: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--autoplay-policy=no-user-gesture-required'],
});

const report = { pages: [], failures: 0 };
try {
  for (const [n, file] of pages.entries()) {
    const r = await checkPage(file, n === 0, signoff && n === 0);
    report.pages.push(r);
    report.failures += r.failures.length;
  }
} finally {
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
console.log(JSON.stringify(report, null, 2));
process.exit(report.failures ? 1 : 0);

async function checkPage(file, screenshots, doSignoff) {
  const page = await context.newPage();
  const url = pathToFileURL(file).href;
  const requests = [];
  const consoleErrors = [];
  const failures = [];
  page.on('request', (req) => {
    const u = req.url();
    if (u !== url && !u.startsWith('data:') && !u.startsWith('blob:')) requests.push(u);
  });
  page.on('console', (msg) => { if (msg.type() === 'error') consoleErrors.push(msg.text()); });
  page.on('pageerror', (err) => consoleErrors.push(String(err)));

  const t0 = Date.now();
  await page.goto(url, { waitUntil: 'load' });
  const loadMs = Date.now() - t0;
  const hasAudio = await page.evaluate(() => !!document.getElementById('audio'));
  if (hasAudio) {
    await page.waitForFunction(() => document.getElementById('audio').readyState >= 1, null, { timeout: 10000 });
  }
  if (await page.evaluate(() => window.__pwned !== undefined)) failures.push('injected script ran');

  const sentences = await page.evaluate(() => window.veriscribeReview.sentences());
  let checked = 0;
  for (const s of sentences) {
    await page.click(`[data-sentence-id="${s.id}"]`);
    const got = await page.evaluate((links) => {
      const lit = Array.from(document.querySelectorAll('.seg.evidence')).map((e) => e.dataset.segmentId);
      const begins = links.map((id) => window.veriscribeReview.segmentBegin(id)).filter((b) => b !== null);
      const a = document.getElementById('audio');
      return { lit, first: begins.length ? Math.min(...begins) : null, time: a ? a.currentTime : null,
        active: document.querySelector('.sent.active')?.dataset.sentenceId };
    }, s.links);
    const want = [...new Set(s.links)].sort();
    const lit = [...got.lit].sort();
    if (JSON.stringify(want) !== JSON.stringify(lit)) {
      failures.push(`${s.id}: highlighted ${JSON.stringify(lit)}, evidence ${JSON.stringify(want)}`);
    } else if (got.active !== s.id) {
      failures.push(`${s.id}: not marked active`);
    } else if (hasAudio && (got.first === null || Math.abs(got.time - got.first) > 0.05)) {
      failures.push(`${s.id}: audio at ${got.time}, first evidence at ${got.first}`);
    } else {
      checked++;
    }
  }
  // Keyboard: Enter on the first sentence, then j moves to the second, k back.
  let keyboard = 'skipped';
  if (sentences.length >= 2) {
    await page.focus(`[data-sentence-id="${sentences[0].id}"]`);
    await page.keyboard.press('Enter');
    await page.keyboard.press('j');
    const second = await page.evaluate(() => document.activeElement.dataset.sentenceId + '|' + document.querySelector('.sent.active')?.dataset.sentenceId);
    await page.keyboard.press('k');
    const first = await page.evaluate(() => document.querySelector('.sent.active')?.dataset.sentenceId);
    keyboard = second === `${sentences[1].id}|${sentences[1].id}` && first === sentences[0].id ? 'ok' : `failed (${second}, ${first})`;
    if (keyboard !== 'ok') failures.push(`keyboard navigation ${keyboard}`);
  }
  // A transcript segment: clicking it shows the sentences that cite it and seeks the audio there.
  let segmentClick = 'skipped';
  const cited = sentences.find((s) => s.links.length);
  if (cited) {
    const segId = cited.links[0];
    await page.click(`.seg[data-segment-id="${segId}"] .seg-text`);
    const seg = await page.evaluate((id) => {
      const row = document.querySelector(`.seg[data-segment-id="${id}"]`);
      const c = row.querySelector('.cited');
      const a = document.getElementById('audio');
      return { shown: !c.hidden, buttons: c.querySelectorAll('button').length,
        cites: document.querySelectorAll('.sent.cites').length, time: a ? a.currentTime : null,
        begin: window.veriscribeReview.segmentBegin(id) };
    }, segId);
    const citing = sentences.filter((s) => s.links.includes(segId)).length;
    segmentClick = seg.shown && seg.cites === citing && (!hasAudio || Math.abs(seg.time - seg.begin) < 0.5)
      ? 'ok' : `failed ${JSON.stringify(seg)} (want ${citing} citing sentences)`;
    if (segmentClick !== 'ok') failures.push(`segment click ${segmentClick}`);
    await page.evaluate(() => { const a = document.getElementById('audio'); if (a) a.pause(); });
  }
  // Codes: each suggestion highlights its evidence.
  const codes = await page.$$eval('button.code', (bs) => bs.map((b) => b.dataset.code));
  for (const code of codes) {
    await page.click(`button.code[data-code="${code}"]`);
    const n = await page.evaluate(() => document.querySelectorAll('.seg.evidence').length);
    if (n === 0) failures.push(`code ${code} highlights nothing`);
  }

  if (sentences.length) await page.click(`[data-sentence-id="${sentences[Math.min(2, sentences.length - 1)].id}"]`);
  await page.evaluate(axeSource);
  const axe = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help }));
  });
  const serious = axe.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (serious.length) failures.push(`axe: ${serious.map((v) => `${v.id} (${v.impact}, ${v.nodes})`).join(', ')}`);

  const shots = [];
  if (screenshots) {
    const name = basename(file, '.html');
    const laptop = join(outDir, `${name}-laptop.png`);
    await page.screenshot({ path: laptop });
    shots.push(laptop);
    await page.setViewportSize({ width: 820, height: 1180 });
    const tablet = join(outDir, `${name}-tablet.png`);
    await page.screenshot({ path: tablet });
    shots.push(tablet);
    await page.emulateMedia({ media: 'print' });
    const print = join(outDir, `${name}-print.png`);
    await page.screenshot({ path: print, fullPage: true });
    shots.push(print);
    await page.emulateMedia({ media: 'screen' });
    await page.setViewportSize({ width: 1366, height: 900 });
  }

  let exported = null;
  if (doSignoff && sentences.length >= 3) {
    // Edit the first sentence, reject the second, accept, export through the page's button.
    const row0 = page.locator('.sentence-row').nth(0);
    await row0.getByRole('button', { name: /^Edit / }).click();
    await row0.locator('textarea').fill('Edited in review: ' + sentences[0].text);
    await row0.getByRole('button', { name: 'Save' }).click();
    await page.locator('.sentence-row').nth(1).getByRole('button', { name: /^Reject / }).click();
    await page.click('#accept-note');
    const download = page.waitForEvent('download');
    await page.click('#export-note');
    const d = await download;
    exported = join(outDir, 'reviewed.json');
    await d.saveAs(exported);
  }

  if (requests.length) failures.push(`network requests: ${requests.join(', ')}`);
  if (consoleErrors.length) failures.push(`console errors: ${consoleErrors.join(' | ')}`);
  await page.close();
  return {
    file, bytes: statSync(file).size, loadMs, sentences: sentences.length, checked,
    weak: sentences.filter((s) => s.weak).length, codes: codes.length, keyboard, segmentClick,
    requests: requests.length, consoleErrors: consoleErrors.length,
    axeViolations: axe, seriousViolations: serious.length, screenshots: shots, exported, failures,
  };
}
