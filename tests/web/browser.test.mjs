// browser.test.mjs: the page in a real browser. Starts build/bin/gmr-demo
// (GMR_DEMO) on a free port, drives Debian's /usr/bin/chromium (headless) with
// playwright-core, opens /gmr as a browser does (Accept: text/html...), and
// checks the page against the JSON report and docs/admin-endpoint.md: every
// section, every thread, the filter, expand and collapse, the JSON buttons; no
// console error, no failed request, no CSP violation. Screenshots go to
// tests/web/artifacts/ (report.png, report-full.png, report-phone.png, ...).
//   GMR_DEMO=build/bin/gmr-demo node --test tests/web/browser.test.mjs
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { chromium } from 'playwright-core';

import { ARTIFACTS, Contract, DEMO_SECRETS, request, startDemo } from './helpers.mjs';

const CHROMIUM = process.env.GMR_CHROMIUM || '/usr/bin/chromium';
const contract = new Contract();

let demo;
let context;
let userDataDir;
let page;
// Everything that went wrong in the browser, whichever test was running.
const problems = [];

function watch(p) {
  p.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const where = msg.location()?.url;
    problems.push(`console ${msg.type()}: ${msg.text()}${where ? ` (${where})` : ''}`);
  });
  p.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  p.on('requestfailed', (req) => {
    // A reload aborts the requests of the page it leaves; that is not a failure.
    if (req.failure()?.errorText === 'net::ERR_ABORTED' && req.resourceType() !== 'document') return;
    problems.push(`request failed: ${req.method()} ${req.url()}: ${req.failure()?.errorText}`);
  });
  p.on('response', (res) => {
    if (res.status() >= 400) problems.push(`HTTP ${res.status()}: ${res.request().method()} ${res.url()}`);
  });
}

function assertNoProblems(when) {
  const seen = problems.splice(0);
  assert.deepEqual(seen, [], `${when}:\n${seen.join('\n')}`);
}

async function reportJson() {
  const res = await request(demo.origin, 'GET', '/gmr?format=json');
  assert.equal(res.status, 200);
  contract.check('/gmr', res);
  return res.json;
}

function threadsOf(report) {
  return report.sections.find((s) => s.id === 'threads').data.threads;
}

// The threads of the page, as the DOM has them: {id, name, functions, hidden, open}.
function pageThreads() {
  return page.$$eval('.thread', (els) =>
    els.map((el) => ({
      id: Number(el.getAttribute('data-thread-id')),
      name: el.getAttribute('data-thread-name'),
      functions: [...el.querySelectorAll('.function')].map((f) => f.textContent),
      visible: !el.hidden && el.offsetParent !== null,
      open: el.open,
    })),
  );
}

async function filterBy(text) {
  await page.fill('#thread-filter', text);
  // The filter runs on `input`; give the page a frame to apply it.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
}

before(async () => {
  assert.ok(fs.existsSync(CHROMIUM), `no ${CHROMIUM}: run scripts/web-deps.sh (apt-get install chromium)`);
  demo = await startDemo();
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gmr-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
    timeout: 60000,
  });
  // Record CSP violations (the init script runs outside the page's CSP).
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'} (${e.sourceFile}:${e.lineNumber})`);
    });
  });
  page = context.pages()[0] || (await context.newPage());
  watch(page);
});

after(async () => {
  await context?.close().catch(() => {});
  if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
  await demo?.stop();
});

describe('the report page', () => {
  let report;

  test('opens /gmr as HTML with every section of the JSON report', async () => {
    const response = await page.goto(`${demo.base}`, { waitUntil: 'load' });
    report = await reportJson();
    assert.equal(response.status(), 200);
    const headers = response.headers();
    assert.equal(headers['content-type'], 'text/html; charset=utf-8');
    assert.ok(headers['content-security-policy'], 'no CSP');
    // The browser's own Accept header chose HTML.
    const accept = await response.request().headerValue('accept');
    assert.match(accept, /text\/html/);

    const ids = await page.$$eval('section[data-section-id]', (els) => els.map((e) => e.getAttribute('data-section-id')));
    assert.deepEqual(ids, report.sections.map((s) => s.id));
    for (const s of report.sections) {
      // The heading may hold more than the title (a link to the section, say).
      const title = await page.textContent(`#section-${s.id} h2`);
      assert.ok(title.includes(s.title), `#section-${s.id} h2 is ${JSON.stringify(title)}, not ${s.title}`);
    }
    assert.equal(await page.getAttribute('#report', 'data-service'), 'gmr-demo');
    const text = await page.textContent('body');
    for (const secret of DEMO_SECRETS) assert.ok(!text.includes(secret), `the page shows ${secret}`);
    // The stylesheet applied and the script ran (it shows the toolbar).
    assert.ok(await page.evaluate(() => document.styleSheets.length >= 1 && document.styleSheets[0].cssRules.length > 0));
    assert.equal(await page.isVisible('#toolbar'), true, 'the script did not show #toolbar');
    assertNoProblems('loading /gmr');
  });

  test('shows identical stacks grouped by default, with a switch to the flat list', async () => {
    const threadsSection = '#section-threads';
    assert.equal(await page.getAttribute(`${threadsSection} .thread-views`, 'data-view'), 'grouped');
    assert.equal(await page.isVisible(`${threadsSection} .view-switch`), true, 'no view switch');
    assert.equal(await page.isVisible(`${threadsSection} .stack-groups`), true, 'grouped view hidden');
    assert.equal(await page.isVisible(`${threadsSection} .threads`), false, 'flat list shown by default');
    // Every thread with frames is in exactly one group; the counts add up.
    const json = report.sections.find((s) => s.id === 'threads').data;
    const groups = await page.$$eval(`${threadsSection} .stack-group`, (els) => els.map((e) => Number(e.getAttribute('data-count'))));
    // The page and `report` are two collections: a busy thread may stand on another line
    // in each, so the number of groups may differ by one or two; the threads may not.
    assert.ok(Math.abs(groups.length - json.groups.length) <= 2, `${groups.length} groups, JSON ${json.groups.length}`);
    assert.equal(groups.reduce((a, b) => a + b, 0), json.threads.filter((t) => t.frames.length > 0).length);
    assert.deepEqual(groups, [...groups].sort((a, b) => b - a), 'largest group first');
    // The demo parks several workers in the same place: at least one stack is shared.
    assert.ok(groups[0] > 1, `no shared stack: ${groups}`);
    await page.click(`${threadsSection} .view-button[data-view="flat"]`);
    assert.equal(await page.getAttribute(`${threadsSection} .thread-views`, 'data-view'), 'flat');
    assert.equal(await page.isVisible(`${threadsSection} .stack-groups`), false);
    assert.equal(await page.isVisible(`${threadsSection} .threads`), true);
    // The green threads section switches on its own.
    if (await page.$('#section-green_threads .view-switch')) {
      await page.click('#section-green_threads .view-button[data-view="flat"]');
    }
    assertNoProblems('switching views');
  });

  test('has one .thread per thread of the JSON report', async () => {
    const threads = await pageThreads();
    const json = threadsOf(report);
    assert.equal(threads.length, json.length, `.thread: ${threads.length}, JSON threads: ${json.length}`);
    assert.deepEqual(
      threads.map((t) => t.id).sort((a, b) => a - b),
      json.map((t) => t.id).sort((a, b) => a - b),
    );
    for (const t of json) {
      const shown = threads.find((p) => p.id === t.id);
      assert.equal(shown.name, t.name, `thread ${t.id}`);
    }
    assert.ok(threads.every((t) => t.visible), 'threads hidden before any filter');
    const count = (await page.textContent('#thread-count')).trim();
    assert.equal(count, `${json.length} of ${json.length} threads`);
    // Processes and configuration, as the contract's hooks say.
    assert.ok(await page.$(`li.process[data-pid="${demo.pid}"]`), 'no li.process for the demo');
    const groups = await page.$$eval('table.config-group', (els) => els.map((e) => e.getAttribute('data-group')));
    assert.deepEqual(groups, report.sections.find((s) => s.id === 'configuration').data.groups.map((g) => g.name));
    assert.equal(
      (await page.textContent('table.config-group[data-group="database"] tr.option[data-option="password"]')).includes('***'),
      true,
    );
  });

  test('the filter keeps the threads whose name matches', async () => {
    const all = await pageThreads();
    const worker = all.map((t) => t.name).find((n) => /^worker-\d+$/.test(n));
    assert.ok(worker, 'no worker thread');
    await filterBy(worker.toUpperCase()); // case-insensitive
    const shown = (await pageThreads()).filter((t) => t.visible);
    const want = all.filter(
      (t) => t.name.toLowerCase().includes(worker) || t.functions.some((f) => f.toLowerCase().includes(worker)),
    );
    assert.deepEqual(shown.map((t) => t.id).sort(), want.map((t) => t.id).sort());
    assert.ok(shown.some((t) => t.name === worker));
    assert.equal((await page.textContent('#thread-count')).trim(), `${shown.length} of ${all.length} threads`);
  });

  test('the filter keeps the threads whose functions match', async () => {
    const all = await pageThreads();
    await filterBy('nap');
    const shown = (await pageThreads()).filter((t) => t.visible);
    const want = all.filter((t) => t.name.toLowerCase().includes('nap') || t.functions.some((f) => f.toLowerCase().includes('nap')));
    assert.ok(shown.length > 0, 'no thread in nap()');
    assert.deepEqual(shown.map((t) => t.id).sort(), want.map((t) => t.id).sort());
    // The demo's workers 1, 5, 9... sleep in demo::nap(): the JSON agrees.
    const inNap = threadsOf(report)
      .filter((t) => t.frames.some((f) => (f.function || '').toLowerCase().includes('nap')))
      .map((t) => t.name)
      .sort();
    assert.deepEqual(shown.map((t) => t.name).sort(), inNap);
    assert.ok(inNap.includes('worker-1'), `worker-1 is not in nap: ${inNap}`);

    await filterBy('no-such-thread-or-function');
    assert.equal((await pageThreads()).filter((t) => t.visible).length, 0);
    await filterBy('');
    assert.ok((await pageThreads()).every((t) => t.visible), 'clearing the filter does not show every thread');
  });

  test('expand all and collapse all', async () => {
    await page.click('#expand-all');
    let threads = await pageThreads();
    assert.ok(threads.every((t) => t.open), 'expand all left threads closed');
    assert.ok(await page.isVisible('.thread .frame .function'), 'no frame shown once expanded');
    await page.screenshot({ path: path.join(ARTIFACTS, 'report-expanded.png'), fullPage: false });
    await page.click('#collapse-all');
    threads = await pageThreads();
    assert.ok(threads.every((t) => !t.open), 'collapse all left threads open');
    assertNoProblems('expand and collapse');
  });

  test('Download JSON saves the report as valid JSON', async () => {
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 30000 }), page.click('#download-json')]);
    assert.match(download.suggestedFilename(), /^gmr-demo-gmr-.*\.json$/);
    const file = await download.path();
    const json = JSON.parse(fs.readFileSync(file, 'utf8'));
    const v = contract.schema('Report');
    assert.ok(v(json), JSON.stringify(v.errors?.slice(0, 5)));
    assertNoProblems('download');
  });

  test('Copy JSON puts the report on the clipboard', async () => {
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: demo.origin });
    await page.click('#copy-json');
    await page.waitForFunction(() => /Copied|Could not/.test(document.getElementById('toolbar-status')?.textContent || ''), null, {
      timeout: 30000,
    });
    const status = await page.textContent('#toolbar-status');
    assert.match(status, /Copied/, status);
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    const json = JSON.parse(copied);
    assert.equal(json.schema_version, 1);
    assert.equal(json.service, 'gmr-demo');
    assertNoProblems('copy');
  });

  test('Refresh loads a new report', async () => {
    const before = await page.getAttribute('#report', 'data-generated-at');
    await new Promise((r) => setTimeout(r, 20)); // a new millisecond at least
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('#refresh')]);
    const afterStamp = await page.getAttribute('#report', 'data-generated-at');
    assert.notEqual(afterStamp, before);
    assert.equal(await page.$$eval('section[data-section-id]', (els) => els.length), report.sections.length);
    assertNoProblems('refresh');
  });

  test('screenshots: desktop and a 390 px phone, which scrolls only vertically', async () => {
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.screenshot({ path: path.join(ARTIFACTS, 'report.png'), fullPage: false });
    await page.screenshot({ path: path.join(ARTIFACTS, 'report-full.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    await page.screenshot({ path: path.join(ARTIFACTS, 'report-phone.png'), fullPage: false });
    assert.ok(width <= 390, `at 390 px the page is ${width} px wide`);
    // Every toolbar control is in view, or in a row that scrolls sideways.
    const unreachable = await page.$$eval('#toolbar input, #toolbar button', (els) =>
      els
        .filter((el) => !el.closest('[hidden]'))
        .filter((el) => {
          const box = el.getBoundingClientRect();
          if (box.left >= 0 && box.right <= window.innerWidth + 0.5) return false;
          for (let p = el.parentElement; p; p = p.parentElement) {
            const style = getComputedStyle(p);
            if (/(auto|scroll)/.test(style.overflowX) && p.scrollWidth > p.clientWidth) return false;
          }
          return true;
        })
        .map((el) => el.id || el.tagName),
    );
    assert.deepEqual(unreachable, [], 'toolbar controls out of reach at 390 px');
    await page.setViewportSize({ width: 1280, height: 900 });
    assertNoProblems('screenshots');
  });

  test('follows prefers-color-scheme: dark', async () => {
    const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await page.emulateMedia({ colorScheme: 'light' });
    const light = await background();
    await page.emulateMedia({ colorScheme: 'dark' });
    const dark = await background();
    await page.screenshot({ path: path.join(ARTIFACTS, 'report-dark.png'), fullPage: false });
    await page.emulateMedia({ colorScheme: 'light' });
    assert.notEqual(dark, light, `the background is ${light} in both schemes`);
  });
});

describe('a section page', () => {
  test('/gmr/sections/threads shows only the threads, with a working toolbar', async () => {
    const response = await page.goto(`${demo.base}/sections/threads`, { waitUntil: 'load' });
    assert.equal(response.status(), 200);
    const ids = await page.$$eval('section[data-section-id]', (els) => els.map((e) => e.getAttribute('data-section-id')));
    assert.deepEqual(ids, ['threads']);
    const count = await page.$$eval('.thread', (els) => els.length);
    assert.ok(count > 0);
    await filterBy('dispatcher');
    const visible = await page.$$eval('.thread', (els) => els.filter((e) => !e.hidden).map((e) => e.getAttribute('data-thread-name')));
    assert.ok(visible.includes('dispatcher'));
    assertNoProblems('/gmr/sections/threads');
  });

  test('/gmr/sections/package loads its assets from ../static/ without errors', async () => {
    const response = await page.goto(`${demo.base}/sections/package`, { waitUntil: 'load' });
    assert.equal(response.status(), 200);
    assert.deepEqual(
      await page.$$eval('section[data-section-id]', (els) => els.map((e) => e.getAttribute('data-section-id'))),
      ['package'],
    );
    assert.ok(await page.evaluate(() => document.styleSheets.length >= 1 && document.styleSheets[0].cssRules.length > 0));
    assertNoProblems('/gmr/sections/package');
  });
});
