// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Nimbus live dashboard. Stations come from REST (GET /v1/stations, every
 * page via nextCursor; a station's latest observation from
 * GET /v1/stations/{id}/weather once its row comes near the screen); new
 * observations arrive on the WebSocket
 * (GET /v1/stream, one `subscribe` for all stations).
 *
 * The one guarantee kept here: no observation is missed or shown twice
 * across reconnects. `lastSeq` is the newest seq this page has seen (or the
 * `subscribed` head of its first subscription). Every later subscription,
 * after a dropped connection (reconnect with exponential backoff and
 * jitter) or a `lagged` message, asks for `fromSeq: lastSeq`, and the
 * server replays everything after it before going live. An observation
 * with seq <= lastSeq is a duplicate and is ignored. The first subscription
 * is opened before the stations are read, so nothing recorded in between
 * falls through the gap; the REST answer and the stream are merged by
 * observedAt, newest wins.
 *
 * Access: if the server needs a key, it is read from the key field (kept
 * in localStorage) and sent as `Authorization: Bearer` on REST and as
 * `?access_token=` on the stream, since browsers cannot set headers on a
 * WebSocket upgrade. Server data only ever reaches the DOM as text.
 */
'use strict';

(function () {
  const KEY_STORAGE = 'nimbus.apiKey';
  const FEED_MAX = 50;
  const STATIONS_MAX = 5000;
  const LATEST_FETCH_PARALLEL = 4;
  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 15000;

  const $ = (id) => document.getElementById(id);
  const el = {
    conn: $('conn-state'),
    connText: $('conn-text'),
    lastSeq: $('last-seq'),
    notice: $('notice'),
    rows: $('station-rows'),
    count: $('station-count'),
    feed: $('feed'),
    feedEmpty: $('feed-empty'),
    keyForm: $('key-form'),
    keyInput: $('api-key'),
    keyClear: $('key-clear'),
  };

  const state = {
    key: storageGet(),
    stations: new Map(), // id -> { station, latest, row }
    fetching: new Set(), // station ids being fetched after an unknown one streamed in
    lastSeq: null,
    ws: null,
    generation: 0, // bumps on every new socket, so stale callbacks do nothing
    attempts: 0,
    timer: null,
    subId: 0,
    activeSub: null,
    resumeFrom: null,
  };

  function storageGet() {
    try {
      return localStorage.getItem(KEY_STORAGE) || '';
    } catch (e) {
      return ''; // storage disabled: the key lasts for this page only
    }
  }

  function storageSet(value) {
    try {
      if (value) localStorage.setItem(KEY_STORAGE, value);
      else localStorage.removeItem(KEY_STORAGE);
    } catch (e) {
      /* storage disabled */
    }
  }

  /* ---- presentation ---- */

  function setConn(name, text) {
    el.conn.dataset.state = name;
    el.conn.dataset.attempts = String(state.attempts);
    el.connText.textContent = text;
  }

  function showNotice(text) {
    el.notice.textContent = text;
    el.notice.hidden = !text;
  }

  function fmt(value, digits, unit) {
    return typeof value === 'number' ? value.toFixed(digits) + '\u00a0' + unit : '–';
  }

  const COMPASS = ['N', 'NE', 'E', 'SE', 'S', 'SW', 'W', 'NW'];

  function fmtWind(o) {
    if (typeof o.windSpeed !== 'number') return '–';
    let text = o.windSpeed.toFixed(1) + '\u00a0m/s';
    if (typeof o.windDirection === 'number')
      text += ' ' + COMPASS[Math.round(o.windDirection / 45) % 8];
    return text;
  }

  function timeNode(iso) {
    const t = document.createElement('time');
    t.dateTime = iso;
    t.textContent = iso.replace('T', ' ').replace('Z', '');
    return t;
  }

  function cell(row, field, content, cls) {
    const td = document.createElement('td');
    td.dataset.field = field;
    if (cls) td.className = cls;
    if (content instanceof Node) td.appendChild(content);
    else td.textContent = content;
    row.appendChild(td);
    return td;
  }

  function renderRow(entry) {
    const { station: s, latest: o } = entry;
    const row = entry.row || document.createElement('tr');
    row.dataset.stationId = s.id;
    row.replaceChildren();
    const name = document.createElement('th');
    name.scope = 'row';
    name.dataset.field = 'name';
    const strong = document.createElement('span');
    strong.className = 'name';
    strong.textContent = s.name;
    const code = document.createElement('code');
    code.textContent = s.id;
    name.append(strong, code);
    row.appendChild(name);
    cell(row, 'location', s.city + ', ' + s.country);
    cell(row, 'temperature', o ? fmt(o.temperature, 1, '°C') : '–', 'num temp');
    cell(row, 'humidity', o ? fmt(o.humidity, 0, '%') : '–', 'num');
    cell(row, 'pressure', o ? fmt(o.pressure, 1, 'hPa') : '–', 'num');
    cell(row, 'wind', o ? fmtWind(o) : '–', 'num');
    cell(row, 'observedAt', o ? timeNode(o.observedAt) : 'no data yet');
    if (o && typeof o.seq === 'number') row.dataset.seq = String(o.seq);
    if (!entry.row) {
      entry.row = row;
      insertSorted(row, s.id);
      if (!o) watchRow(entry);
    }
  }

  function insertSorted(row, id) {
    const empty = el.rows.querySelector('tr.empty');
    if (empty) empty.remove();
    for (const other of el.rows.children) {
      if (other.dataset.stationId > id) {
        el.rows.insertBefore(row, other);
        return;
      }
    }
    el.rows.appendChild(row);
  }

  function flash(node) {
    node.classList.remove('flash');
    void node.offsetWidth; // restart the animation
    node.classList.add('flash');
  }

  function renderCount() {
    el.count.textContent = String(state.stations.size);
    if (state.stations.size === 0 && !el.rows.querySelector('tr.empty')) {
      const tr = document.createElement('tr');
      tr.className = 'empty';
      const td = document.createElement('td');
      td.colSpan = 7;
      td.textContent = 'No stations yet.';
      tr.appendChild(td);
      el.rows.appendChild(tr);
    }
  }

  // The measured values of an observation as text, leaving out absent ones.
  function summary(o) {
    const parts = [];
    if (typeof o.temperature === 'number') parts.push(fmt(o.temperature, 1, '°C'));
    if (typeof o.humidity === 'number') parts.push(fmt(o.humidity, 0, '%'));
    if (typeof o.pressure === 'number') parts.push(fmt(o.pressure, 1, 'hPa'));
    if (typeof o.windSpeed === 'number') parts.push('wind ' + fmtWind(o));
    if (typeof o.precipitation === 'number') parts.push(fmt(o.precipitation, 1, 'mm'));
    return parts.length ? parts.join(' · ') : 'no values';
  }

  function addFeed(o) {
    const entry = state.stations.get(o.stationId);
    const li = document.createElement('li');
    li.dataset.seq = String(o.seq);
    li.dataset.stationId = o.stationId;
    const head = document.createElement('div');
    head.className = 'feed-head';
    const who = document.createElement('strong');
    who.className = 'feed-station';
    who.textContent = entry ? entry.station.name : o.stationId;
    const seq = document.createElement('span');
    seq.className = 'feed-seq';
    seq.textContent = 'seq ' + o.seq;
    head.append(who, seq);
    const body = document.createElement('div');
    body.className = 'feed-body';
    body.textContent = summary(o);
    const when = document.createElement('div');
    when.className = 'feed-time';
    when.appendChild(timeNode(o.observedAt));
    li.append(head, body, when);
    el.feed.prepend(li);
    while (el.feed.children.length > FEED_MAX) el.feed.lastElementChild.remove();
    el.feedEmpty.hidden = true;
  }

  // Feed lines written before their station was known showed its id.
  function renameFeed(s) {
    for (const li of el.feed.children)
      if (li.dataset.stationId === s.id) li.querySelector('.feed-station').textContent = s.name;
  }

  /* ---- data ---- */

  function upsertStation(s) {
    let entry = state.stations.get(s.id);
    if (!entry) {
      entry = { station: s, latest: null, row: null };
      state.stations.set(s.id, entry);
    } else {
      entry.station = s;
    }
    renderRow(entry);
    return entry;
  }

  function removeStation(id) {
    const entry = state.stations.get(id);
    if (entry && entry.row) {
      if (visibility) visibility.unobserve(entry.row);
      entry.row.remove();
    }
    latestRequested.delete(id);
    state.stations.delete(id);
  }

  // Keeps the observation if it is the station's newest (by observedAt; a
  // correction of the newest one, same observedAt, replaces it).
  function applyLatest(o) {
    const entry = state.stations.get(o.stationId);
    if (!entry) return false;
    if (entry.latest && o.observedAt < entry.latest.observedAt) return false;
    entry.latest = o;
    renderRow(entry);
    return true;
  }

  async function api(path) {
    const headers = { Accept: 'application/json' };
    if (state.key) headers.Authorization = 'Bearer ' + state.key;
    const res = await fetch(path, { headers, cache: 'no-store' });
    let body = null;
    try {
      body = await res.json();
    } catch (e) {
      body = null;
    }
    if (!res.ok) {
      const err = new Error((body && (body.detail || body.title)) || res.statusText);
      err.status = res.status;
      err.code = body && body.code;
      throw err;
    }
    return body;
  }

  function isAuthError(e) {
    return e && (e.status === 401 || e.status === 403);
  }

  async function loadStations() {
    const seen = new Set();
    let cursor = null;
    do {
      let q = '/v1/stations?limit=1000';
      if (cursor) q += '&cursor=' + encodeURIComponent(cursor);
      const page = await api(q);
      for (const s of page.stations || []) {
        upsertStation(s);
        seen.add(s.id);
      }
      cursor = page.nextCursor || null;
    } while (cursor && seen.size < STATIONS_MAX);
    if (!cursor)
      for (const id of [...state.stations.keys()]) if (!seen.has(id)) removeStation(id);
    renderCount();
    // Rows whose latest fetch failed earlier (e.g. while offline) get
    // another chance now.
    for (const entry of state.stations.values())
      if (!entry.latest && !latestRequested.has(entry.station.id)) watchRow(entry);
  }

  // A station's latest observation is fetched (GET .../weather) when its
  // row first comes near the screen, so a long list costs requests only
  // for what is looked at; at most LATEST_FETCH_PARALLEL at a time. Later
  // observations arrive on the stream anyway.
  const latestRequested = new Set();
  const latestQueue = [];
  let latestActive = 0;
  const visibility = 'IntersectionObserver' in window
    ? new IntersectionObserver((seen) => {
      for (const e of seen) {
        if (!e.isIntersecting) continue;
        visibility.unobserve(e.target);
        const entry = state.stations.get(e.target.dataset.stationId);
        if (entry && !entry.latest) wantLatest(entry.station.id);
      }
    }, { rootMargin: '300px' })
    : null;

  function watchRow(entry) {
    if (visibility) visibility.observe(entry.row);
    else wantLatest(entry.station.id);
  }

  function wantLatest(id) {
    if (latestRequested.has(id)) return;
    latestRequested.add(id);
    latestQueue.push(id);
    pumpLatest();
  }

  function pumpLatest() {
    while (latestActive < LATEST_FETCH_PARALLEL && latestQueue.length) {
      const id = latestQueue.shift();
      if (!state.stations.has(id)) continue;
      latestActive++;
      api('/v1/stations/' + encodeURIComponent(id) + '/weather').then((report) => {
        if (report && report.latest) applyLatest(report.latest);
      }, (e) => {
        if (isAuthError(e)) unauthorized();
        else if (e.status !== 404) latestRequested.delete(id); // retried on the next refresh
      }).finally(() => {
        latestActive--;
        pumpLatest();
      });
    }
  }

  // An observation of a station this page does not know yet (created after
  // the list was read): fetch the station, then show its newest data.
  async function fetchStation(o) {
    if (state.fetching.has(o.stationId)) return;
    state.fetching.add(o.stationId);
    try {
      const s = await api('/v1/stations/' + encodeURIComponent(o.stationId));
      const entry = upsertStation(s);
      renderCount();
      renameFeed(s);
      if (!entry.latest || entry.latest.observedAt <= o.observedAt) applyLatest(o);
    } catch (e) {
      if (isAuthError(e)) unauthorized();
    } finally {
      state.fetching.delete(o.stationId);
    }
  }

  function refresh() {
    loadStations().then(() => showNotice(''), (e) => {
      if (isAuthError(e)) unauthorized();
      else showNotice('Could not load stations: ' + e.message);
    });
  }

  /* ---- stream ---- */

  function send(msg) {
    if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(msg));
  }

  function subscribe() {
    state.activeSub = 'live-' + ++state.subId;
    const msg = { type: 'subscribe', id: state.activeSub };
    if (state.lastSeq !== null) msg.fromSeq = state.lastSeq;
    state.resumeFrom = state.lastSeq;
    el.conn.dataset.resumeFrom = state.lastSeq === null ? '' : String(state.lastSeq);
    send(msg);
  }

  function onObservation(o) {
    if (typeof o.seq !== 'number') return;
    if (state.lastSeq !== null && o.seq <= state.lastSeq) return; // already shown
    state.lastSeq = o.seq;
    el.lastSeq.textContent = String(o.seq);
    addFeed(o);
    if (state.stations.has(o.stationId)) {
      if (applyLatest(o)) flash(state.stations.get(o.stationId).row);
    } else {
      fetchStation(o);
    }
  }

  function onMessage(text) {
    let m;
    try {
      m = JSON.parse(text);
    } catch (e) {
      return;
    }
    if (!m || m.id !== state.activeSub) return; // an old subscription's tail
    switch (m.type) {
      case 'subscribed':
        if (state.lastSeq === null && typeof m.seq === 'number') {
          state.lastSeq = m.seq;
          el.lastSeq.textContent = String(m.seq);
        }
        state.attempts = 0;
        setConn('live', 'Live');
        refresh(); // also after a reconnect: stations may have come or gone
        break;
      case 'observation':
        if (m.observation) onObservation(m.observation);
        break;
      case 'lagged':
        // The server ended the subscription; everything up to lastSeq was
        // sent, so resuming from there loses nothing.
        if (typeof m.lastSeq === 'number' && (state.lastSeq === null || m.lastSeq > state.lastSeq))
          state.lastSeq = m.lastSeq;
        subscribe();
        break;
      case 'error':
        onStreamError(m);
        break;
      default:
        break;
    }
  }

  function onStreamError(m) {
    if (m.code === 'UNAUTHENTICATED' || m.code === 'PERMISSION_DENIED') {
      unauthorized();
    } else if (m.code === 'INVALID_ARGUMENT' && state.resumeFrom !== null) {
      // fromSeq beyond the server's head: this is a different (or reset)
      // database. Start over from its present.
      showNotice('The server has less data than this page saw (database reset?); starting afresh.');
      state.lastSeq = null;
      subscribe();
    } else {
      showNotice('Stream error ' + m.code + ': ' + m.message);
    }
  }

  function connect() {
    clearTimeout(state.timer);
    state.timer = null;
    const gen = ++state.generation;
    if (state.ws) state.ws.close(1000);
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    let url = proto + '//' + location.host + '/v1/stream';
    if (state.key) url += '?access_token=' + encodeURIComponent(state.key);
    setConn(state.attempts ? 'reconnecting' : 'connecting',
      state.attempts ? 'Reconnecting…' : 'Connecting…');
    let ws;
    try {
      ws = new WebSocket(url);
    } catch (e) {
      scheduleReconnect();
      return;
    }
    state.ws = ws;
    let opened = false;
    ws.onopen = () => {
      if (gen !== state.generation) return;
      opened = true;
      subscribe();
    };
    ws.onmessage = (e) => {
      if (gen === state.generation) onMessage(e.data);
    };
    ws.onclose = () => {
      if (gen !== state.generation) return;
      state.ws = null;
      state.activeSub = null;
      if (opened) scheduleReconnect();
      else probeAccess(); // refused before the upgrade: maybe a key is needed
    };
  }

  // A refused upgrade looks like any network failure to a page; REST says
  // whether it was the key.
  function probeAccess() {
    api('/v1/stations?limit=1').then(() => scheduleReconnect(), (e) => {
      if (isAuthError(e)) unauthorized();
      else scheduleReconnect();
    });
  }

  function scheduleReconnect() {
    state.attempts++;
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** (state.attempts - 1));
    const delay = Math.round(base * (0.75 + Math.random() * 0.5));
    setConn('reconnecting', 'Offline, retrying in ' + Math.ceil(delay / 1000) + '\u00a0s');
    state.timer = setTimeout(connect, delay);
  }

  function unauthorized() {
    ++state.generation;
    clearTimeout(state.timer);
    if (state.ws) state.ws.close(1000);
    state.ws = null;
    setConn('unauthorized', state.key ? 'Key refused' : 'API key needed');
    showNotice(state.key ? 'The server refused this API key. Enter another one above.'
      : 'This server needs an API key. Enter it above.');
    el.keyInput.focus();
  }

  /* ---- wiring ---- */

  el.keyInput.value = state.key;
  el.keyForm.addEventListener('submit', (e) => {
    e.preventDefault();
    state.key = el.keyInput.value.trim();
    storageSet(state.key);
    showNotice('');
    state.attempts = 0;
    connect();
  });
  el.keyClear.addEventListener('click', () => {
    state.key = '';
    el.keyInput.value = '';
    storageSet('');
    state.attempts = 0;
    connect();
  });
  // Back online: no point waiting out the backoff.
  window.addEventListener('online', () => {
    if (state.timer) connect();
  });

  connect();
})();
