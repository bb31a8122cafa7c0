// SPDX-License-Identifier: GPL-3.0-or-later
// Real clients of the stream's 1.1 parts, from the npm registry, against the
// real nimbus:
//
// - GET /v1/asyncapi.json parsed by @asyncapi/parser (no error; its channels,
//   operations and one `call` per operation of the OpenAPI document), and
//   every message the server actually sends (WebSocket, SSE data, NDJSON
//   lines) valid against the payload schema of its message in that document
//   (ajv), so the document describes the stream that is served;
// - npm `eventsource` (a spec-following EventSource for node) with a key in
//   the Authorization header: subscribed, snapshot at one seq, live
//   observations with `id:` their seq, heartbeats; then the server restarts
//   on the same port and database, observations are recorded before the
//   client is back, and the client's own reconnect (Last-Event-ID) gets each
//   of them exactly once, with no second snapshot;
// - the same client with the key as ?access_token=, as a browser sends it.
//
// Packages: tests/json_api/stream/npm (package-lock.json), installed into
// the build tree by the stream_npm fixture; NPM_DIR is that directory.
// Usage: node node_stream_clients.js NIMBUS_BINARY NPM_DIR
'use strict';

const assert = require('assert');
const path = require('path');
const { createRequire } = require('module');

const [binary, npmDir] = process.argv.slice(2);
if (!binary || !npmDir) {
  console.error('usage: node node_stream_clients.js NIMBUS_BINARY NPM_DIR');
  process.exit(2);
}
const requireNpm = createRequire(path.join(path.resolve(npmDir), 'package.json'));
const { Parser } = requireNpm('@asyncapi/parser');
const Ajv = requireNpm('ajv');
const { EventSource } = requireNpm('eventsource');
const { NimbusServer, request, sleep } = require(
  path.join(__dirname, '..', 'dashboard', 'nimbus_launcher.js'));

const ADMIN = 'adm1n-secret';
const READER = 're4der-secret';
const WAIT_MS = 15000;

function station(id) {
  return { id, name: `Station ${id}`, city: 'Testville', country: 'DE', latitude: 52.5,
    longitude: 13.4 };
}

async function record(base, id, minutes, temperature) {
  const observations = minutes.map((m) => ({
    observedAt: new Date(Date.UTC(2024, 4, 1, 12, m)).toISOString().replace('.000', ''),
    temperature,
  }));
  const r = await request(base, 'POST', `/v1/stations/${id}/observations`, { observations },
    { Authorization: `Bearer ${ADMIN}` });
  assert.strictEqual(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

async function waitFor(what, pred) {
  const deadline = Date.now() + WAIT_MS;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

// ---- the AsyncAPI document ---------------------------------------------------

async function checkDocument(srv) {
  const r = await request(srv.baseUrl, 'GET', '/v1/asyncapi.json');
  assert.strictEqual(r.status, 200);
  assert.match(r.headers['content-type'], /^application\/json/);
  const { document, diagnostics } = await new Parser().parse(JSON.stringify(r.body));
  const errors = diagnostics.filter((d) => d.severity === 0);
  assert.deepStrictEqual(errors.map((d) => `${d.code}: ${d.message} at ${d.path.join('.')}`), [],
    'the AsyncAPI document has errors');
  assert(document, 'the AsyncAPI document did not parse');
  assert.strictEqual(r.body.asyncapi, '3.0.0');
  assert.deepStrictEqual(Object.keys(r.body.channels).sort(), ['events', 'lines', 'stream']);
  assert.strictEqual(r.body.servers.websocket.host, `127.0.0.1:${srv.port}`);
  // One call per operation of the REST document: the same table.
  const openapi = (await request(srv.baseUrl, 'GET', '/v1/openapi.json')).body;
  const ops = [];
  for (const item of Object.values(openapi.paths)) {
    for (const op of Object.values(item)) ops.push(op.operationId);
  }
  for (const op of ops) {
    assert(r.body.components.messages[`call.${op}`], `no call message for ${op}`);
  }
  // The contract's types are the same schemas in both documents.
  for (const t of ['Station', 'Observation', 'Summary', 'WeatherReport']) {
    assert.deepStrictEqual(
      JSON.parse(JSON.stringify(r.body.components.schemas[t]).replaceAll('#/components/schemas/', '')),
      JSON.parse(JSON.stringify(openapi.components.schemas[t]).replaceAll('#/components/schemas/', '')),
      `${t} differs between the AsyncAPI and OpenAPI documents`);
  }
  // A validator per message component, from the parsed (dereferenced)
  // document.
  // Formats as the contract writes them: dateTimes in UTC, whole seconds.
  const ajv = new Ajv({
    strict: false,
    allErrors: true,
    formats: { 'date-time': /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, int64: true },
  });
  const validators = {};
  for (const m of document.components().messages()) {
    validators[m.id()] = ajv.compile(m.payload().json());
  }
  assert(Object.keys(validators).length > 20, 'too few messages');
  return validators;
}

function validate(validators, key, payload) {
  const v = validators[key];
  assert(v, `no message ${key} in the AsyncAPI document`);
  if (!v(payload)) {
    throw new Error(`${key} does not match the AsyncAPI document: ${JSON.stringify(payload)}\n` +
      JSON.stringify(v.errors));
  }
}

// Every message a WebSocket, an SSE and an NDJSON client get, validated.
async function checkMessages(srv, validators) {
  const WebSocket = createRequire(path.join(__dirname, '..', 'dashboard', 'package.json'))('ws');
  const ws = new WebSocket(`${srv.wsUrl}?access_token=${ADMIN}`);
  const got = [];
  ws.on('message', (d) => got.push(JSON.parse(d.toString())));
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  ws.send(JSON.stringify({ type: 'subscribe', id: 's', snapshot: true, heartbeat: 1 }));
  ws.send(JSON.stringify({ type: 'subscribe', id: 'r', fromSeq: 0 }));
  ws.send(JSON.stringify({ type: 'call', id: 'c1', op: 'GetObservationFeed', params: { limit: 2 } }));
  ws.send(JSON.stringify({ type: 'call', id: 'c2', op: 'GetWeather', params: { stationId: 'a' } }));
  ws.send(JSON.stringify({ type: 'call', id: 'c3', op: 'GetStation', params: { id: 'nope' } }));
  const sse = new EventSource(`${srv.baseUrl}/v1/stream?snapshot=true&heartbeat=1&access_token=${READER}`);
  const events = [];
  for (const type of ['subscribed', 'snapshot', 'observation', 'heartbeat', 'lagged']) {
    sse.addEventListener(type, (e) => events.push({ type, data: JSON.parse(e.data) }));
  }
  const lines = [];
  const ndjson = await fetch(`${srv.baseUrl}/v1/stream?fromSeq=0&heartbeat=1`, {
    headers: { Accept: 'application/x-ndjson', Authorization: `Bearer ${READER}` },
  });
  assert.strictEqual(ndjson.status, 200);
  assert.strictEqual(ndjson.headers.get('content-type'), 'application/x-ndjson');
  const reader = ndjson.body.getReader();
  let buffered = '';
  const pump = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffered += Buffer.from(value).toString('utf8');
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        lines.push(JSON.parse(buffered.slice(0, nl)));
        buffered = buffered.slice(nl + 1);
      }
    }
  })().catch(() => {});
  await waitFor('the SSE stream to open', () => events.some((e) => e.type === 'snapshot'));
  await record(srv.baseUrl, 'a', [40], 7.5);
  const heartbeat = (m) => m.type === 'heartbeat';
  await waitFor('observations and heartbeats everywhere', () =>
    got.filter((m) => m.type === 'observation').length >= 4 && got.some(heartbeat) &&
    events.some((e) => e.type === 'observation') && events.some(heartbeat) &&
    lines.some((m) => m.type === 'observation') && lines.some(heartbeat) &&
    got.some((m) => m.id === 'c3'));
  ws.close();
  sse.close();
  await reader.cancel();
  await pump;
  const seen = new Set();
  for (const m of got) {
    let key = m.type;
    if (m.type === 'item') key = 'item.GetObservationFeed';
    if (m.type === 'result') key = 'result.GetWeather';
    validate(validators, key, m);
    seen.add(m.type);
  }
  for (const t of ['subscribed', 'snapshot', 'observation', 'heartbeat', 'item', 'done', 'result',
    'error']) {
    assert(seen.has(t), `the WebSocket sent no ${t}`);
  }
  for (const e of events) validate(validators, `sse.${e.type}`, e.data);
  for (const m of lines) validate(validators, `ndjson.${m.type}`, m);
  console.log(`asyncapi: ${got.length} WebSocket messages, ${events.length} events and ` +
    `${lines.length} NDJSON lines match the document`);
}

// ---- npm eventsource, through a restart -------------------------------------------

function withKey(key) {
  return (url, init) => fetch(url, {
    ...init, headers: { ...(init && init.headers), Authorization: `Bearer ${key}` },
  });
}

async function checkEventSource(srv) {
  const base = srv.baseUrl;
  await record(base, 'b', [0, 10], 1);
  const es = new EventSource(`${base}/v1/stream?station=b&snapshot=true&heartbeat=1`,
    { fetch: withKey(READER) });
  const snapshots = [];
  const observations = [];
  const heartbeats = [];
  let opens = 0;
  es.addEventListener('open', () => { opens++; });
  es.addEventListener('snapshot', (e) => {
    const data = JSON.parse(e.data);
    assert.strictEqual(e.lastEventId, String(data.seq), 'a snapshot event is identified by its seq');
    snapshots.push(data);
  });
  es.addEventListener('observation', (e) => {
    const o = JSON.parse(e.data);
    assert.strictEqual(e.lastEventId, String(o.seq), 'an observation event is identified by its seq');
    observations.push(o);
  });
  es.addEventListener('heartbeat', (e) => heartbeats.push(JSON.parse(e.data).seq));
  await waitFor('the snapshot', () => snapshots.length === 1);
  const snap = snapshots[0];
  assert.strictEqual(snap.observations.length, 1);
  assert.strictEqual(snap.observations[0].observedAt, '2024-05-01T12:10:00Z');
  const live1 = await record(base, 'b', [20, 30], 2);
  await waitFor('live observations', () => observations.length === 2);
  await waitFor('a heartbeat', () => heartbeats.length > 0);
  assert(heartbeats.every((h) => h >= live1.lastSeq), `heartbeats ${heartbeats}`);

  // The server goes away and comes back on the same port and database;
  // what is recorded before the client is back must reach it, once.
  const port = srv.port;
  await srv.stop();
  await srv.start(port);
  const missed = await record(base, 'b', [40, 50], 3);
  await waitFor('the reconnect and the missed observations', () => observations.length === 4);
  const live2 = await record(base, 'b', [55], 4);
  await waitFor('live after the reconnect', () => observations.length === 5);
  es.close();
  const seqs = observations.map((o) => o.seq);
  const want = [live1.firstSeq, live1.lastSeq, missed.firstSeq, missed.lastSeq, live2.firstSeq];
  assert.deepStrictEqual(seqs, want, 'every observation once, in seq order, across the restart');
  assert.strictEqual(snapshots.length, 1, 'a resumed EventSource gets no second snapshot');
  assert(opens >= 2, 'the client reconnected by itself');
  console.log(`eventsource: snapshot at ${snap.seq}, observations ${seqs.join(',')} across a ` +
    'server restart, resumed by Last-Event-ID');
}

async function checkAccessToken(srv) {
  const es = new EventSource(`${srv.baseUrl}/v1/stream?fromSeq=0&access_token=${READER}`);
  const seqs = [];
  es.addEventListener('observation', (e) => seqs.push(Number(e.lastEventId)));
  await waitFor('a replay with the key in the URL', () => seqs.length >= 3);
  es.close();
  for (let i = 1; i < seqs.length; i++) assert(seqs[i] > seqs[i - 1], `order ${seqs}`);
  // Without a key the stream is refused before it starts, as problem+json.
  const r = await fetch(`${srv.baseUrl}/v1/stream`, { headers: { Accept: 'text/event-stream' } });
  assert.strictEqual(r.status, 401);
  assert.strictEqual(r.headers.get('content-type'), 'application/problem+json');
  assert.strictEqual((await r.json()).code, 'UNAUTHENTICATED');
  console.log('eventsource: ?access_token= works, no key is a 401 problem+json');
}

async function main() {
  const srv = new NimbusServer(binary, {
    args: ['--quiet', '--api-key', `admin:${ADMIN}:admin`, '--api-key', `reader:${READER}:read`],
  });
  try {
    await srv.start();
    for (const id of ['a', 'b']) {
      const r = await request(srv.baseUrl, 'POST', '/v1/stations', station(id),
        { Authorization: `Bearer ${ADMIN}` });
      assert.strictEqual(r.status, 201);
    }
    await record(srv.baseUrl, 'a', [0, 10, 20], 5);
    const validators = await checkDocument(srv);
    await checkMessages(srv, validators);
    await checkEventSource(srv);
    await checkAccessToken(srv);
    await srv.stop();
    console.log('node_stream_clients: all passed');
  } catch (e) {
    console.error(e);
    console.error(srv.logText());
    srv.kill9();
    process.exitCode = 1;
  } finally {
    srv.cleanup();
  }
}

main();
