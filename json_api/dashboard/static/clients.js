// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The dashboard's "Clients" view: who still calls SOAP, for what. Per API
 * key (client) and operation, one horizontal bar split by protocol (SOAP
 * 1.1, SOAP 1.2, REST, WebSocket), 100 % wide, so a glance shows how far
 * each client has moved; its calls since the server started are spelled
 * out beside it. A client's first bar is its total over all operations.
 *
 * Data: GET /metrics/clients, the same counters GET /metrics exposes, read
 * every REFRESH_MS while the view is shown (not while hidden or the tab is
 * in the background). With API keys it needs an admin key: the one
 * entered in the key field (app.js keeps it in localStorage), sent as
 * Bearer. Server data only ever reaches the DOM as text.
 *
 * Views: the hash picks one (#clients or #live); the other is hidden.
 */
'use strict';

(function () {
  const REFRESH_MS = 2000;
  const KEY_STORAGE = 'nimbus.apiKey';
  const NAMES = { soap11: 'SOAP 1.1', soap12: 'SOAP 1.2', rest: 'REST', ws: 'WebSocket' };

  const $ = (id) => document.getElementById(id);
  const el = {
    live: $('view-live'),
    clients: $('view-clients'),
    tabLive: $('tab-live'),
    tabClients: $('tab-clients'),
    chart: $('clients-chart'),
    empty: $('clients-empty'),
    status: $('clients-status'),
    keyInput: $('api-key'),
  };
  let timer = null;
  let inFlight = false;

  function key() {
    try {
      const k = localStorage.getItem(KEY_STORAGE);
      if (k) return k;
    } catch (e) {
      /* storage disabled: the field's value */
    }
    return el.keyInput ? el.keyInput.value.trim() : '';
  }

  function make(tag, cls, text) {
    const n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined) n.textContent = text;
    return n;
  }

  const fmt = new Intl.NumberFormat('en');
  const pct = (n, total) => (total ? Math.round((100 * n) / total) : 0);

  // One bar: a segment per protocol with calls, widths in proportion.
  function bar(protocols, calls, errors, label) {
    const total = calls.reduce((a, b) => a + b, 0);
    const wrap = make('div', 'bar');
    wrap.setAttribute('role', 'img');
    const parts = [];
    protocols.forEach((p, i) => {
      if (!calls[i]) return;
      const seg = make('span', 'seg');
      seg.dataset.protocol = p;
      seg.dataset.count = String(calls[i]);
      seg.style.flexGrow = String(calls[i]);
      const share = pct(calls[i], total);
      seg.title = `${NAMES[p] || p}: ${fmt.format(calls[i])} calls (${share} %)` +
        (errors[i] ? `, ${fmt.format(errors[i])} failed` : '');
      if (share >= 12) seg.textContent = `${share} %`;
      wrap.appendChild(seg);
      parts.push(`${NAMES[p] || p} ${fmt.format(calls[i])}`);
    });
    wrap.setAttribute('aria-label', `${label}: ${parts.join(', ')}`);
    return wrap;
  }

  // The numbers beside a bar: total, SOAP's share, and each protocol used.
  function numbers(protocols, calls) {
    const total = calls.reduce((a, b) => a + b, 0);
    const box = make('div', 'nums');
    const t = make('span', 'total', fmt.format(total));
    t.dataset.field = 'total';
    box.appendChild(t);
    box.appendChild(make('span', 'unit', total === 1 ? 'call' : 'calls'));
    const soap = calls[protocols.indexOf('soap11')] + calls[protocols.indexOf('soap12')];
    const s = make('span', 'soap-share', `${pct(soap, total)} % SOAP`);
    s.dataset.field = 'soapShare';
    if (soap === 0) s.classList.add('none');
    box.appendChild(s);
    const detail = make('span', 'detail');
    protocols.forEach((p, i) => {
      if (!calls[i]) return;
      if (detail.childNodes.length) detail.appendChild(document.createTextNode(' · '));
      const n = make('span', 'n', `${NAMES[p] || p} ${fmt.format(calls[i])}`);
      n.dataset.protocol = p;
      n.dataset.count = String(calls[i]);
      detail.appendChild(n);
    });
    box.appendChild(detail);
    return box;
  }

  function row(cls, name, protocols, calls, errors, client) {
    const r = make('div', 'crow ' + cls);
    r.dataset.client = client;
    r.dataset.operation = cls === 'total-row' ? '*' : name;
    const n = make('div', 'op', name);
    r.appendChild(n);
    r.appendChild(bar(protocols, calls, errors, `${client} ${name}`));
    r.appendChild(numbers(protocols, calls));
    return r;
  }

  function render(doc) {
    const protocols = doc.protocols;
    const byClient = new Map();
    for (const r of doc.rows) {
      if (!byClient.has(r.client)) byClient.set(r.client, []);
      byClient.get(r.client).push(r);
    }
    const groups = [];
    for (const [client, rows] of byClient) {
      const sum = protocols.map((_, i) => rows.reduce((a, r) => a + r.calls[i], 0));
      const err = protocols.map((_, i) => rows.reduce((a, r) => a + r.errors[i], 0));
      rows.sort((a, b) => b.calls.reduce((x, y) => x + y, 0) - a.calls.reduce((x, y) => x + y, 0) ||
        a.operation.localeCompare(b.operation));
      groups.push({ client, rows, sum, err, total: sum.reduce((a, b) => a + b, 0) });
    }
    // The busiest clients first: they matter most to a migration.
    groups.sort((a, b) => b.total - a.total || a.client.localeCompare(b.client));

    const frag = document.createDocumentFragment();
    for (const g of groups) {
      const sec = make('section', 'client');
      sec.dataset.client = g.client;
      const h = make('h3', 'client-name');
      const label = g.client === '-' ? (doc.keys ? 'no valid key' : 'open access (no keys)') : g.client;
      h.appendChild(make('span', 'name', label));
      sec.appendChild(h);
      sec.appendChild(row('total-row', 'All operations', protocols, g.sum, g.err, g.client));
      for (const r of g.rows) sec.appendChild(row('op-row', r.operation, protocols, r.calls, r.errors, g.client));
      frag.appendChild(sec);
    }
    el.chart.replaceChildren(frag);
    el.empty.hidden = groups.length > 0;
  }

  async function refresh() {
    if (inFlight) return;
    inFlight = true;
    try {
      const headers = { Accept: 'application/json' };
      const k = key();
      if (k) headers.Authorization = 'Bearer ' + k;
      const res = await fetch('/metrics/clients', { headers, cache: 'no-store' });
      if (res.status === 401 || res.status === 403) {
        el.status.textContent = res.status === 401
          ? 'This view needs an admin API key: enter it above.'
          : 'This key may not read the metrics: the view needs an admin key.';
        el.status.dataset.state = 'unauthorized';
        el.chart.replaceChildren();
        el.empty.hidden = true;
        return;
      }
      if (!res.ok) throw new Error('HTTP ' + res.status);
      render(await res.json());
      el.status.dataset.state = 'ok';
      el.status.textContent = 'Updated ' + new Date().toLocaleTimeString('en-GB') +
        ` · every ${REFRESH_MS / 1000} s`;
    } catch (e) {
      el.status.dataset.state = 'error';
      el.status.textContent = 'Cannot read the counters (' + e.message + '); retrying.';
    } finally {
      inFlight = false;
    }
  }

  function schedule() {
    clearInterval(timer);
    timer = null;
    if (!el.clients.hidden && document.visibilityState !== 'hidden') {
      refresh();
      timer = setInterval(refresh, REFRESH_MS);
    }
  }

  function show() {
    const clients = location.hash === '#clients';
    el.clients.hidden = !clients;
    el.live.hidden = clients;
    el.tabClients.toggleAttribute('aria-current', clients);
    el.tabLive.toggleAttribute('aria-current', !clients);
    if (clients) el.tabClients.setAttribute('aria-current', 'page');
    else el.tabLive.setAttribute('aria-current', 'page');
    schedule();
  }

  window.addEventListener('hashchange', show);
  document.addEventListener('visibilitychange', schedule);
  // A key entered or forgotten in the header applies at once.
  const form = $('key-form');
  if (form) form.addEventListener('submit', () => setTimeout(schedule, 0));
  const clear = $('key-clear');
  if (clear) clear.addEventListener('click', () => setTimeout(schedule, 0));
  show();
})();
