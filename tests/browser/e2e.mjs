// End-to-end test of the clerk web UI served by `sohoa serve`, driven in headless Chromium.
//
//   SOHOA_URL=http://127.0.0.1:41234 PHOTO=fixtures/samples/photo4-phone.jpg \
//   CERTIFIER_USER=... CERTIFIER_PASSWORD=... CLERK_USER=... CLERK_PASSWORD=... \
//   OUT_DIR=out/e2e node tests/browser/e2e.mjs
//
// A clerk who is also a certifier signs in, photographs (uploads) one A4 page, drags a corner
// of the detected page outline, applies it, rotates the page right and back, stores it as a
// document (OCR runs then), certifies a copy (fee for one page: 2.000 đ), downloads the
// certified PDF, finds the document by a search without diacritics, opens the certification
// register, has a stranger (no cookies) open the copy's public verification link, and signs
// out. A plain clerk then must not see the certify form, and a forged certify POST with a
// valid CSRF token is refused with 403. The clerk then receives a new dossier: the procedure is
// found without diacritics, two of its three components are on file (attached with one click
// each), the third is captured with its kind carried along; the indicators count the reuse.
// Last, the capture page on a phone-sized screen.
//
// Screenshots go to OUT_DIR/screenshots/NN-name.png (failure.png on a failure), the copy to
// OUT_DIR/certified.pdf. Progress goes to stderr; on success stdout carries one line of JSON:
// {"certified":"<abs path>","document":"<id>","copy":"<id>"}. Exit status 1 on any failure.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];
const ACTION_TIMEOUT = 30_000;     // a click, a fill, an element to appear
const NAVIGATION_TIMEOUT = 60_000; // an ordinary page load or form post
const STORE_TIMEOUT = 180_000;     // storing a draft runs OCR on its pages
const CERTIFY_TIMEOUT = 120_000;   // rendering, stamping and signing the copy
const WATCHDOG = 15 * 60_000;      // the whole run: never hang a CI job

let currentStep = 'setup';
let currentPage = null; // the page a failure screenshot is taken of
let browser = null;
let screenshotDir = null;
const pageErrors = []; // JavaScript errors and console errors of our pages, shown on failure

class StepFailure extends Error {}
const fail = (message) => { throw new StepFailure(message); };
const log = (message) => process.stderr.write(`e2e: ${message}\n`);

function env(name, fallback) {
  const value = process.env[name] ?? fallback;
  if (value === undefined || value === '') fail(`environment variable ${name} is not set`);
  return value;
}

async function step(name, body) {
  currentStep = name;
  log(`step ${name}`);
  return body();
}

async function screenshot(page, name) {
  const file = path.join(screenshotDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true, timeout: ACTION_TIMEOUT });
  log(`  screenshot ${file}`);
}

// A new page in `context`, with its script errors collected and tracked for failure shots.
async function newPage(context, label) {
  const page = await context.newPage();
  page.setDefaultTimeout(ACTION_TIMEOUT);
  page.setDefaultNavigationTimeout(NAVIGATION_TIMEOUT);
  page.on('pageerror', (error) => pageErrors.push(`[${label}] page error at ${page.url()}: ${error.message}`));
  page.on('console', (message) => {
    // (a missing /favicon.ico is no error of ours)
    if (message.type() === 'error' && !message.location().url.endsWith('/favicon.ico')) pageErrors.push(`[${label}] console error at ${page.url()}: ${message.text()}`);
  });
  page.on('response', (response) => {
    if (response.status() >= 500) pageErrors.push(`[${label}] HTTP ${response.status()} for ${response.request().method()} ${response.url()}`);
  });
  currentPage = page;
  return page;
}

const pathOf = (page) => new URL(page.url()).pathname;

// The path of the page now shown must match `pattern`; returns the match.
async function expectPath(page, pattern, what) {
  const match = pathOf(page).match(pattern);
  if (!match) {
    const body = (await page.locator('body').innerText({ timeout: 5_000 }).catch(() => '')).trim().slice(0, 400);
    fail(`expected ${what} (path matching ${pattern}) but the browser is at ${page.url()}` +
      (body ? `; the page says: ${JSON.stringify(body)}` : ''));
  }
  return match;
}

// goto that fails on an HTTP error status.
async function open(page, url, timeout = NAVIGATION_TIMEOUT) {
  const response = await page.goto(url, { waitUntil: 'load', timeout });
  if (response && response.status() >= 400) fail(`GET ${url} answered HTTP ${response.status()}`);
  return response;
}

// Clicks something that submits a form (or follows a link) and waits for the next document to
// load, whatever its URL: posting back to the same page (redirect to the draft) counts too.
async function clickAndLoad(page, locator, { timeout = NAVIGATION_TIMEOUT, expect, what }) {
  let lastStatus = null;
  const onResponse = (response) => {
    if (response.request().isNavigationRequest() && response.frame() === page.mainFrame()) lastStatus = response.status();
  };
  page.on('response', onResponse);
  try {
    await Promise.all([
      page.waitForEvent('load', { timeout }).catch((error) => {
        fail(`no new page loaded within ${timeout / 1000} s after clicking ${locator}: ${error.message.split('\n')[0]}`);
      }),
      locator.click(),
    ]);
  } finally {
    page.off('response', onResponse);
  }
  if (lastStatus !== null && lastStatus >= 400) {
    const body = (await page.locator('body').innerText({ timeout: 5_000 }).catch(() => '')).trim().slice(0, 400);
    fail(`clicking ${locator} led to HTTP ${lastStatus} at ${page.url()}` + (body ? `; the page says: ${JSON.stringify(body)}` : ''));
  }
  return expect ? expectPath(page, expect, what) : null;
}

// Retries `probe` until it returns a truthy value; fails with `what` after `timeout` ms.
async function poll(probe, what, timeout = 10_000) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await probe();
    if (last) return last;
    if (Date.now() > deadline) fail(what);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function expectAttribute(locator, name, value, what) {
  let seen;
  await poll(async () => (seen = await locator.getAttribute(name, { timeout: 5_000 }).catch(() => undefined)) === value,
    `${what}: expected ${name}="${value}" on ${locator}, found ${seen === undefined ? 'no such element' : seen === null ? 'no such attribute' : `"${seen}"`}`);
}

// Each component row of the dossier's checklist must be in the given state.
async function expectComponents(page, states) {
  for (const [kind, state] of Object.entries(states)) {
    const row = page.locator(`#checklist tr[data-kind="${kind}"]`);
    if ((await row.count()) !== 1) fail(`the checklist has no row for ${kind}`);
    const seen = await row.getAttribute('data-state');
    if (seen !== state) fail(`the checklist shows ${kind} as ${seen}, expected ${state}`);
  }
}

async function login(page, base, user, password) {
  await open(page, `${base}/login`);
  await page.locator('#username').fill(user);
  await page.locator('#password').fill(password);
  await clickAndLoad(page, page.locator('#login-submit'), { expect: /^\/$/, what: `the home page after signing in as ${user}` });
}

// The value of a (hidden) input of the first page's corners form.
const cornerInput = (section, name) =>
  section.locator(`form.corners input[name="${name}"]`).evaluate((input) => input.value);

// Regex for an href pointing at /documents/<id> (and not at an id that merely starts with it).
const documentHref = (id) => new RegExp(`/documents/${id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?:[/?#]|$)`);

async function run() {
  const base = env('SOHOA_URL').replace(/\/+$/, '');
  const photo = path.resolve(env('PHOTO'));
  const certifier = { user: env('CERTIFIER_USER'), password: env('CERTIFIER_PASSWORD') };
  const clerk = { user: env('CLERK_USER'), password: env('CLERK_PASSWORD') };
  const reuseCitizen = env('REUSE_CITIZEN');
  const outDir = path.resolve(env('OUT_DIR'));
  const executablePath = env('CHROMIUM', '/usr/bin/chromium');
  if (!fs.existsSync(photo)) fail(`PHOTO ${photo} does not exist`);
  if (!fs.statSync(outDir, { throwIfNoEntry: false })?.isDirectory()) fail(`OUT_DIR ${outDir} is not a directory`);
  if (!fs.existsSync(executablePath)) fail(`no Chromium at ${executablePath} (set CHROMIUM)`);
  screenshotDir = path.join(outDir, 'screenshots');
  fs.mkdirSync(screenshotDir, { recursive: true });
  const certifiedPdf = path.join(outDir, 'certified.pdf');
  fs.rmSync(certifiedPdf, { force: true });

  browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS, timeout: NAVIGATION_TIMEOUT });
  log(`Chromium ${browser.version()}, server ${base}`);
  const certifierContext = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true, locale: 'vi-VN' });
  const page = await newPage(certifierContext, 'certifier');

  await step('1 sign in as the certifier', async () => {
    await open(page, `${base}/login`);
    await screenshot(page, '01-login');
    await page.locator('#username').fill(certifier.user);
    await page.locator('#password').fill(certifier.password);
    await clickAndLoad(page, page.locator('#login-submit'), { expect: /^\/$/, what: 'the home page after signing in' });
    await screenshot(page, '02-home');
  });

  const draftId = await step('2 upload the photo', async () => {
    await open(page, `${base}/capture`);
    await page.locator('#pages').setInputFiles(photo);
    const [, id] = await clickAndLoad(page, page.locator('#upload-submit'), {
      timeout: STORE_TIMEOUT, expect: /^\/drafts\/([^/]+)\/?$/, what: 'the new draft (/drafts/{id})',
    });
    await screenshot(page, '03-draft');
    log(`  draft ${id}`);
    return decodeURIComponent(id);
  });
  const draftPath = new RegExp(`^/drafts/${encodeURIComponent(draftId).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/?$`);

  await step('3 adjust the page outline and rotate', async () => {
    const section = page.locator('section.page[data-page="0"]');
    if ((await section.count()) !== 1) fail('the draft shows no section.page[data-page="0"]');
    const handle = section.locator('svg.outline circle.corner[data-corner="0"]');
    await handle.scrollIntoViewIfNeeded();
    const box = await handle.boundingBox();
    if (!box) fail('circle.corner[data-corner="0"] has no bounding box (not rendered?)');
    const before = await cornerInput(section, 'c0x');
    const x = box.x + box.width / 2, y = box.y + box.height / 2;
    await page.mouse.move(x, y);
    await page.mouse.down();
    await page.mouse.move(x + 4, y + 4, { steps: 4 });
    await page.mouse.move(x + 12, y + 12, { steps: 8 });
    await page.mouse.up();
    const after = await poll(async () => {
      const value = await cornerInput(section, 'c0x');
      return value !== before ? value : null;
    }, `dragging corner 0 by +12,+12 px left input c0x at "${before}"`, 5_000);
    log(`  c0x ${before} -> ${after}`);

    await clickAndLoad(page, section.locator('button.apply-corners'), { expect: draftPath, what: 'the draft again after applying the corners' });
    await expectAttribute(section, 'data-adjusted', 'true', 'after applying the corners');
    await clickAndLoad(page, section.locator('button.rotate-right'), { expect: draftPath, what: 'the draft again after rotating right' });
    await expectAttribute(section, 'data-turn', '90', 'after rotating right');
    await clickAndLoad(page, section.locator('button.rotate-left'), { expect: draftPath, what: 'the draft again after rotating left' });
    await expectAttribute(section, 'data-turn', '0', 'after rotating left');

    const corrected = section.locator('img.corrected');
    await corrected.scrollIntoViewIfNeeded();
    const img = await corrected.elementHandle();
    await page.waitForFunction((el) => el.complete, img, { timeout: NAVIGATION_TIMEOUT, polling: 200 })
      .catch(() => fail(`img.corrected did not finish loading within ${NAVIGATION_TIMEOUT / 1000} s`));
    await img.dispose();
    const [width, src] = await corrected.evaluate((img) => [img.naturalWidth, img.currentSrc || img.src]);
    if (!(width > 0)) fail(`img.corrected (${src}) did not load (naturalWidth ${width})`);
    log(`  corrected page ${width} px wide`);
    await screenshot(page, '04-adjusted');
  });

  const documentId = await step('4 store the draft as a document', async () => {
    const form = page.locator('form#store');
    await form.locator('#dossier_code').fill('HS-WEB-0001');
    await form.locator('#procedure_code').fill('1.001234');
    await form.locator('#citizen_id').fill('012345678901');
    await form.locator('#kind').selectOption('giay-khai-sinh'); // kinds come from the catalogue
    await form.locator('#title').fill('Giấy khai sinh Nguyễn Thị Bình');
    await form.locator('#role').selectOption('component');
    const [, id] = await clickAndLoad(page, form.locator('#store-submit'), {
      timeout: STORE_TIMEOUT, expect: /^\/documents\/([^/]+)\/?$/, what: 'the stored document (/documents/{id})',
    });
    const text = (await page.locator('#ocr-text').textContent()) ?? '';
    if (!text.trim()) fail('#ocr-text is empty on the stored document');
    log(`  document ${id}, ${text.trim().length} characters of OCR text`);
    await screenshot(page, '05-document');
    return decodeURIComponent(id);
  });

  const copyId = await step('5 certify a copy and download it', async () => {
    await page.locator('#compared').check();
    const fee = (await page.locator('#fee').textContent()) ?? '';
    if (!fee.includes('2.000')) fail(`#fee says ${JSON.stringify(fee.trim())}, expected it to contain "2.000" (one page)`);
    const [, rawId] = await clickAndLoad(page, page.locator('#certify-submit'), {
      timeout: CERTIFY_TIMEOUT, expect: /^\/documents\/([^/]+)\/?$/, what: 'the certified copy (/documents/{id})',
    });
    const id = decodeURIComponent(rawId);
    if (id === documentId) fail(`certifying stayed on the original document ${documentId} instead of opening the copy`);
    log(`  copy ${id}`);
    await screenshot(page, '06-certified');
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: NAVIGATION_TIMEOUT }),
      page.locator('a#download').click(),
    ]);
    const failure = await download.failure();
    if (failure) fail(`downloading the copy failed: ${failure}`);
    await download.saveAs(certifiedPdf);
    const head = fs.readFileSync(certifiedPdf).subarray(0, 5).toString('latin1');
    if (!head.startsWith('%PDF')) fail(`the download (${download.suggestedFilename()}) starts with ${JSON.stringify(head)}, not %PDF`);
    log(`  downloaded ${download.suggestedFilename()} (${fs.statSync(certifiedPdf).size} bytes) to ${certifiedPdf}`);
    return id;
  });

  await step('6 search without diacritics', async () => {
    await open(page, `${base}/search`);
    await page.locator('#q').fill('giay khai sinh nguyen thi binh');
    await clickAndLoad(page, page.locator('#search-submit'), {});
    const hrefs = await page.locator('a.result').evaluateAll((links) => links.map((a) => a.getAttribute('href') ?? ''));
    const wanted = [documentHref(documentId), documentHref(copyId)];
    if (!hrefs.some((href) => wanted.some((re) => re.test(href)))) {
      fail(`no a.result links to /documents/${documentId} or /documents/${copyId}; results: ${JSON.stringify(hrefs)}`);
    }
    log(`  ${hrefs.length} result(s)`);
    await screenshot(page, '07-search');
  });

  await step('7 certification register', async () => {
    await open(page, `${base}/register`);
    const rows = await page.locator('#register tbody tr').count();
    if (rows < 1) fail('#register has no rows in its tbody');
    if ((await page.locator('a#register-csv').count()) !== 1) fail('no a#register-csv link on the register page');
    log(`  ${rows} row(s)`);
    await screenshot(page, '08-register');
  });

  await step('8 public verification without signing in', async () => {
    await open(page, `${base}/documents/${encodeURIComponent(copyId)}`);
    const link = page.locator('a#verify-link');
    if ((await link.count()) !== 1) fail('the copy page has no a#verify-link');
    const href = await link.getAttribute('href');
    if (!href) fail('a#verify-link has no href');
    // Resolve as the browser would, then keep to the server under test: a link built from a
    // configured public address is followed on SOHOA_URL instead (no traffic leaves the machine).
    let url = new URL(href, page.url());
    const origin = new URL(base).origin;
    if (url.origin !== origin) {
      log(`  verify link ${url.href} points elsewhere; following its path on ${origin}`);
      url = new URL(url.pathname + url.search + url.hash, origin);
    }
    const stranger = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'vi-VN' });
    const verifyPage = await newPage(stranger, 'stranger');
    await open(verifyPage, url.href);
    await expectAttribute(verifyPage.locator('#verdict'), 'data-valid', 'true', `verifying ${url.pathname} without cookies`);
    await screenshot(verifyPage, '09-verify');
    await stranger.close();
    currentPage = page;
  });

  await step('9 sign out', async () => {
    await clickAndLoad(page, page.locator('#logout-submit'), { expect: /^\/login\/?$/, what: 'the sign-in page after signing out' });
    // The session is gone: the document is no longer shown to this browser.
    await page.goto(`${base}/documents/${encodeURIComponent(documentId)}`, { waitUntil: 'load' });
    if ((await page.locator('#ocr-text').count()) > 0) fail(`after signing out, /documents/${documentId} still shows the document`);
  });

  await step('10 a plain clerk cannot certify', async () => {
    const clerkContext = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'vi-VN' });
    const clerkPage = await newPage(clerkContext, 'clerk');
    await login(clerkPage, base, clerk.user, clerk.password);
    await open(clerkPage, `${base}/documents/${encodeURIComponent(documentId)}`);
    if ((await clerkPage.locator('form#certify').count()) !== 0) fail('a clerk without the certifier role is shown form#certify');
    await screenshot(clerkPage, '10-clerk-document');
    const answer = await clerkPage.evaluate(async (id) => {
      const token = document.querySelector('meta[name="csrf-token"]')?.getAttribute('content');
      if (!token) return { error: 'no <meta name="csrf-token"> on the document page' };
      const response = await fetch(`/documents/${encodeURIComponent(id)}/certify`, {
        method: 'POST', body: new URLSearchParams({ csrf: token, compared: 'on' }),
      });
      return { status: response.status, url: response.url, redirected: response.redirected };
    }, documentId);
    if (answer.error) fail(answer.error);
    if (answer.status !== 403) {
      fail(`a clerk's certify POST answered ${answer.status}${answer.redirected ? ` after redirects to ${answer.url}` : ''}, expected 403`);
    }
    log('  certify POST by a clerk: 403');

    await step('11 receive a dossier: two of its three components are on file', async () => {
      await open(clerkPage, `${base}/dossiers/new`);
      await clerkPage.locator('#q').fill('ket hon'); // no diacritics: finds "Đăng ký kết hôn"
      await clickAndLoad(clerkPage, clerkPage.locator('#procedure-search button'), { expect: /^\/dossiers\/new\/?$/, what: 'the filtered procedures' });
      const codes = await clerkPage.locator('#procedure_code option').evaluateAll((options) => options.map((o) => o.value));
      if (!codes.includes('mau.ket-hon')) fail(`searching "ket hon" offers ${JSON.stringify(codes)}, not mau.ket-hon`);
      await clerkPage.locator('#procedure_code').selectOption('mau.ket-hon');
      await clerkPage.locator('#citizen_id').fill(reuseCitizen);
      await clerkPage.locator('#dossier_code').fill('HS-REUSE-0001');
      await screenshot(clerkPage, '11-new-dossier');
      await clickAndLoad(clerkPage, clerkPage.locator('#new-dossier-submit'), { expect: /^\/dossiers\/HS-REUSE-0001\/?$/, what: 'the new dossier' });
      await expectComponents(clerkPage, { 'can-cuoc': 'available', 'giay-xac-nhan-tinh-trang-hon-nhan': 'available', 'to-khai-ket-hon': 'missing' });
      await screenshot(clerkPage, '12-on-file');
    });

    await step('12 attach both with one click each', async () => {
      for (const kind of ['can-cuoc', 'giay-xac-nhan-tinh-trang-hon-nhan']) {
        const button = clerkPage.locator(`tr[data-kind="${kind}"] button.attach`).first();
        await clickAndLoad(clerkPage, button, { expect: /^\/dossiers\/HS-REUSE-0001\/?$/, what: `the dossier after attaching ${kind}` });
      }
      await expectComponents(clerkPage, { 'can-cuoc': 'held', 'giay-xac-nhan-tinh-trang-hon-nhan': 'held', 'to-khai-ket-hon': 'missing' });
    });

    await step('13 capture the missing one, its kind carried along', async () => {
      await clickAndLoad(clerkPage, clerkPage.locator('tr[data-kind="to-khai-ket-hon"] a.capture'), { expect: /^\/capture\/?$/, what: 'the capture page' });
      await clerkPage.locator('#pages').setInputFiles(photo);
      await clickAndLoad(clerkPage, clerkPage.locator('#upload-submit'), { timeout: STORE_TIMEOUT, expect: /^\/drafts\/[^/]+\/?$/, what: 'the draft' });
      const form = clerkPage.locator('form#store');
      const kind = await form.locator('#kind').inputValue();
      const dossier = await form.locator('#dossier_code').inputValue();
      if (kind !== 'to-khai-ket-hon' || dossier !== 'HS-REUSE-0001') fail(`the draft's form has kind ${JSON.stringify(kind)} and dossier ${JSON.stringify(dossier)}`);
      await clickAndLoad(clerkPage, form.locator('#store-submit'), { timeout: STORE_TIMEOUT, expect: /^\/dossiers\/HS-REUSE-0001\/?$/, what: 'the dossier after storing' });
      await expectComponents(clerkPage, { 'can-cuoc': 'held', 'giay-xac-nhan-tinh-trang-hon-nhan': 'held', 'to-khai-ket-hon': 'held' });
      await screenshot(clerkPage, '13-dossier-complete');
    });

    await step('14 indicators', async () => {
      await open(clerkPage, `${base}/indicators`);
      const reused = await clerkPage.locator('#indicators tbody tr td:nth-child(8)').first().textContent();
      if (reused?.trim() !== '1') fail(`the indicators show ${JSON.stringify(reused)} dossiers with reuse, expected 1`);
      if ((await clerkPage.locator('svg#chart rect').count()) < 6) fail('the indicators chart has no bars');
      await screenshot(clerkPage, '14-indicators');
    });

    await step('15 capture page on a phone', async () => {
      await clerkPage.setViewportSize({ width: 390, height: 844 });
      await open(clerkPage, `${base}/capture`);
      await screenshot(clerkPage, '15-capture-phone');
      const input = clerkPage.locator('#pages');
      const [accept, capture, multiple] = await input.evaluate((el) =>
        [el.getAttribute('accept'), el.getAttribute('capture'), el.hasAttribute('multiple')]);
      if (accept !== 'image/*') fail(`#pages has accept=${JSON.stringify(accept)}, expected "image/*"`);
      if (capture !== 'environment') fail(`#pages has capture=${JSON.stringify(capture)}, expected "environment"`);
      if (!multiple) fail('#pages lacks the multiple attribute');
    });
    await clerkContext.close();
  });

  await browser.close();
  browser = null;
  process.stdout.write(`${JSON.stringify({ certified: certifiedPdf, document: documentId, copy: copyId })}\n`);
}

async function main() {
  const watchdog = setTimeout(() => {
    process.stderr.write(`e2e: FAILED at step ${currentStep}: the whole run took over ${WATCHDOG / 60_000} min\n`);
    process.exit(1);
  }, WATCHDOG);
  watchdog.unref();
  try {
    await run();
    log('all steps passed');
  } catch (error) {
    const message = error instanceof StepFailure ? error.message : (error?.stack ?? String(error));
    process.stderr.write(`e2e: FAILED at step ${currentStep}: ${message}\n`);
    if (currentPage && screenshotDir && !currentPage.isClosed()) {
      const file = path.join(screenshotDir, 'failure.png');
      await currentPage.screenshot({ path: file, fullPage: true, timeout: 10_000 })
        .then(() => process.stderr.write(`e2e: screenshot of the failure: ${file} (at ${currentPage.url()})\n`))
        .catch((shotError) => process.stderr.write(`e2e: no failure screenshot: ${shotError.message.split('\n')[0]}\n`));
    }
    if (pageErrors.length) process.stderr.write(`e2e: seen in the browser:\n  ${pageErrors.slice(-20).join('\n  ')}\n`);
    await browser?.close().catch(() => {});
    process.exit(1);
  }
}

await main();
