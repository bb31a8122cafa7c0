// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Nimbus live dashboard: a row per station (latest values, a 24 h
 * temperature sparkline, the day's minimum and maximum), a panel with 24 h
 * charts of one station, and the live feed.
 *
 * One consistent start: the page opens the WebSocket (GET /v1/stream) and
 * subscribes to every station with `snapshot: true`. The snapshot is the
 * latest observation of each station as of one seq, HEAD, and the stream
 * goes on from exactly there, so the picture never mixes two moments and
 * nothing recorded meanwhile falls through a gap. The stations' names come
 * from REST (GET /v1/stations, every page), a station's 24 h history from
 * GetObservations once its row comes near the screen, the feed's first
 * lines from GetObservationFeed (the observations just before HEAD); all
 * of them are merged by observedAt (newest values win), so a row or chart
 * never shows an observation twice.
 *
 * No observation is missed or shown twice across reconnects either:
 * `lastSeq` is the newest seq this page has accounted for (HEAD, then each
 * observation, and each heartbeat's seq). Every later subscription, after
 * a dropped connection (reconnect with exponential backoff and jitter), a
 * silent one (no heartbeat for twice its interval) or a `lagged` message,
 * asks for `fromSeq: lastSeq`, and the server replays what happened before
 * going live. An observation with seq <= lastSeq is ignored.
 *
 * Access: if the server needs a key, it is read from the key field (kept
 * in localStorage) and sent as `Authorization: Bearer` on REST and as
 * `?access_token=` on the stream, since browsers cannot set headers on a
 * WebSocket upgrade. Server data only ever reaches the DOM as text.
 */
'use strict';

(function () {
  const KEY_STORAGE = 'nimbus.apiKey';
  const FEED_MAX = 40;
  const STATIONS_MAX = 5000;
  const HISTORY_FETCH_PARALLEL = 4;
  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 15000;
  const HEARTBEAT_S = 15;
  const DAY_MS = 24 * 3600 * 1000;
  const SAMPLE_MS = 30 * 60 * 1000;
  const { sparkline, chart } = window.NimbusCharts;

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
    panel: $('station-panel'),
    panelName: $('panel-name'),
    panelWhere: $('panel-where'),
    panelLatest: $('panel-latest'),
    panelClose: $('panel-close'),
    panelCharts: $('panel-charts'),
  };

  const state = {
    key: storageGet(),
    stations: new Map(), // id -> { station, row }
    data: new Map(), // id -> { latest, points: Map(observedAt -> observation), history }
    stationsLoaded: false,
    fetching: new Set(), // station ids being fetched after an unknown one streamed in
    lastSeq: null,
    ws: null,
    generation: 0, // bumps on every new socket, so stale callbacks do nothing
    attempts: 0,
    timer: null,
    watchdog: null,
    subId: 0,
    activeSub: null,
    resumeFrom: null,
    feedFilled: false,
    panelId: null,
    lastHeard: null,
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

  /* ---- formatting ---- */

  function fmt(value, digits, unit) {
    return typeof value === 'number' ? value.toFixed(digits) + (unit ? '\u00a0' + unit : '') : '–';
  }

  const COMPASS = ['N', 'NE', 'E', 'SE', 'S', 'SW', 'W', 'NW'];

  function fmtWind(o, bare) {
    if (!o || typeof o.windSpeed !== 'number') return '–';
    let text = o.windSpeed.toFixed(1) + (bare ? '' : '\u00a0m/s');
    if (typeof o.windDirection === 'number')
      text += ' ' + COMPASS[Math.round(o.windDirection / 45) % 8];
    return text;
  }

  // "14:05" for today (UTC), "01-01 10:00" otherwise (long: with " UTC");
  // the full time in the element's datetime and title.
  function timeNode(iso, long) {
    const t = document.createElement('time');
    t.dateTime = iso;
    t.title = iso;
    const today = new Date().toISOString().slice(0, 10);
    t.textContent = (iso.slice(0, 10) === today ? iso.slice(11, 16)
      : iso.slice(5, 10) + ' ' + iso.slice(11, 16)) + (long ? ' UTC' : '');
    return t;
  }

  // A hue from deep blue (-20 °C) to red (40 °C).
  function tempHue(v) {
    const f = Math.max(0, Math.min(1, (v + 20) / 60));
    return Math.round(230 - f * 230);
  }

  /* ---- presentation ---- */

  function setConn(name, text) {
    el.conn.dataset.state = name;
    el.conn.dataset.attempts = String(state.attempts);
    el.connText.textContent = text;
    document.body.dataset.conn = name;
  }

  function showNotice(text) {
    el.notice.textContent = text;
    el.notice.hidden = !text;
  }

  function setLastSeq(seq) {
    state.lastSeq = seq;
    el.lastSeq.textContent = String(seq);
  }

  function dataOf(id) {
    let d = state.data.get(id);
    if (!d) {
      d = { latest: null, points: new Map(), history: 'none' };
      state.data.set(id, d);
    }
    return d;
  }

  // The 24 h window of a station: up to its newest observation.
  function windowOf(d) {
    const to = d.latest ? Date.parse(d.latest.observedAt) : Date.now();
    return { from: to - DAY_MS, to };
  }

  function series(d, field, w) {
    const out = [];
    for (const o of d.points.values())
      if (typeof o[field] === 'number') out.push({ t: Date.parse(o.observedAt), v: o[field] });
    out.sort((a, b) => a.t - b.t);
    return out.filter((p) => p.t >= w.from);
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
    const s = entry.station;
    const d = dataOf(s.id);
    const o = d.latest;
    const row = entry.row || document.createElement('tr');
    row.dataset.stationId = s.id;
    row.replaceChildren();
    const name = document.createElement('th');
    name.scope = 'row';
    name.dataset.field = 'name';
    const open = document.createElement('button');
    open.type = 'button';
    open.className = 'name';
    open.textContent = s.name;
    open.title = s.name + ' (' + s.id + ')';
    const where = document.createElement('span');
    where.className = 'where';
    where.dataset.field = 'location';
    where.textContent = s.city + ', ' + s.country;
    name.append(open, where);
    row.appendChild(name);
    const temp = cell(row, 'temperature', o ? fmt(o.temperature, 1, '°C') : '–', 'num temp');
    if (o && typeof o.temperature === 'number')
      temp.style.setProperty('--hue', String(tempHue(o.temperature)));
    const w = windowOf(d);
    const temps = series(d, 'temperature', w);
    const spark = sparkline(temps, w);
    spark.setAttribute('aria-label', s.name + ': temperature over the last 24 hours');
    cell(row, 'spark', spark, 'spark-col').dataset.history = d.history;
    let range = '–';
    if (temps.length) {
      const vs = temps.map((p) => p.v);
      range = Math.min(...vs).toFixed(1) + ' / ' + Math.max(...vs).toFixed(1);
    }
    cell(row, 'range', range, 'num range-col');
    // Phones have no room for the column: the range goes under the value.
    const inline = document.createElement('span');
    inline.className = 'range-inline';
    inline.textContent = range;
    temp.appendChild(inline);
    // Units are in the column heads.
    cell(row, 'humidity', o ? fmt(o.humidity, 0) : '–', 'num opt');
    cell(row, 'pressure', o ? fmt(o.pressure, 1) : '–', 'num opt');
    cell(row, 'wind', o ? fmtWind(o, true) : '–', 'num opt');
    cell(row, 'observedAt', o ? timeNode(o.observedAt) : 'no data yet', 'num opt when');
    if (o && typeof o.seq === 'number') row.dataset.seq = String(o.seq);
    if (state.panelId === s.id) row.setAttribute('aria-current', 'true');
    if (!entry.row) {
      entry.row = row;
      insertSorted(row, s.id);
      watchRow(entry);
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
      td.colSpan = 8;
      td.textContent = 'No stations yet.';
      tr.appendChild(td);
      el.rows.appendChild(tr);
    }
  }

  function stationName(id) {
    const entry = state.stations.get(id);
    return entry ? entry.station.name : id;
  }

  // Newest first, by seq; a seq already listed is not listed again.
  function addFeed(o) {
    if (el.feed.querySelector(`li[data-seq="${o.seq}"]`)) return;
    const li = document.createElement('li');
    li.dataset.seq = String(o.seq);
    li.dataset.stationId = o.stationId;
    const who = document.createElement('span');
    who.className = 'feed-station';
    who.textContent = stationName(o.stationId);
    const temp = document.createElement('span');
    temp.className = 'feed-temp';
    temp.textContent = fmt(o.temperature, 1, '°C');
    if (typeof o.temperature === 'number')
      temp.style.setProperty('--hue', String(tempHue(o.temperature)));
    const meta = document.createElement('span');
    meta.className = 'feed-meta';
    meta.append(timeNode(o.observedAt), document.createTextNode(' · seq ' + o.seq));
    const rest = document.createElement('span');
    rest.className = 'feed-body';
    const parts = [];
    if (typeof o.humidity === 'number') parts.push(fmt(o.humidity, 0, '%'));
    if (typeof o.pressure === 'number') parts.push(fmt(o.pressure, 0, 'hPa'));
    rest.textContent = parts.join(' · ');
    li.append(who, temp, rest, meta);
    let before = null;
    for (const other of el.feed.children) {
      if (Number(other.dataset.seq) < o.seq) {
        before = other;
        break;
      }
    }
    el.feed.insertBefore(li, before);
    while (el.feed.children.length > FEED_MAX) el.feed.lastElementChild.remove();
    el.feedEmpty.hidden = el.feed.children.length > 0;
  }

  // Feed lines written before their station was known showed its id.
  function renameFeed(s) {
    for (const li of el.feed.children)
      if (li.dataset.stationId === s.id) li.querySelector('.feed-station').textContent = s.name;
  }

  /* ---- the station panel ---- */

  const CHARTS = [
    { field: 'temperature', unit: '°C', digits: 1, label: 'Temperature' },
    { field: 'pressure', unit: 'hPa', digits: 1, label: 'Pressure' },
    { field: 'humidity', unit: '%', digits: 0, label: 'Humidity' },
    { field: 'windSpeed', unit: 'm/s', digits: 1, label: 'Wind speed' },
  ];

  function openPanel(id) {
    const prev = state.panelId && state.stations.get(state.panelId);
    if (prev && prev.row) prev.row.removeAttribute('aria-current');
    state.panelId = id;
    const entry = state.stations.get(id);
    if (entry && entry.row) entry.row.setAttribute('aria-current', 'true');
    el.panel.hidden = false;
    document.body.classList.add('panel-open');
    wantHistory(id);
    renderPanel();
    el.panelClose.focus({ preventScroll: true });
  }

  function closePanel() {
    const entry = state.panelId && state.stations.get(state.panelId);
    if (entry && entry.row) {
      entry.row.removeAttribute('aria-current');
      const button = entry.row.querySelector('button.name');
      if (button) button.focus({ preventScroll: true });
    }
    state.panelId = null;
    el.panel.hidden = true;
    document.body.classList.remove('panel-open');
  }

  function renderPanel() {
    const id = state.panelId;
    if (!id) return;
    const entry = state.stations.get(id);
    const d = dataOf(id);
    const o = d.latest;
    el.panel.dataset.stationId = id;
    el.panelName.textContent = entry ? entry.station.name : id;
    el.panelWhere.textContent = entry ? `${entry.station.city}, ${entry.station.country} · ${id}`
      : id;
    const items = [
      ['Temperature', o ? fmt(o.temperature, 1, '°C') : '–'],
      ['Humidity', o ? fmt(o.humidity, 0, '%') : '–'],
      ['Pressure', o ? fmt(o.pressure, 1, 'hPa') : '–'],
      ['Wind', fmtWind(o)],
      ['Precipitation', o ? fmt(o.precipitation, 1, 'mm') : '–'],
      ['Observed', o ? timeNode(o.observedAt, true) : 'no data yet'],
    ];
    el.panelLatest.replaceChildren();
    for (const [k, v] of items) {
      const box = document.createElement('div');
      const dt = document.createElement('dt');
      dt.textContent = k;
      const dd = document.createElement('dd');
      if (v instanceof Node) dd.appendChild(v);
      else dd.textContent = v;
      box.append(dt, dd);
      el.panelLatest.appendChild(box);
    }
    const w = windowOf(d);
    for (const c of CHARTS) {
      const fig = el.panelCharts.querySelector(`figure[data-chart="${c.field}"]`);
      const old = fig.querySelector('svg');
      const svg = chart(series(d, c.field, w), { ...w, unit: c.unit, digits: c.digits,
        label: c.label });
      svg.setAttribute('aria-label', `${c.label} over the last 24 hours`);
      if (old) old.replaceWith(svg);
      else fig.appendChild(svg);
    }
  }

  /* ---- data ---- */

  function upsertStation(s) {
    let entry = state.stations.get(s.id);
    if (!entry) {
      entry = { station: s, row: null };
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
    state.stations.delete(id);
    state.data.delete(id);
    if (state.panelId === id) closePanel();
  }

  // Merges an observation into its station's data: its point (a
  // correction, same observedAt, replaces the values), and the latest if
  // it is the newest. Returns whether it became the latest.
  function merge(o) {
    const d = dataOf(o.stationId);
    const had = d.points.get(o.observedAt);
    if (!had || typeof had.seq !== 'number' || o.seq >= had.seq) d.points.set(o.observedAt, o);
    const newest = !d.latest || o.observedAt > d.latest.observedAt ||
      (o.observedAt === d.latest.observedAt && o.seq >= d.latest.seq);
    if (newest) d.latest = o;
    if (d.points.size > 3000) prune(d);
    return newest;
  }

  function prune(d) {
    const from = windowOf(d).from;
    for (const [k, o] of d.points) if (Date.parse(o.observedAt) < from) d.points.delete(k);
  }

  function redraw(id) {
    const entry = state.stations.get(id);
    if (entry) renderRow(entry);
    if (state.panelId === id) renderPanel();
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
    state.stationsLoaded = true;
    renderCount();
    // Histories that failed earlier (e.g. while offline) get another go.
    for (const entry of state.stations.values()) {
      const d = dataOf(entry.station.id);
      if (d.history === 'failed') {
        d.history = 'none';
        watchRow(entry);
      }
    }
  }

  // The feed's first lines: the observations just before HEAD
  // (GetObservationFeed), so the page does not start with an empty list.
  async function fillFeed(head) {
    if (state.feedFilled || head <= 0) return;
    state.feedFilled = true;
    const after = Math.max(0, head - FEED_MAX);
    try {
      const page = await api(`/v1/observations?afterSeq=${after}&limit=${FEED_MAX}`);
      for (const o of page.observations || []) if (o.seq <= head) addFeed(o);
    } catch (e) {
      state.feedFilled = false;
    }
  }

  // A station's 24 h (GET .../observations from its latest observedAt less
  // 24 h) is fetched when its row first comes near the screen, so a long
  // list costs requests only for what is looked at; at most
  // HISTORY_FETCH_PARALLEL at a time. The stream extends it.
  const historyQueue = [];
  let historyActive = 0;
  const visibility = 'IntersectionObserver' in window
    ? new IntersectionObserver((seen) => {
      for (const e of seen) {
        if (!e.isIntersecting) continue;
        visibility.unobserve(e.target);
        wantHistory(e.target.dataset.stationId);
      }
    }, { rootMargin: '300px' })
    : null;

  function watchRow(entry) {
    if (dataOf(entry.station.id).history !== 'none') return;
    if (visibility) visibility.observe(entry.row);
    else wantHistory(entry.station.id);
  }

  function wantHistory(id) {
    const d = dataOf(id);
    if (d.history !== 'none') return;
    d.history = 'queued';
    historyQueue.push(id);
    pumpHistory();
  }

  function pumpHistory() {
    while (historyActive < HISTORY_FETCH_PARALLEL && historyQueue.length) {
      const id = historyQueue.shift();
      if (!state.data.has(id)) continue;
      historyActive++;
      loadHistory(id).then(() => {
        const d = state.data.get(id);
        if (d) d.history = 'loaded';
        redraw(id);
      }, (e) => {
        const d = state.data.get(id);
        if (isAuthError(e)) unauthorized();
        if (d) d.history = e.status === 404 ? 'loaded' : 'failed';
      }).finally(() => {
        historyActive--;
        pumpHistory();
      });
    }
  }

  const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

  async function loadHistory(id) {
    const d = dataOf(id);
    if (!d.latest) return; // no observation at all: nothing to draw
    const w = windowOf(d);
    const base = '/v1/stations/' + encodeURIComponent(id) + '/observations';
    const page = await api(`${base}?from=${iso(w.from)}&limit=1000`);
    const got = page.observations || [];
    for (const o of got) merge(o);
    if (!page.nextCursor || !got.length) return;
    // More than 1,000 in a day: the first page covers its start in full;
    // the rest is sampled, one observation per half hour, so a busy
    // station costs ~50 small requests rather than pages of thousands.
    const marks = [];
    for (let t = Date.parse(got[got.length - 1].observedAt) + SAMPLE_MS; t < w.to; t += SAMPLE_MS)
      marks.push(t);
    for (let i = 0; i < marks.length; i += 8) {
      const batch = marks.slice(i, i + 8).map((t) => api(`${base}?from=${iso(t)}&limit=1`));
      for (const p of await Promise.all(batch)) for (const o of p.observations || []) merge(o);
    }
  }

  // An observation of a station this page does not know yet (created after
  // the list was read): fetch the station.
  async function fetchStation(id) {
    if (state.fetching.has(id)) return;
    state.fetching.add(id);
    try {
      const s = await api('/v1/stations/' + encodeURIComponent(id));
      upsertStation(s);
      renderCount();
      renameFeed(s);
    } catch (e) {
      if (isAuthError(e)) unauthorized();
    } finally {
      state.fetching.delete(id);
    }
  }

  function refresh() {
    loadStations().then(() => {
      if (el.conn.dataset.state === 'live') showNotice('');
    }, (e) => {
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
    const msg = { type: 'subscribe', id: state.activeSub, heartbeat: HEARTBEAT_S };
    if (state.lastSeq !== null) msg.fromSeq = state.lastSeq;
    else msg.snapshot = true;
    state.resumeFrom = state.lastSeq;
    el.conn.dataset.resumeFrom = state.lastSeq === null ? '' : String(state.lastSeq);
    send(msg);
  }

  function onObservation(o) {
    if (typeof o.seq !== 'number') return;
    if (state.lastSeq !== null && o.seq <= state.lastSeq) return; // already shown
    setLastSeq(o.seq);
    addFeed(o);
    const newest = merge(o);
    const entry = state.stations.get(o.stationId);
    if (entry) {
      redraw(o.stationId);
      if (newest) flash(entry.row);
    } else if (state.stationsLoaded) {
      fetchStation(o.stationId);
    }
  }

  function onSnapshot(m) {
    for (const o of m.observations || []) {
      merge(o);
      redraw(o.stationId);
    }
    if (state.lastSeq === null || m.seq > state.lastSeq) setLastSeq(m.seq);
    fillFeed(m.seq);
    refresh();
  }

  // The subscription is quiet for 2 heartbeat intervals: the connection
  // is dead or stuck somewhere between; start over from lastSeq.
  function armWatchdog() {
    clearTimeout(state.watchdog);
    state.lastHeard = Date.now();
    state.watchdog = setTimeout(() => {
      if (state.ws) state.ws.close(4000, 'silent');
    }, 2 * HEARTBEAT_S * 1000 + 5000);
  }

  function onMessage(text) {
    let m;
    try {
      m = JSON.parse(text);
    } catch (e) {
      return;
    }
    if (!m || m.id !== state.activeSub) return; // an old subscription's tail
    armWatchdog();
    switch (m.type) {
      case 'subscribed':
        if (state.lastSeq === null && typeof m.seq === 'number') el.lastSeq.textContent = String(m.seq);
        state.attempts = 0;
        setConn('live', 'Live');
        showNotice('');
        // The stations are read again after a reconnect too (some may have
        // come or gone); with a snapshot coming, once it is here, so that a
        // row's history is asked for up to its latest observation.
        if (state.resumeFrom !== null) refresh();
        break;
      case 'snapshot':
        onSnapshot(m);
        break;
      case 'observation':
        if (m.observation) onObservation(m.observation);
        break;
      case 'heartbeat':
        // Every observation up to m.seq was sent: nothing to resume below it.
        if (typeof m.seq === 'number' && state.lastSeq !== null && m.seq > state.lastSeq)
          setLastSeq(m.seq);
        break;
      case 'lagged':
        // The server ended the subscription; everything up to lastSeq was
        // sent, so resuming from there loses nothing.
        if (typeof m.lastSeq === 'number' && (state.lastSeq === null || m.lastSeq > state.lastSeq))
          setLastSeq(m.lastSeq);
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
      // database. Start over from its present, with a snapshot.
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
      armWatchdog();
      subscribe();
    };
    ws.onmessage = (e) => {
      if (gen === state.generation) onMessage(e.data);
    };
    ws.onclose = () => {
      if (gen !== state.generation) return;
      clearTimeout(state.watchdog);
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
    if (state.attempts >= 2) {
      const since = state.lastHeard ? ' Showing data as of ' +
        new Date(state.lastHeard).toISOString().slice(11, 19) + ' UTC.' : '';
      showNotice('The server cannot be reached; retrying in ' + Math.ceil(delay / 1000) +
        '\u00a0s.' + since);
    }
    state.timer = setTimeout(connect, delay);
  }

  function unauthorized() {
    ++state.generation;
    clearTimeout(state.timer);
    clearTimeout(state.watchdog);
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
  el.rows.addEventListener('click', (e) => {
    const row = e.target.closest('tr[data-station-id]');
    if (row) openPanel(row.dataset.stationId);
  });
  el.panelClose.addEventListener('click', closePanel);
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && state.panelId) closePanel();
  });
  // Back online: no point waiting out the backoff.
  window.addEventListener('online', () => {
    if (state.timer) connect();
  });

  connect();
})();
