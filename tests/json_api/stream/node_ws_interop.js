// SPDX-License-Identifier: GPL-3.0-or-later
// Interop with the most used WebSocket client outside browsers, npm `ws`,
// against the real nimbus (contract, "WebSocket: GET /v1/stream"):
// subscribe to chosen stations, resume with fromSeq (replay in seq order,
// then live with no gap), streamed calls (item... done), a malformed
// message answered with an error on a connection that stays open, invalid
// UTF-8 closed with 1007, a message over --max-ws-message closed with 1009,
// ping/pong both ways, and a normal close echoed with 1000.
// The packages come from tests/json_api/dashboard (npm ci); NODE_PATH points there
// under ctest, and the fallback below finds them when run by hand.
// Usage: node node_ws_interop.js NIMBUS_BINARY
'use strict';

const assert = require('assert');
const path = require('path');
const { createRequire } = require('module');

const browserDir = path.join(__dirname, '..', 'dashboard');
const requireDeps = createRequire(path.join(browserDir, 'package.json'));
const WebSocket = requireDeps('ws');
const { NimbusServer, request, sleep } = require(path.join(browserDir, 'nimbus_launcher.js'));

const MAX_WS_MESSAGE = 4096;
const PING_INTERVAL_MS = 400;
const WAIT_MS = 10000;

const binary = process.argv[2];
if (!binary) {
  console.error('usage: node node_ws_interop.js NIMBUS_BINARY');
  process.exit(2);
}

// A `ws` connection whose JSON messages queue up for next().
class Client {
  constructor(url) {
    this.ws = new WebSocket(url);
    this.queue = [];
    this.waiters = [];
    this.closed = new Promise((resolve) => {
      this.ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    this.ws.on('message', (data, isBinary) => {
      assert.strictEqual(isBinary, false, 'the server sent a binary frame');
      this.queue.push(JSON.parse(data.toString('utf8')));
      this.wake();
    });
  }

  open() {
    return new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.once('error', reject);
    });
  }

  wake() {
    const waiters = this.waiters;
    this.waiters = [];
    waiters.forEach((w) => w());
  }

  send(msg) { this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg)); }

  // The next message; fails after ms.
  async next(ms = WAIT_MS) {
    const deadline = Date.now() + ms;
    while (!this.queue.length) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('no message within ' + ms + ' ms');
      await new Promise((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
    return this.queue.shift();
  }

  // Asserts nothing arrives for ms.
  async quiet(ms) {
    await sleep(ms);
    assert.deepStrictEqual(this.queue, [], 'unexpected messages');
  }

  // Sends a call and gathers its answer: { result } or { items, done }.
  async call(id, op, params) {
    this.send({ type: 'call', id, op, params });
    const items = [];
    for (;;) {
      const m = await this.next();
      assert.strictEqual(m.id, id, JSON.stringify(m));
      if (m.type === 'result') return { result: m.result };
      if (m.type === 'error') return { error: m };
      if (m.type === 'done') return { items, done: m };
      assert.strictEqual(m.type, 'item', JSON.stringify(m));
      items.push(m.item);
    }
  }
}

async function connect(srv) {
  const c = new Client(srv.wsUrl);
  await c.open();
  return c;
}

async function record(srv, id, observedAt, temperature) {
  const res = await request(srv.baseUrl, 'POST', `/v1/stations/${id}/observations`,
    { observations: [{ observedAt, temperature }] });
  assert.strictEqual(res.status, 200, JSON.stringify(res.body));
  return res.body.lastSeq;
}

async function setup(srv) {
  for (const id of ['N-1', 'N-2']) {
    const res = await request(srv.baseUrl, 'POST', '/v1/stations',
      { id, name: `Node ${id}`, city: 'Oslo', country: 'NO', latitude: 59.9, longitude: 10.7 });
    assert.strictEqual(res.status, 201, JSON.stringify(res.body));
  }
  const seqs = [];
  for (let i = 0; i < 3; i++) seqs.push(await record(srv, 'N-1', `2026-02-01T0${i}:00:00Z`, i));
  seqs.push(await record(srv, 'N-2', '2026-02-01T00:00:00Z', 20));
  return seqs;
}

async function subscribeLive(srv, [, , , head]) {
  const c = await connect(srv);
  c.send({ type: 'subscribe', id: 'n1', stations: ['N-1'] });
  assert.deepStrictEqual(await c.next(), { type: 'subscribed', id: 'n1', seq: head });
  await c.quiet(200); // no replay without fromSeq
  const other = await record(srv, 'N-2', '2026-02-01T05:00:00Z', 21);
  const mine = await record(srv, 'N-1', '2026-02-01T05:00:00Z', 5.5);
  assert.ok(mine > other);
  const m = await c.next();
  assert.strictEqual(m.type, 'observation');
  assert.strictEqual(m.id, 'n1');
  assert.deepStrictEqual(m.observation,
    { stationId: 'N-1', observedAt: '2026-02-01T05:00:00Z', temperature: 5.5, seq: mine });
  await c.quiet(200); // N-2's observation is not ours
  c.send({ type: 'unsubscribe', id: 'n1' });
  assert.deepStrictEqual(await c.next(), { type: 'unsubscribed', id: 'n1' });
  c.ws.close(1000);
  assert.strictEqual((await c.closed).code, 1000);
}

async function resume(srv, [first]) {
  const c = await connect(srv);
  c.send({ type: 'subscribe', id: 'again', stations: ['N-1'], fromSeq: first });
  const sub = await c.next();
  assert.strictEqual(sub.type, 'subscribed');
  const got = [];
  // Replayed: N-1's observations after `first` (two from setup, one live
  // from the previous case), in seq order.
  for (let i = 0; i < 3; i++) {
    const m = await c.next();
    assert.strictEqual(m.type, 'observation', JSON.stringify(m));
    assert.strictEqual(m.observation.stationId, 'N-1');
    got.push(m.observation.seq);
  }
  assert.ok(got[0] > first && got[0] < got[1] && got[1] < got[2], `replay order ${got}`);
  assert.ok(got[2] <= sub.seq);
  // Live after the replay, no gap.
  const live = await record(srv, 'N-1', '2026-02-01T06:00:00Z', 6);
  const m = await c.next();
  assert.strictEqual(m.observation.seq, live);
  // fromSeq beyond the head: the client saw data this server does not have.
  c.send({ type: 'subscribe', id: 'future', fromSeq: live + 1000 });
  const err = await c.next();
  assert.strictEqual(err.type, 'error');
  assert.strictEqual(err.id, 'future');
  assert.strictEqual(err.code, 'INVALID_ARGUMENT');
  c.ws.terminate();
}

async function streamedCalls(srv) {
  const c = await connect(srv);
  const ls = await c.call('ls', 'ListStations', {});
  assert.deepStrictEqual(ls.items.map((s) => s.id), ['N-1', 'N-2']);
  assert.strictEqual(ls.done.count, 2);
  assert.strictEqual(ls.items[0].name, 'Node N-1');
  const obs = await c.call('obs', 'GetObservations', { stationId: 'N-1', limit: 2 });
  assert.strictEqual(obs.done.count, 2);
  assert.deepStrictEqual(obs.items.map((o) => o.observedAt),
    ['2026-02-01T00:00:00Z', '2026-02-01T01:00:00Z']);
  const all = await c.call('all', 'GetObservations', { stationId: 'N-1' });
  assert.strictEqual(all.done.count, 5);
  const one = await c.call('one', 'GetStation', { id: 'N-2' });
  assert.strictEqual(one.result.station.id, 'N-2');
  const missing = await c.call('nf', 'GetStation', { id: 'NOPE' });
  assert.strictEqual(missing.error.code, 'NOT_FOUND');

  // Malformed JSON: an error with id null, and the connection stays open.
  c.send('{"type":"call","id":');
  const bad = await c.next();
  assert.strictEqual(bad.type, 'error');
  assert.strictEqual(bad.id, null);
  assert.strictEqual(bad.code, 'INVALID_ARGUMENT');
  c.send({ type: 'nonsense', id: 'x1' });
  const unknown = await c.next();
  assert.strictEqual(unknown.type, 'error');
  assert.strictEqual(unknown.id, 'x1');
  const after = await c.call('after', 'GetStation', { id: 'N-1' });
  assert.strictEqual(after.result.station.id, 'N-1');
  c.ws.close(1000);
  assert.strictEqual((await c.closed).code, 1000);
}

async function closeCodes(srv) {
  // A text frame that is not UTF-8 (ws sends the bytes as given).
  const c1 = await connect(srv);
  c1.ws.send(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), { binary: false });
  assert.strictEqual((await c1.closed).code, 1007);

  // One byte over the limit, and exactly at it (which must pass).
  const c2 = await connect(srv);
  // Padded with JSON whitespace, so the message stays a valid call.
  const pad = (n) => '{"type":"call","id":"big","op":"GetStation","params":{"id":"N-1"}'
    + ' '.repeat(n) + '}';
  const base = pad(0).length;
  c2.send(pad(MAX_WS_MESSAGE - base));
  assert.strictEqual(pad(MAX_WS_MESSAGE - base).length, MAX_WS_MESSAGE);
  const ok = await c2.next();
  assert.strictEqual(ok.type, 'result', JSON.stringify(ok));
  c2.send(pad(MAX_WS_MESSAGE - base + 1));
  assert.strictEqual((await c2.closed).code, 1009);
}

async function pingPong(srv) {
  const c = await connect(srv);
  // Client ping: the server answers with the same payload.
  const pong = new Promise((resolve) => c.ws.once('pong', (data) => resolve(data.toString())));
  c.ws.ping(Buffer.from('nimbus-ping'));
  assert.strictEqual(await pong, 'nimbus-ping');
  // Server ping on a silent connection; ws answers it, so the connection
  // outlives several intervals.
  let pings = 0;
  c.ws.on('ping', () => { pings++; });
  await sleep(PING_INTERVAL_MS * 4);
  assert.ok(pings >= 1, 'the server never pinged a silent connection');
  assert.strictEqual(c.ws.readyState, WebSocket.OPEN);
  const r = await c.call('alive', 'GetStation', { id: 'N-1' });
  assert.strictEqual(r.result.station.id, 'N-1');
  c.ws.close(1000);
  assert.strictEqual((await c.closed).code, 1000);
}

async function main() {
  const srv = new NimbusServer(binary, {
    args: ['--max-ws-message', String(MAX_WS_MESSAGE),
      '--ws-ping-interval', String(PING_INTERVAL_MS)],
  });
  try {
    await srv.start();
    const seqs = await setup(srv);
    await subscribeLive(srv, seqs);
    await resume(srv, seqs);
    await streamedCalls(srv);
    await closeCodes(srv);
    await pingPong(srv);
    await srv.stop();
    srv.cleanup();
    console.log('node_ws_interop: ok');
  } catch (e) {
    console.error('---- nimbus log ----\n' + srv.logText().slice(-20000));
    srv.kill9();
    throw e;
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
