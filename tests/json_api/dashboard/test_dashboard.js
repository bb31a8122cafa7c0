// SPDX-License-Identifier: GPL-3.0-or-later
// The dashboard in a real browser: Debian's headless Chromium driven by
// playwright-core against the real nimbus. It proves, from the page's DOM:
//   - GET / lists the stations (REST) with their latest observation;
//   - an observation recorded over REST appears live, without a reload,
//     and so does one of a station created after the page loaded;
//   - after the server restarts on the same port and database, the page
//     reconnects and resumes from the last seq it saw (`fromSeq`), showing
//     an observation recorded while it was disconnected exactly once;
//   - more stations than one REST page are all listed (nextCursor);
//   - a `lagged` message makes it resubscribe from lastSeq (injected with
//     page.routeWebSocket, since the server sends lagged only when storage
//     fails);
//   - with --api-key, the page asks for a key, refuses a wrong one and
//     works with the right one (Bearer on REST, access_token on the stream);
//   - the demo's 22 stations fit a 1280x900 screen, each with a 24 h
//     sparkline, the page fits a 390-px phone, sparklines and the station
//     panel's four charts grow live; Chromium's EventSource gets the
//     snapshot and observations identified by seq;
//   - no uncaught JavaScript error happens on the way.
// Screenshots (1280x900 light, dark and with the panel; 390x844 with and
// without the panel) land in the build directory (argv[3]).
// Usage: node test_dashboard.js NIMBUS_BINARY OUT_DIR
'use strict';

const assert = require('assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');
const { NimbusServer, request, sleep } = require('./nimbus_launcher');

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
  '--no-first-run', '--disable-background-networking', '--disable-component-update',
  '--disable-sync'];
const WAIT_MS = 15000;

const [binary, outDir] = process.argv.slice(2);
if (!binary || !outDir) {
  console.error('usage: node test_dashboard.js NIMBUS_BINARY OUT_DIR');
  process.exit(2);
}

function station(id, name, city) {
  return { id, name, city, country: 'DE', latitude: 52.5, longitude: 13.4 };
}

async function createStation(srv, s, headers) {
  const res = await request(srv.baseUrl, 'POST', '/v1/stations', s, headers);
  assert.strictEqual(res.status, 201, JSON.stringify(res.body));
}

// Records one observation; returns its seq.
async function record(srv, id, obs, headers) {
  const res = await request(srv.baseUrl, 'POST', `/v1/stations/${id}/observations`,
    { observations: [obs] }, headers);
  assert.strictEqual(res.status, 200, JSON.stringify(res.body));
  assert.strictEqual(res.body.accepted, 1);
  return res.body.lastSeq;
}

const row = (id) => `#station-rows tr[data-station-id="${id}"]`;
const cellText = (page, id, field) => page.textContent(`${row(id)} [data-field="${field}"]`);
const feedItem = (seq) => `#feed li[data-seq="${seq}"]`;

async function feedSeqs(page) {
  return page.$$eval('#feed li', (lis) => lis.map((li) => Number(li.dataset.seq)));
}

// Newest first, strictly decreasing: no duplicate, no reordering.
function assertFeedOrdered(seqs) {
  for (let i = 1; i < seqs.length; i++)
    assert.ok(seqs[i - 1] > seqs[i], `feed out of order or duplicated: ${seqs}`);
}

// Polls a node-side condition (e.g. frames seen by routeWebSocket, which
// arrive after the page's DOM changed).
async function until(cond, what) {
  const deadline = Date.now() + WAIT_MS;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(what);
    await sleep(20);
  }
}

function watchErrors(page, errors) {
  page.on('pageerror', (e) => errors.push(String(e)));
}

async function liveAndRestart(context, srv) {
  const errors = [];
  await createStation(srv, station('T-BER-01', 'Berlin Test', 'Berlin'));
  const s1 = await record(srv, 'T-BER-01', { observedAt: '2026-01-01T10:00:00Z', temperature: 11.5,
    humidity: 60, pressure: 1012.3, windSpeed: 3.2, windDirection: 270 });

  const page = await context.newPage();
  watchErrors(page, errors);
  await page.goto(srv.baseUrl + '/');
  assert.strictEqual(await page.title(), 'Nimbus · live weather');
  await page.waitForSelector('#conn-state[data-state="live"]', { timeout: WAIT_MS });
  await page.waitForSelector(row('T-BER-01'), { timeout: WAIT_MS });
  await page.waitForFunction((sel) => /11\.5/.test(document.querySelector(sel)?.textContent || ''),
    `${row('T-BER-01')} [data-field="temperature"]`, { timeout: WAIT_MS });
  assert.match(await cellText(page, 'T-BER-01', 'name'), /Berlin Test/);
  assert.match(await cellText(page, 'T-BER-01', 'humidity'), /60/);
  assert.match(await cellText(page, 'T-BER-01', 'pressure'), /1012\.3/);
  assert.match(await cellText(page, 'T-BER-01', 'wind'), /3\.2.*W/);
  assert.strictEqual(await page.getAttribute(`${row('T-BER-01')} [data-field="observedAt"] time`,
    'datetime'), '2026-01-01T10:00:00Z');
  // The feed starts with what came before the snapshot (GetObservationFeed).
  await page.waitForSelector(feedItem(s1), { timeout: WAIT_MS });
  await page.evaluate(() => { window.__noReload = true; });

  // Live, without reload: a newer observation, then a station that did not
  // exist when the page listed the stations.
  const s2 = await record(srv, 'T-BER-01', { observedAt: '2026-01-01T10:10:00Z', temperature: 12.4,
    humidity: 58, pressure: 1011.9, windSpeed: 4.0, windDirection: 90 });
  await page.waitForSelector(feedItem(s2), { timeout: WAIT_MS });
  await page.waitForSelector(`${row('T-BER-01')}[data-seq="${s2}"]`, { timeout: WAIT_MS });
  assert.match(await cellText(page, 'T-BER-01', 'temperature'), /12\.4/);
  assert.match(await page.textContent(feedItem(s2)), /Berlin Test/);
  await createStation(srv, station('T-HAM-01', 'Hamburg Test', 'Hamburg'));
  const s3 = await record(srv, 'T-HAM-01', { observedAt: '2026-01-01T10:05:00Z', temperature: 7.25 });
  await page.waitForSelector(feedItem(s3), { timeout: WAIT_MS });
  await page.waitForSelector(`${row('T-HAM-01')}[data-seq="${s3}"]`, { timeout: WAIT_MS });
  assert.match(await cellText(page, 'T-HAM-01', 'name'), /Hamburg Test/);
  // Its feed line showed the id until the station was fetched.
  await page.waitForFunction((sel) => /Hamburg Test/.test(document.querySelector(sel).textContent),
    feedItem(s3), { timeout: WAIT_MS });
  assert.strictEqual(await page.textContent('#last-seq'), String(s3));
  assert.strictEqual(await page.evaluate(() => window.__noReload), true, 'the page reloaded');

  // Kill the stream: restart the server in place. Wait until the page is
  // in a long backoff (attempt 4 waits 3-5 s) so the observation below is
  // recorded while it is disconnected and must come from the replay.
  const port = srv.port;
  await srv.stop();
  await page.waitForFunction(() => {
    const c = document.getElementById('conn-state');
    return c.dataset.state === 'reconnecting' && Number(c.dataset.attempts) >= 4;
  }, null, { timeout: WAIT_MS, polling: 50 });
  await srv.start(port);
  const s4 = await record(srv, 'T-BER-01', { observedAt: '2026-01-01T10:20:00Z', temperature: 13.6 });
  assert.strictEqual(await page.getAttribute('#conn-state', 'data-state'), 'reconnecting',
    'the page reconnected before the missed observation was recorded');
  await page.waitForSelector('#conn-state[data-state="live"]', { timeout: WAIT_MS });
  await page.waitForSelector(feedItem(s4), { timeout: WAIT_MS });
  assert.strictEqual(await page.getAttribute('#conn-state', 'data-resume-from'), String(s3));
  await page.waitForFunction((sel) => /13\.6/.test(document.querySelector(sel)?.textContent || ''),
    `${row('T-BER-01')} [data-field="temperature"]`, { timeout: WAIT_MS });
  // Live again after the resume.
  const s5 = await record(srv, 'T-HAM-01', { observedAt: '2026-01-01T10:25:00Z', temperature: 8.5 });
  await page.waitForSelector(feedItem(s5), { timeout: WAIT_MS });
  const seqs = await feedSeqs(page);
  assertFeedOrdered(seqs);
  assert.deepStrictEqual(seqs, [s5, s4, s3, s2, s1]);
  assert.strictEqual(await page.evaluate(() => window.__noReload), true, 'the page reloaded');

  await page.close();
  assert.deepStrictEqual(errors, []);
  return s5;
}

// A `lagged` message, injected between the page and the server: the page
// must resubscribe (new id) with fromSeq = the lagged lastSeq and ignore
// what the old subscription still sends.
async function lagged(context, srv, head) {
  const errors = [];
  const page = await context.newPage();
  watchErrors(page, errors);
  const sent = [];
  let toPage = null;
  await page.routeWebSocket(/\/v1\/stream/, (ws) => {
    const server = ws.connectToServer();
    toPage = ws;
    ws.onMessage((m) => {
      sent.push(JSON.parse(m));
      server.send(m);
    });
    server.onMessage((m) => ws.send(m));
  });
  await page.goto(srv.baseUrl + '/');
  await page.waitForSelector('#conn-state[data-state="live"]', { timeout: WAIT_MS });
  await until(() => sent.length >= 1, 'no subscribe seen');
  assert.strictEqual(sent.length, 1);
  assert.strictEqual(sent[0].type, 'subscribe');
  assert.strictEqual(sent[0].fromSeq, undefined);
  assert.strictEqual(sent[0].snapshot, true);
  toPage.send(JSON.stringify({ type: 'lagged', id: sent[0].id, lastSeq: head }));
  await page.waitForFunction(() => document.getElementById('conn-state').dataset.resumeFrom !== '',
    null, { timeout: WAIT_MS });
  await until(() => sent.length >= 2, 'the page did not resubscribe after lagged');
  assert.strictEqual(sent.length, 2);
  assert.strictEqual(sent[1].type, 'subscribe');
  assert.strictEqual(sent[1].fromSeq, head);
  assert.notStrictEqual(sent[1].id, sent[0].id);
  // Both server-side subscriptions now deliver it; the page shows it once.
  const seq = await record(srv, 'T-BER-01', { observedAt: '2026-01-01T10:30:00Z', temperature: 14 });
  await page.waitForSelector(feedItem(seq), { timeout: WAIT_MS });
  await page.waitForTimeout(300);
  const seqs = await feedSeqs(page);
  assertFeedOrdered(seqs);
  assert.strictEqual(seqs[0], seq);
  await page.close();
  assert.deepStrictEqual(errors, []);
}

// More stations than one REST page (limit 1000): the page follows
// nextCursor to the end.
async function paging(context, srv) {
  const total = 1003;
  const ids = Array.from({ length: total }, (_, i) => `P-${String(i).padStart(4, '0')}`);
  const queue = ids.slice();
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (queue.length) {
      const id = queue.shift();
      await createStation(srv, station(id, `Paged ${id}`, 'Pagetown'));
    }
  }));
  const last = ids[total - 1];
  await record(srv, last, { observedAt: '2026-01-02T00:00:00Z', temperature: -4.5 });
  const errors = [];
  const page = await context.newPage();
  watchErrors(page, errors);
  await page.goto(srv.baseUrl + '/');
  await page.waitForSelector(row(last), { timeout: WAIT_MS });
  await page.waitForFunction((n) => document.getElementById('station-count').textContent === n,
    String(total + 2), { timeout: WAIT_MS }); // + T-BER-01 and T-HAM-01
  assert.strictEqual(await page.$$eval('#station-rows tr[data-station-id]', (r) => r.length), total + 2);
  // Latest values come with the snapshot, for every row at once; a row's
  // 24 h history is fetched once it comes near the screen.
  await page.waitForFunction((sel) => /-4\.5/.test(document.querySelector(sel)?.textContent || ''),
    `${row(last)} [data-field="temperature"]`, { timeout: WAIT_MS });
  assert.strictEqual(await page.getAttribute(`${row(last)} [data-field="spark"]`, 'data-history'),
    'none');
  await page.locator(row(last)).scrollIntoViewIfNeeded();
  await page.waitForSelector(`${row(last)} [data-field="spark"][data-history="loaded"]`,
    { timeout: WAIT_MS });
  const seq = await record(srv, last, { observedAt: '2026-01-02T00:10:00Z', temperature: -3.5 });
  await page.waitForSelector(`${row(last)}[data-seq="${seq}"]`, { timeout: WAIT_MS });
  assert.match(await cellText(page, last, 'temperature'), /-3\.5/);
  await page.close();
  assert.deepStrictEqual(errors, []);
}

// A server with keys: the page asks for one, says when it is refused, and
// works with a valid read key.
async function withKey(context, binary) {
  const admin = { Authorization: 'Bearer adm-secret' };
  const srv = new NimbusServer(binary, { args: ['--api-key', 'ops:adm-secret:admin',
    '--api-key', 'viewer:view-secret:read'] });
  await srv.start();
  const errors = [];
  try {
    await createStation(srv, station('K-MUC-01', 'Munich Keyed', 'Munich'), admin);
    await record(srv, 'K-MUC-01', { observedAt: '2026-01-01T09:00:00Z', temperature: 3.5 }, admin);
    const page = await context.newPage();
    watchErrors(page, errors);
    await page.goto(srv.baseUrl + '/');
    await page.waitForSelector('#conn-state[data-state="unauthorized"]', { timeout: WAIT_MS });
    assert.strictEqual(await page.isVisible('#notice'), true);
    await page.fill('#api-key', 'wrong-secret');
    await page.click('#key-save');
    await page.waitForFunction(() => /refused/.test(document.getElementById('conn-text').textContent),
      null, { timeout: WAIT_MS });
    assert.strictEqual(await page.getAttribute('#conn-state', 'data-state'), 'unauthorized');
    await page.fill('#api-key', 'view-secret');
    await page.click('#key-save');
    await page.waitForSelector('#conn-state[data-state="live"]', { timeout: WAIT_MS });
    await page.waitForSelector(row('K-MUC-01'), { timeout: WAIT_MS });
    await page.waitForFunction((sel) => /3\.5/.test(document.querySelector(sel)?.textContent || ''),
      `${row('K-MUC-01')} [data-field="temperature"]`, { timeout: WAIT_MS });
    assert.strictEqual(await page.evaluate(() => localStorage.getItem('nimbus.apiKey')), 'view-secret');
    const seq = await record(srv, 'K-MUC-01', { observedAt: '2026-01-01T09:10:00Z', temperature: 4 },
      admin);
    await page.waitForSelector(feedItem(seq), { timeout: WAIT_MS });
    // The key survives a reload (localStorage).
    await page.reload();
    await page.waitForSelector('#conn-state[data-state="live"]', { timeout: WAIT_MS });
    assert.strictEqual(await page.inputValue('#api-key'), 'view-secret');
    await page.close();
    await srv.stop();
    srv.cleanup();
  } catch (e) {
    console.error('---- nimbus log (keys) ----\n' + srv.logText().slice(-20000));
    srv.kill9();
    throw e;
  }
  assert.deepStrictEqual(errors, []);
}

// The demo (22 stations, a day of hourly history, an observation every
// quarter second) as people see it: every station on one 1280x900 screen
// with its sparkline, nothing wider than a 390-px phone, charts that grow
// live, a station panel with four 24 h charts; Chromium's own EventSource
// gets the same stream as server-sent events. Screenshots of each.
async function demo(context, binary) {
  const srv = new NimbusServer(binary, { args: ['--demo'] });
  await srv.start();
  const errors = [];
  try {
    const page = await context.newPage();
    watchErrors(page, errors);
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(srv.baseUrl + '/');
    await page.waitForSelector('#conn-state[data-state="live"]', { timeout: WAIT_MS });
    await page.waitForFunction(() => {
      const cells = document.querySelectorAll('#station-rows [data-field="spark"]');
      return cells.length === 22 && [...cells].every((c) => c.dataset.history === 'loaded' &&
        Number(c.querySelector('svg').dataset.points) >= 24);
    }, null, { timeout: WAIT_MS });
    const fit = await page.evaluate(() => {
      const rows = [...document.querySelectorAll('#station-rows tr[data-station-id]')];
      const wrap = document.querySelector('.table-wrap');
      return { bottom: Math.max(...rows.map((r) => r.getBoundingClientRect().bottom)),
        overflow: wrap.scrollWidth - wrap.clientWidth, page: document.documentElement.scrollWidth };
    });
    assert.ok(fit.bottom <= 900, `the last station row ends at ${fit.bottom}px, below 900`);
    assert.ok(fit.overflow <= 0 && fit.page <= 1280, `wider than the screen: ${JSON.stringify(fit)}`);
    // Live: the newest station's sparkline gains a point without a reload.
    const id = await page.getAttribute('#feed li:first-child', 'data-station-id');
    const spark = `${row(id)} [data-field="spark"] svg`;
    const before = Number(await page.getAttribute(spark, 'data-points'));
    await page.waitForFunction(([sel, n]) => Number(document.querySelector(sel)?.dataset.points) > n,
      [spark, before], { timeout: WAIT_MS });
    fs.mkdirSync(outDir, { recursive: true });
    const shots = [path.join(outDir, 'dashboard.png')];
    await page.screenshot({ path: shots[0], animations: 'disabled' });

    // The station panel: four charts, the latest values, live too.
    await page.click(`${row(id)} button.name`);
    await page.waitForSelector(`#station-panel[data-station-id="${id}"]:not([hidden])`,
      { timeout: WAIT_MS });
    for (const field of ['temperature', 'pressure', 'humidity', 'windSpeed']) {
      const n = await page.getAttribute(`#panel-charts [data-chart="${field}"] svg`, 'data-points');
      assert.ok(Number(n) >= 24, `${field} chart has ${n} points`);
    }
    const chart = '#panel-charts [data-chart="temperature"] svg';
    const had = Number(await page.getAttribute(chart, 'data-points'));
    await page.waitForFunction(([sel, n]) => Number(document.querySelector(sel)?.dataset.points) > n,
      [chart, had], { timeout: WAIT_MS });
    shots.push(path.join(outDir, 'dashboard-panel.png'));
    await page.screenshot({ path: shots[1], animations: 'disabled' });
    await page.keyboard.press('Escape');
    await page.waitForSelector('#station-panel[hidden]', { state: 'attached', timeout: WAIT_MS });
    await page.emulateMedia({ colorScheme: 'dark' });
    shots.push(path.join(outDir, 'dashboard-dark.png'));
    await page.screenshot({ path: shots[2], animations: 'disabled' });
    await page.emulateMedia({ colorScheme: 'light' });

    // Chromium's EventSource on the same stream: subscribed, the snapshot
    // (every demo station), then observations identified by their seq.
    const sse = await page.evaluate(() => new Promise((resolve, reject) => {
      const es = new EventSource('/v1/stream?snapshot=true&heartbeat=5');
      const got = { snapshot: null, observations: [] };
      const timer = setTimeout(() => { es.close(); reject(new Error('EventSource: too slow')); },
        10000);
      es.addEventListener('snapshot', (e) => {
        got.snapshot = { id: e.lastEventId, data: JSON.parse(e.data) };
      });
      es.addEventListener('observation', (e) => {
        got.observations.push({ id: e.lastEventId, seq: JSON.parse(e.data).seq });
        if (got.observations.length === 3) {
          clearTimeout(timer);
          es.close();
          resolve(got);
        }
      });
    }));
    assert.strictEqual(sse.snapshot.id, String(sse.snapshot.data.seq));
    assert.strictEqual(sse.snapshot.data.observations.length, 22);
    let prev = sse.snapshot.data.seq;
    for (const o of sse.observations) {
      assert.strictEqual(o.id, String(o.seq));
      assert.ok(o.seq > prev, `EventSource: ${o.seq} after ${prev}`);
      prev = o.seq;
    }
    await page.close();

    // A phone: nothing wider than the screen, every station reachable.
    const phone = await context.newPage();
    watchErrors(phone, errors);
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(srv.baseUrl + '/');
    await phone.waitForSelector('#conn-state[data-state="live"]', { timeout: WAIT_MS });
    await phone.waitForFunction(() => [...document.querySelectorAll(
      '#station-rows [data-field="spark"]')].filter((c) => c.dataset.history === 'loaded').length >= 10,
    null, { timeout: WAIT_MS });
    const width = await phone.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `the page is ${width}px wide on a 390-px phone`);
    shots.push(path.join(outDir, 'dashboard-phone.png'));
    await phone.screenshot({ path: shots[3], animations: 'disabled' });
    await phone.click(`${row(id)} button.name`);
    await phone.waitForSelector('#station-panel:not([hidden])', { timeout: WAIT_MS });
    const panel = await phone.evaluate(() => {
      const r = document.getElementById('station-panel').getBoundingClientRect();
      return { left: r.left, width: r.width };
    });
    assert.ok(panel.left >= 0 && panel.width <= 390, `panel ${JSON.stringify(panel)}`);
    shots.push(path.join(outDir, 'dashboard-phone-panel.png'));
    await phone.screenshot({ path: shots[4], animations: 'disabled' });
    await phone.close();
    console.log(`screenshots: ${shots.join(' ')}`);
    await srv.stop();
    srv.cleanup();
  } catch (e) {
    console.error('---- nimbus log (demo) ----\n' + srv.logText().slice(-20000));
    srv.kill9();
    throw e;
  }
  assert.deepStrictEqual(errors, []);
}

async function main() {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium`);
  const srv = new NimbusServer(binary, { workers: 2 });
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nimbus-chromium-'));
  let context = null;
  try {
    await srv.start();
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 720 },
    });
    const head = await liveAndRestart(context, srv);
    await lagged(context, srv, head);
    await paging(context, srv);
    await srv.stop();
    srv.cleanup();
    await withKey(context, binary);
    await demo(context, binary);
    console.log('browser_dashboard: ok');
  } catch (e) {
    console.error('---- nimbus log ----\n' + srv.logText().slice(-20000));
    srv.kill9();
    throw e;
  } finally {
    if (context) await context.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
