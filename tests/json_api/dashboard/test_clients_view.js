// SPDX-License-Identifier: GPL-3.0-or-later
// The dashboard's Clients view in a real browser (Debian's headless
// Chromium driven by playwright-core) against the real nimbus with three
// API keys. Calls are made over SOAP 1.1, SOAP 1.2 (HTTP Basic) and REST
// (Bearer) under two keys, "legacy" and "mobile"; the view must show, from
// the page's DOM:
//   - without a key, or with a read key, that it needs an admin key;
//   - with the admin key, per client and operation, the calls of each
//     protocol exactly as made, the totals and the SOAP share, the busiest
//     client first;
//   - a call made while the page is open, without a reload (live);
//   - #live and #clients switch views;
//   - no uncaught JavaScript error.
// Screenshots land in the build directory (argv[3]): clients.png and
// clients-dark.png.
// Usage: node test_clients_view.js NIMBUS_BINARY OUT_DIR
'use strict';

const assert = require('assert');
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');
const { NimbusServer, request } = require('./nimbus_launcher');

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
  '--no-first-run', '--disable-background-networking', '--disable-component-update',
  '--disable-sync'];
const WAIT_MS = 15000;
const SECRETS = { ops: 'ops-secret', legacy: 'legacy-secret', mobile: 'mobile-secret',
  viewer: 'viewer-secret' };

const [binary, outDir] = process.argv.slice(2);
if (!binary || !outDir) {
  console.error('usage: node test_clients_view.js NIMBUS_BINARY OUT_DIR');
  process.exit(2);
}

const bearer = (k) => ({ Authorization: 'Bearer ' + SECRETS[k] });

// A raw SOAP GetStation (1.1: text/xml, 1.2: application/soap+xml), the key
// by HTTP Basic, as SOAP toolkits send it.
function soapGetStation(srv, version, id, key) {
  const env = version === 1 ? 'http://schemas.xmlsoap.org/soap/envelope/'
    : 'http://www.w3.org/2003/05/soap-envelope';
  const body = Buffer.from(`<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="${env}" ` +
    `xmlns:n="urn:nimbus:weather:v1"><s:Body><n:GetStation><n:id>${id}</n:id></n:GetStation>` +
    '</s:Body></s:Envelope>');
  const type = version === 1 ? 'text/xml; charset=utf-8' : 'application/soap+xml; charset=utf-8';
  const auth = 'Basic ' + Buffer.from(`${key}:${SECRETS[key]}`).toString('base64');
  return new Promise((resolve, reject) => {
    const req = http.request(srv.baseUrl + '/soap', {
      method: 'POST',
      headers: { 'Content-Type': type, 'Content-Length': body.length, Authorization: auth },
    }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function calls(srv) {
  const st = { id: 'C-OSL-1', name: 'Oslo Blindern', city: 'Oslo', country: 'NO',
    latitude: 59.94, longitude: 10.72 };
  assert.strictEqual((await request(srv.baseUrl, 'POST', '/v1/stations', st, bearer('mobile'))).status, 201);
  for (let i = 0; i < 6; i++) assert.strictEqual(await soapGetStation(srv, 1, st.id, 'legacy'), 200);
  assert.strictEqual(await soapGetStation(srv, 2, st.id, 'legacy'), 200);
  assert.strictEqual(await soapGetStation(srv, 2, st.id, 'legacy'), 200);
  for (let i = 0; i < 4; i++) {
    assert.strictEqual((await request(srv.baseUrl, 'GET', '/v1/stations/' + st.id, undefined,
      bearer('legacy'))).status, 200);
  }
  for (let i = 0; i < 2; i++) {
    assert.strictEqual((await request(srv.baseUrl, 'GET', `/v1/stations/${st.id}/weather`,
      undefined, bearer('legacy'))).status, 200);
  }
  for (let i = 0; i < 9; i++) {
    assert.strictEqual((await request(srv.baseUrl, 'GET', '/v1/stations/' + st.id, undefined,
      bearer('mobile'))).status, 200);
  }
  assert.strictEqual((await request(srv.baseUrl, 'GET', `/v1/stations/${st.id}/weather`,
    undefined, bearer('mobile'))).status, 200);
  return st.id;
}

const rowSel = (client, op) => `#clients-chart section[data-client="${client}"] .crow[data-operation="${op}"]`;

// {soap11, soap12, rest, ws, total, soapShare} as the row shows them.
async function shown(page, client, op) {
  return page.$eval(rowSel(client, op), (r) => {
    // Only the protocols used are listed; the others count 0.
    const out = { soap11: 0, soap12: 0, rest: 0, ws: 0 };
    for (const n of r.querySelectorAll('.detail [data-protocol]')) out[n.dataset.protocol] = Number(n.dataset.count);
    const seg = {};
    for (const s of r.querySelectorAll('.bar .seg')) seg[s.dataset.protocol] = Number(s.dataset.count);
    out.segments = seg;
    out.total = r.querySelector('[data-field="total"]').textContent;
    out.soapShare = r.querySelector('[data-field="soapShare"]').textContent;
    out.text = r.querySelector('.detail').textContent;
    return out;
  });
}

async function main() {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium`);
  const srv = new NimbusServer(binary, {
    workers: 2,
    args: ['--api-key', 'ops:ops-secret:admin', '--api-key', 'legacy:legacy-secret:write',
      '--api-key', 'mobile:mobile-secret:write', '--api-key', 'viewer:viewer-secret:read'],
  });
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nimbus-chromium-'));
  let context = null;
  const errors = [];
  try {
    await srv.start();
    const id = await calls(srv);
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 760 },
    });
    const page = await context.newPage();
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(srv.baseUrl + '/#clients');
    assert.strictEqual(await page.isHidden('#view-live'), true);
    await page.waitForFunction(() => /admin API key/.test(
      document.getElementById('clients-status').textContent), null, { timeout: WAIT_MS });

    // A read key is not enough (the live view's own REST calls use it too:
    // another key than the two counted below).
    await page.fill('#api-key', SECRETS.viewer);
    await page.click('#key-save');
    await page.waitForFunction(() => /needs an admin key/.test(
      document.getElementById('clients-status').textContent), null, { timeout: WAIT_MS });

    await page.fill('#api-key', SECRETS.ops);
    await page.click('#key-save');
    await page.waitForSelector(rowSel('legacy', 'GetStation'), { timeout: WAIT_MS });

    let legacy = await shown(page, 'legacy', 'GetStation');
    assert.deepStrictEqual([legacy.soap11, legacy.soap12, legacy.rest, legacy.ws], [6, 2, 4, 0]);
    assert.deepStrictEqual(legacy.segments, { soap11: 6, soap12: 2, rest: 4 });
    assert.strictEqual(legacy.total, '12');
    assert.strictEqual(legacy.soapShare, '67 % SOAP');
    assert.match(legacy.text, /SOAP 1\.1 6.*SOAP 1\.2 2.*REST 4/);
    const legacyWeather = await shown(page, 'legacy', 'GetWeather');
    assert.deepStrictEqual([legacyWeather.soap11, legacyWeather.rest], [0, 2]);
    assert.strictEqual(legacyWeather.soapShare, '0 % SOAP');
    const legacyAll = await shown(page, 'legacy', '*');
    assert.deepStrictEqual([legacyAll.soap11, legacyAll.soap12, legacyAll.rest], [6, 2, 6]);
    assert.strictEqual(legacyAll.total, '14');
    assert.strictEqual(legacyAll.soapShare, '57 % SOAP');
    const mobile = await shown(page, 'mobile', '*');
    assert.deepStrictEqual([mobile.soap11, mobile.soap12, mobile.rest, mobile.ws], [0, 0, 11, 0]);
    assert.strictEqual(mobile.soapShare, '0 % SOAP');
    assert.deepStrictEqual((await shown(page, 'mobile', 'CreateStation')).segments, { rest: 1 });
    // The busiest client first; within it the busiest operation.
    const order = await page.$$eval('#clients-chart section', (ss) => ss.map((s) => s.dataset.client));
    assert.deepStrictEqual(order.slice(0, 2), ['legacy', 'mobile']);
    const ops = await page.$$eval('#clients-chart section[data-client="legacy"] .op-row',
      (rs) => rs.map((r) => r.dataset.operation));
    assert.deepStrictEqual(ops, ['GetStation', 'GetWeather']);
    await page.screenshot({ path: path.join(outDir, 'clients.png'), fullPage: true });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: path.join(outDir, 'clients-dark.png'), fullPage: true });
    await page.emulateMedia({ colorScheme: 'light' });

    // Live: a call made now shows without a reload.
    await page.evaluate(() => { window.__noReload = true; });
    assert.strictEqual(await soapGetStation(srv, 1, id, 'legacy'), 200);
    await page.waitForFunction((sel) => {
      const n = document.querySelector(`${sel} .detail [data-protocol="soap11"]`);
      return n && n.dataset.count === '7';
    }, rowSel('legacy', 'GetStation'), { timeout: WAIT_MS });
    assert.strictEqual(await page.evaluate(() => window.__noReload), true);

    // The tabs switch views.
    await page.click('#tab-live');
    await page.waitForSelector('#view-clients', { state: 'hidden', timeout: WAIT_MS });
    assert.strictEqual(await page.isVisible('#view-live'), true);
    await page.click('#tab-clients');
    await page.waitForSelector('#view-clients', { state: 'visible', timeout: WAIT_MS });
    assert.deepStrictEqual(errors, []);
    await srv.stop();
    srv.cleanup();
    console.log('browser_clients_view: ok');
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
