// The portal in a real browser: headless Debian Chromium driven by
// playwright-core, against the federation `tests/tests/e2e/portal_browser.rs`
// starts (PortalFederation). Every check prints `ok - <name>` or
// `not ok - <name>: <why>`; the exit code is 0 only if all pass.
//
// Environment: HUB_PORTAL, NODE_PORTAL (http://127.0.0.1:PORT),
// PORTAL_USER, PORTAL_PASSWORD (the hub's analyst), OPERATOR_USER,
// OPERATOR_PASSWORD (the first node's operator), SCREENSHOTS (a folder for
// full-page PNGs).
//
// Protocol with the Rust side: the script prints `STOP_MEMBER` on a line
// by itself and waits for `STOPPED <name>` on stdin (a member is then down).

import { createInterface } from 'node:readline';
import { readFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const AXE = path.join(here, 'node_modules', 'axe-core', 'axe.min.js');

function env(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`portal.test.mjs: the environment variable ${name} is not set`);
    process.exit(2);
  }
  return v;
}
const HUB = env('HUB_PORTAL');
const NODE = env('NODE_PORTAL');
const USER = env('PORTAL_USER');
const PASSWORD = env('PORTAL_PASSWORD');
const OPERATOR = env('OPERATOR_USER');
const OPERATOR_PASSWORD = env('OPERATOR_PASSWORD');
const SHOTS = env('SCREENSHOTS');
await mkdir(SHOTS, { recursive: true });

// ---- the line protocol on stdin --------------------------------------------
const lines = [];
const waiters = [];
const input = createInterface({ input: process.stdin });
input.on('line', (line) => {
  const w = waiters.shift();
  if (w) w(line);
  else lines.push(line);
});
function nextLine(timeoutMs) {
  if (lines.length) return Promise.resolve(lines.shift());
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer on stdin in ${timeoutMs} ms`)), timeoutMs);
    waiters.push((line) => {
      clearTimeout(timer);
      resolve(line);
    });
  });
}

// ---- checks ----------------------------------------------------------------
let failures = 0;
let passes = 0;
/** Runs one check; returns its value, or undefined if it failed. */
async function check(name, fn) {
  const started = Date.now();
  try {
    const value = await fn();
    passes++;
    console.log(`ok - ${name} (${Date.now() - started} ms)`);
    return value;
  } catch (e) {
    failures++;
    const why = String((e && e.message) || e).split('\n').slice(0, 6).join(' | ');
    console.log(`not ok - ${name}: ${why}`);
    return undefined;
  }
}
function assert(cond, message) {
  if (!cond) throw new Error(message);
}
function skip(name, why) {
  failures++;
  console.log(`not ok - ${name}: not run, ${why}`);
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
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
  timeout: 60_000,
});

async function newPage(options = {}) {
  const context = await browser.newContext({
    locale: 'hu-HU',
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
    ...options,
  });
  context.setDefaultTimeout(20_000);
  const page = await context.newPage();
  return { context, page };
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

/** GETs `url` in `page` and insists on 200. */
async function open(page, url) {
  const response = await page.goto(url, { waitUntil: 'load' });
  assert(response, `no response for ${url}`);
  assert(response.status() === 200, `${url}: HTTP ${response.status()}`);
  return response;
}

/** The total of a search results page (the heading's data-total). */
async function total(page) {
  const v = await page.locator('#talalatok').getAttribute('data-total');
  assert(v !== null, 'no #talalatok[data-total] on the results page');
  return Number(v);
}

async function hitLinks(page) {
  return page.locator('ol.hits > li.hit h3 a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
}

/** Searches through the search box, as a visitor would: type, Enter. */
async function searchFor(page, query) {
  await open(page, `${HUB}/search`);
  await page.fill('#q', query);
  await Promise.all([page.waitForURL(/\/search\?/), page.press('#q', 'Enter')]);
  await page.waitForLoadState('load');
}

/** Logs in at `portal` in `page`, through the form. */
async function logIn(page, portal, user, password) {
  await open(page, `${portal}/login`);
  await page.fill('#user', user);
  await page.fill('#password', password);
  await Promise.all([
    page.waitForURL((u) => !u.pathname.startsWith('/login'), { timeout: 20_000 }),
    page.click('div.login form button[type=submit]'),
  ]);
  const who = await page.locator('header .who').textContent({ timeout: 5_000 });
  assert(who && who.includes(user), `the header does not say who is logged in: ${who}`);
}

/**
 * Runs axe-core on the page (its context must bypass CSP: the script is
 * inlined), logs every violation, and returns the serious and critical ones.
 */
async function axeSerious(page, name) {
  await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return {
      version: r.testEngine.version,
      violations: r.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5),
        count: v.nodes.length,
      })),
    };
  });
  if (result.violations.length === 0) {
    console.log(`# axe ${result.version} ${name}: no violations`);
  }
  const bad = [];
  for (const v of result.violations) {
    console.log(`# axe ${name}: ${v.impact} ${v.id} (${v.count}×): ${v.help} — ${v.nodes.join(', ')}`);
    if (v.impact === 'serious' || v.impact === 'critical') bad.push(`${name}: ${v.impact} ${v.id}`);
  }
  return bad;
}

// An empty query alone shows the help text, not results: every dated document.
const EVERYTHING = `${HUB}/search?q=&from=1000`;

const anon = await newPage();
const a = anon.page;

// ---- home ------------------------------------------------------------------
await check('home page: lang=hu, a heading, every member listed', async () => {
  await open(a, `${HUB}/`);
  assert((await a.getAttribute('html', 'lang')) === 'hu', 'lang is not hu');
  assert((await a.locator('h1').count()) === 1, 'not exactly one h1');
  const members = await a.locator('[data-member]').count();
  assert(members >= 3, `${members} members on the front page`);
  await shot(a, 'home');
});

// ---- search with and without accents ---------------------------------------
const accentTotal = await check('search: óvodai and ovodai show the same total', async () => {
  await searchFor(a, 'ovodai');
  const plain = await total(a);
  await searchFor(a, 'óvodai');
  const accented = await total(a);
  assert(accented > 0, 'óvodai finds nothing');
  assert(plain === accented, `óvodai: ${accented}, ovodai: ${plain}`);
  const heading = await a.locator('#talalatok').textContent();
  assert(heading.includes('találat'), `heading: ${heading}`);
  const marks = await a.locator('ol.hits li.hit p.snippet mark').count();
  assert(marks > 0, 'no highlighted <mark> in the snippets');
  await shot(a, 'search');
  return accented;
});

// ---- facets ----------------------------------------------------------------
await check('facet click narrows the results and shows it selected', async () => {
  await open(a, EVERYTHING);
  const all = await total(a);
  const facets = await a.locator('aside.facets a[data-facet]').evaluateAll((as) =>
    as.map((el) => ({
      facet: el.dataset.facet,
      value: el.dataset.value,
      pressed: el.getAttribute('data-selected'),
      current: el.getAttribute('aria-current'),
      count: Number((el.parentElement.querySelector('.count')?.textContent || '').replace(/\D/g, '')),
    })),
  );
  assert(facets.length > 0, 'no facet links');
  assert(facets.every((f) => f.pressed === 'false' && f.current === null), 'a facet is selected before any click');
  const pick = facets.find((f) => f.facet === 'kind' && f.count > 0 && f.count < all) ||
    facets.find((f) => f.count > 0 && f.count < all);
  assert(pick, `no facet value narrows ${all} results: ${JSON.stringify(facets.slice(0, 5))}`);
  const link = a.locator(`aside.facets a[data-facet="${pick.facet}"][data-value="${pick.value}"]`);
  await Promise.all([a.waitForURL(new RegExp(`[?&]${pick.facet}=`)), link.click()]);
  const narrowed = await total(a);
  assert(narrowed < all, `${pick.facet}=${pick.value}: ${narrowed} of ${all}`);
  assert(narrowed === pick.count, `facet said ${pick.count}, the results say ${narrowed}`);
  const after = a.locator(`aside.facets a[data-facet="${pick.facet}"][data-value="${pick.value}"]`);
  const current = await after.getAttribute('aria-current');
  const selected = await after.getAttribute('data-selected');
  assert(current === 'true' && selected === 'true', `aria-current=${current}, data-selected=${selected} after the click`);
  assert((await a.getByText('Szűrők törlése').count()) === 1, 'no "Szűrők törlése" link');
});

// ---- paging ----------------------------------------------------------------
await check('paging: the next page shows other hits, Előző goes back', async () => {
  await open(a, EVERYTHING);
  const all = await total(a);
  assert(all > 10, `only ${all} results, no second page`);
  const first = await hitLinks(a);
  assert(first.length === 10, `${first.length} hits on page 1`);
  assert((await a.locator('nav.pager a[rel=prev]').count()) === 0, 'page 1 has a previous link');
  await Promise.all([a.waitForURL(/page=2/), a.click('nav.pager a[rel=next]')]);
  const second = await hitLinks(a);
  assert(second.length > 0, 'page 2 is empty');
  const same = second.filter((h) => first.includes(h));
  assert(same.length === 0, `page 2 repeats ${same.join(', ')}`);
  assert((await a.getAttribute('ol.hits', 'start')) === '11', 'page 2 does not number from 11');
  const prev = a.locator('nav.pager a[rel=prev]');
  assert((await prev.textContent()).includes('Előző'), 'the previous link does not say Előző');
  await Promise.all([a.waitForURL((u) => !u.search.includes('page=2')), prev.click()]);
  const back = await hitLinks(a);
  assert(JSON.stringify(back) === JSON.stringify(first), 'Előző does not show page 1 again');
});

// ---- a document ------------------------------------------------------------
const docUrl = await check('document page: title, full text, Forrásfájl', async () => {
  // Documents only (the entity facet's filter): short register records
  // (kindergartens, their developments) rank high for óvodai.
  await open(a, `${HUB}/search?q=óvodai&entity=document`);
  // Prefer a hit that came from a file (it has a Forrásfájl line).
  const hits = await a.locator('ol.hits > li.hit').evaluateAll((lis) =>
    lis.map((li) => ({
      title: li.querySelector('h3 a').textContent.trim(),
      href: li.querySelector('h3 a').getAttribute('href'),
      snippet: (li.querySelector('.snippet')?.textContent || '').trim(),
      source: [...li.querySelectorAll('p.meta')].some((p) => p.textContent.startsWith('Forrás:')),
    })),
  );
  assert(hits.length > 0, 'no hits for óvodai');
  assert(hits.every((h) => !h.href.includes('%3A')), 'a register record among documents');
  const hit = hits.find((h) => h.source) || hits[0];
  await Promise.all([a.waitForURL((u) => u.pathname.startsWith('/doc/')), a.click(`ol.hits a[href="${hit.href}"]`)]);
  const h1 = (await a.locator('article.document h1').textContent()).trim();
  assert(h1 === hit.title, `h1 ${JSON.stringify(h1)} is not the hit's title ${JSON.stringify(hit.title)}`);
  const title = await a.title();
  assert(title.startsWith(h1), `<title> ${title}`);
  const body = (await a.locator('article.document .body-text').textContent()).trim();
  assert(body.length > 0, 'no full text');
  const words = hit.snippet.replace(/…/g, ' ').split(/\s+/).filter((w) => w.length > 3).slice(0, 3);
  for (const w of words) assert(body.includes(w), `the full text lacks the snippet's ${JSON.stringify(w)}`);
  assert(body.length >= hit.snippet.replace(/…/g, '').trim().length, 'the full text is shorter than the snippet');
  const source = a.locator('dl.props dt', { hasText: 'Forrásfájl' });
  if (hit.source) {
    assert((await source.count()) === 1, 'the hit has a source file, the page no Forrásfájl');
    const dd = (await a.locator('dl.props dd.source').textContent()).trim();
    assert(dd.length > 0, 'empty Forrásfájl');
  } else {
    console.log('# no óvodai hit came from a file: Forrásfájl not checked');
  }
  await shot(a, 'document');
  return a.url();
});

// ---- an indicator with a confidential cell ---------------------------------
/** Finds an indicator and level with a confidential cell, by the cells API. */
async function findConfidential(request) {
  const catalogue = await (await request.get(`${HUB}/api/indicators`)).json();
  const tried = [];
  for (const by of ['kisterseg', 'settlement']) {
    // The demo's own indicators first: those derived from the register
    // (`dev.…`) are sparse, a point here and there.
    const ordered = [...catalogue.filter((i) => !i.code.startsWith('dev.')), ...catalogue.filter((i) => i.code.startsWith('dev.'))];
    for (const i of ordered) {
      const r = await request.get(`${HUB}/api/indicators/${encodeURIComponent(i.code)}/cells?by=${by}`);
      if (r.status() !== 200) {
        tried.push(`${i.code}/${by}: ${r.status()}`);
        continue;
      }
      const cells = (await r.json()).cells || [];
      const conf = cells.filter((c) => c.status === 'C');
      tried.push(`${i.code}/${by}: ${conf.length} C of ${cells.length}`);
      if (conf.length > 0) return { code: i.code, by, cells };
    }
  }
  throw new Error(`no indicator with a confidential cell: ${tried.join('; ')}`);
}

/** Reads the chart and the table of an indicator page. */
async function readIndicatorPage(page) {
  return page.evaluate(() => {
    const svg = document.querySelector('div.chart svg');
    const points = [...document.querySelectorAll('div.chart svg circle.point')].map((c) => ({
      series: c.dataset.series,
      period: c.dataset.period,
    }));
    const confidential = [...document.querySelectorAll('div.chart svg g.confidential')].map((g) => ({
      series: g.dataset.series,
      period: g.dataset.period,
    }));
    const table = document.querySelector('table.cells');
    const periods = [...table.querySelectorAll('thead th')].slice(1).map((th) => th.textContent.trim());
    const rows = [...table.querySelectorAll('tbody tr')].map((tr) => ({
      label: tr.querySelector('th').textContent.trim(),
      cells: [...tr.querySelectorAll('td')].map((td, i) => ({
        period: periods[i],
        status: td.dataset.status ?? null,
        text: td.textContent.trim(),
        // A value is shown: not a dash, not a confidential or incomplete-only mark.
        valued: td.dataset.status !== undefined && !td.querySelector('.conf') && td.textContent.trim() !== '–' &&
          td.textContent.trim() !== 'hiányos',
      })),
    }));
    return { hasSvg: !!svg, points, confidential, periods, rows };
  });
}

let indicatorUrl;
const indicator = await check('indicator chart: a point per value, confidential cells marked', async () => {
  const found = await findConfidential(anon.context.request);
  indicatorUrl = `${HUB}/indicators/${encodeURIComponent(found.code)}?by=${found.by}`;
  console.log(`# indicator ${found.code} by ${found.by}: ${found.cells.length} cells`);
  await open(a, indicatorUrl);
  const view = await readIndicatorPage(a);
  await shot(a, 'indicator');
  assert(view.hasSvg, 'no div.chart svg');
  const drawn = [...new Set(view.points.map((p) => p.series))];
  assert(view.points.length > 0, 'the chart draws no circle.point');
  let expected = 0;
  for (const series of drawn) {
    const row = view.rows.find((r) => r.label === series);
    assert(row, `series ${series} is drawn but not in the table`);
    const values = row.cells.filter((c) => c.valued).length;
    const points = view.points.filter((p) => p.series === series).length;
    assert(points === values, `${series}: ${points} points, ${values} cells with a value`);
    expected += values;
  }
  assert(view.points.length === expected, `${view.points.length} points, ${expected} values`);
  // The API agrees: a point per cell with a value, for the drawn series.
  // (The API names series by code, the page by display name: compared
  // when every series is drawn.)
  const key = found.by === 'settlement' ? 'settlement' : 'kisterseg';
  const apiSeries = new Set(found.cells.map((c) => c[key]));
  if (apiSeries.size === view.rows.length && drawn.length === view.rows.length) {
    const apiValues = found.cells.filter((c) => c.value !== null && c.value !== undefined);
    assert(apiValues.length === view.points.length, `API: ${apiValues.length} values, chart: ${view.points.length}`);
  }
  // Confidential cells: a marker on the chart and "titkos (C)" in the table.
  const tableC = await a.locator('table.cells td[data-status="C"]').count();
  assert(tableC > 0, 'no td[data-status=C]');
  const cText = (await a.locator('table.cells td[data-status="C"]').first().textContent()).trim();
  assert(cText === 'titkos (C)', `a confidential cell reads ${JSON.stringify(cText)}`);
  assert(view.confidential.length > 0, 'no g.confidential on the chart');
  for (const m of view.confidential) {
    const row = view.rows.find((r) => r.label === m.series);
    const cell = row && row.cells.find((c) => c.period === m.period);
    assert(cell && (cell.status === 'C' || cell.status === 'D'),
      `g.confidential ${m.series}/${m.period} is not a C/D cell in the table: ${JSON.stringify(cell)}`);
  }
  for (const row of view.rows.filter((r) => drawn.includes(r.label))) {
    for (const c of row.cells.filter((x) => x.status === 'C')) {
      assert(view.confidential.some((m) => m.series === row.label && m.period === c.period),
        `the table's C cell ${row.label}/${c.period} has no marker on the chart`);
      assert(!view.points.some((p) => p.series === row.label && p.period === c.period),
        `the C cell ${row.label}/${c.period} is drawn as a point`);
    }
  }
  return found;
});
if (!indicator) {
  // The page is still wanted for the download and axe checks.
  try {
    const found = await findConfidential(anon.context.request);
    indicatorUrl = `${HUB}/indicators/${encodeURIComponent(found.code)}?by=${found.by}`;
  } catch {
    const catalogue = await (await anon.context.request.get(`${HUB}/api/indicators`)).json();
    if (catalogue.length) indicatorUrl = `${HUB}/indicators/${encodeURIComponent(catalogue[0].code)}?by=kisterseg`;
  }
}

// ---- a CSV download --------------------------------------------------------
if (indicatorUrl) {
  await check('CSV download: a file whose first line is the header', async () => {
    await open(a, indicatorUrl);
    const by = new URL(indicatorUrl).searchParams.get('by');
    const link = a.locator('p.downloads a', { hasText: /^CSV$/ });
    assert((await link.count()) === 1, 'no CSV link in p.downloads');
    const [download] = await Promise.all([a.waitForEvent('download'), link.click()]);
    const name = download.suggestedFilename();
    assert(name.endsWith(`-${by}.csv`), `suggested file name ${name}`);
    const failure = await download.failure();
    assert(!failure, `the download failed: ${failure}`);
    const file = await download.path();
    const text = await readFile(file, 'utf8');
    const direct = await (await a.context().request.get(new URL(await link.getAttribute('href'), indicatorUrl).href)).text();
    assert(text === direct, `the downloaded file (${text.length} chars) is not what the link serves (${direct.length}: ${JSON.stringify(direct.slice(0, 80))})`);
    const firstLine = text.split(/\r?\n/)[0];
    assert(firstLine === `${by},period,indicator,value` || firstLine.startsWith(`${by},period,indicator,value,`),
      `first line ${JSON.stringify(firstLine)}`);
    assert(text.split(/\r?\n/).filter((l) => l).length > 1, 'no data rows');
  });
} else {
  skip('CSV download: a file whose first line is the header', 'no indicator');
}

// ---- login, logout, a logged-in search -------------------------------------
await check('login: a wrong password is refused with a message', async () => {
  const { context, page } = await newPage();
  try {
    await open(page, `${HUB}/login`);
    await shot(page, 'login');
    await page.fill('#user', USER);
    await page.fill('#password', `${PASSWORD}-wrong`);
    await Promise.all([page.waitForLoadState('load'), page.click('div.login form button[type=submit]')]);
    await page.waitForSelector('#login-error', { timeout: 20_000 });
    const error = (await page.locator('#login-error').textContent()).trim();
    assert(error.length > 0, 'empty #login-error');
    assert((await page.locator('header .who').count()) === 0, 'logged in with a wrong password');
    assert((await page.inputValue('#user')) === USER, 'the user name is not kept in the form');
  } finally {
    await context.close();
  }
});

await check('login and logout; a logged-in search sees more than an anonymous one', async () => {
  const { context, page } = await newPage();
  try {
    await open(a, EVERYTHING);
    const anonymous = await total(a);
    await logIn(page, HUB, USER, PASSWORD);
    await open(page, EVERYTHING);
    const analyst = await total(page);
    assert(analyst > anonymous, `analyst ${analyst}, anonymous ${anonymous}`);
    await Promise.all([page.waitForURL(`${HUB}/`), page.click('header form[action="/logout"] button')]);
    assert((await page.locator('header .who').count()) === 0, 'still logged in after Kilépés');
    assert((await page.locator('header .account a[href="/login"]').count()) === 1, 'no Belépés link after logout');
    await open(page, EVERYTHING);
    const after = await total(page);
    assert(after === anonymous, `after logout ${after}, anonymous ${anonymous}`);
  } finally {
    await context.close();
  }
});

// ---- the operator's upload on the node portal ------------------------------
await check('node portal: an operator uploads files, gets the import report, the document names its Forrásfájl', async () => {
  const { context, page } = await newPage();
  try {
    const anonymous = await page.goto(`${NODE}/admin`);
    assert(anonymous.status() === 403, `anonymous /admin: HTTP ${anonymous.status()}`);
    await logIn(page, NODE, OPERATOR, OPERATOR_PASSWORD);
    await open(page, `${NODE}/admin`);
    const verified = (await page.locator('#audit-verified').textContent()).trim();
    assert(verified.includes('ép'), `audit: ${verified}`);
    await page.setInputFiles('#files', [
      {
        name: 'Erdőgazdálkodási tanulmány.txt',
        mimeType: 'text/plain',
        buffer: Buffer.from('Az erdők és a tűzifa a kistérség falvaiban: tanulmány a fűtésről és az erdőgazdálkodásról.\n'),
      },
      { name: 'hibás.pdf', mimeType: 'application/pdf', buffer: Buffer.from('not a pdf at all') },
    ]);
    await page.selectOption('#kind', 'study');
    await Promise.all([page.waitForURL(`${NODE}/admin/upload`), page.click('form[action="/admin/upload"] button[type=submit]')]);
    await page.waitForSelector('section.report');
    const states = await page.locator('section.report tr[data-state]').evaluateAll((trs) =>
      trs.map((tr) => ({ state: tr.dataset.state, text: tr.textContent.replace(/\s+/g, ' ').trim() })),
    );
    await shot(page, 'admin-report');
    const imported = states.filter((s) => s.state === 'imported');
    const failed = states.filter((s) => s.state === 'failed');
    assert(imported.some((s) => s.text.includes('Erdőgazdálkodási tanulmány.txt')), `imported: ${JSON.stringify(states)}`);
    assert(failed.some((s) => s.text.includes('hibás.pdf')), `failed: ${JSON.stringify(states)}`);
    await open(page, `${NODE}/search?q=tűzifa`);
    assert((await total(page)) >= 1, 'the uploaded document is not found');
    // Its page names the file it came from.
    await Promise.all([page.waitForURL((u) => u.pathname.startsWith('/doc/')), page.click('ol.hits > li.hit h3 a >> nth=0')]);
    assert((await page.locator('dl.props dt', { hasText: 'Forrásfájl' }).count()) === 1, 'no Forrásfájl on the uploaded document');
    const source = (await page.locator('dl.props dd.source').textContent()).trim();
    assert(source.includes('Erdőgazdálkodási tanulmány.txt'), `Forrásfájl: ${source}`);
    await shot(page, 'document-uploaded');
  } finally {
    await context.close();
  }
});

// ---- the register ------------------------------------------------------------
await check('register: a development shows its indicators against their targets; the partner network', async () => {
  const { context, page } = await newPage({ bypassCSP: true });
  try {
    // Most of the demo's developments are federated: the analyst sees them.
    await logIn(page, HUB, USER, PASSWORD);
    await open(page, `${HUB}/search?q=&entity=development&from=1000`);
    assert((await total(page)) > 0, 'no development found');
    const links = await hitLinks(page);
    assert(links.every((h) => h.startsWith('/doc/') && h.includes('development%3A')), `links: ${links.join(' ')}`);
    let chart = null;
    for (const href of links) {
      await open(page, new URL(href, HUB).href);
      if ((await page.locator('section.project-indicator svg').count()) > 0) {
        chart = page.url();
        break;
      }
    }
    assert(chart, 'no development page on the first page of hits has an indicator chart');
    assert((await page.locator('article.register.development h1').count()) === 1, 'no heading');
    assert((await page.locator('table.consortium tbody tr').count()) > 0, 'no consortium');
    const rows = await page.locator('section.project-indicator').first().locator('table.cells tbody tr').count();
    assert(rows >= 2, `the indicator table has ${rows} rows (achieved values and the target)`);
    await shot(page, 'development');
    const bad = await axeSerious(page, 'development');
    await open(page, `${HUB}/network?min_members=2`);
    const shared = await page.locator('table.network tbody tr').count();
    assert(shared > 0, 'no partner active in more than one kistérség');
    await shot(page, 'network');
    bad.push(...(await axeSerious(page, 'network')));
    assert(bad.length === 0, bad.join('; '));
  } finally {
    await context.close();
  }
});

// ---- accessibility (axe-core) ----------------------------------------------
await check('accessibility: no serious or critical axe-core violations', async () => {
  // addScriptTag({path}) inlines the script, which the portal's CSP
  // (default-src 'none') blocks: this context alone bypasses CSP.
  const { context, page } = await newPage({ bypassCSP: true });
  const pages = [
    ['home', `${HUB}/`],
    ['search', `${HUB}/search?q=${encodeURIComponent('óvodai')}`],
    ['document', docUrl],
    ['indicator', indicatorUrl],
    ['login', `${HUB}/login`],
  ];
  const bad = [];
  try {
    for (const [name, url] of pages) {
      if (!url) {
        bad.push(`${name}: no URL (an earlier check failed)`);
        continue;
      }
      await open(page, url);
      bad.push(...(await axeSerious(page, name)));
    }
  } finally {
    await context.close();
  }
  assert(bad.length === 0, bad.join('; '));
});

// ---- a partial answer: last, a member is stopped ---------------------------
await check('partial answer: the notice names the member that is down', async () => {
  console.log('STOP_MEMBER');
  const line = await nextLine(60_000);
  const m = /^STOPPED (.+)$/.exec(line.trim());
  assert(m, `expected "STOPPED <name>", got ${JSON.stringify(line)}`);
  const stopped = m[1];
  await open(a, `${HUB}/search?q=${encodeURIComponent('óvodai')}`);
  const notice = a.locator('div.notice.partial');
  await notice.waitFor({ timeout: 30_000 });
  const text = (await notice.textContent()).replace(/\s+/g, ' ');
  assert(text.includes('Részleges válasz'), `notice: ${text}`);
  assert((await notice.locator(`li[data-member="${stopped}"]`).count()) === 1, `the notice does not name ${stopped}: ${text}`);
  assert(!/https?:\/\/|os error/.test(text), `the public is shown a server's address or error: ${text}`);
  assert((await notice.getAttribute('role')) === 'status', 'the notice has no role=status');
  const now = await total(a);
  if (accentTotal !== undefined) assert(now <= accentTotal, `${now} hits with a member down, ${accentTotal} before`);
  assert((await a.locator('ol.hits > li.hit').count()) > 0, 'no hits from the members that answered');
  await shot(a, 'partial');
});

await browser.close();
input.close();
console.log(`# ${passes} passed, ${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
