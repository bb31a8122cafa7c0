// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The dashboard's charts: inline SVG drawn here, no chart library. Two
 * kinds over a time window [from, to] (milliseconds):
 *
 * - sparkline(points, {from, to}): a small line with a soft area under it,
 *   dots at the day's minimum and maximum and at the newest point, sized
 *   by its viewBox so CSS chooses its box;
 * - chart(points, {from, to, unit, digits}): the same with a scale: the
 *   minimum and maximum written at the left, hour marks every 6 h, and
 *   the newest value at the end of the line.
 *
 * points: [{t, v}] sorted by t; those outside the window are left out. A
 * gap longer than 3 h (a station that was silent) breaks the line rather
 * than drawing a slope that never happened. Every SVG carries
 * data-points (how many points it shows), so tests can tell that a chart
 * grew. Only numbers reach the SVG's attributes; text goes in as text.
 */
'use strict';

(function () {
  const NS = 'http://www.w3.org/2000/svg';
  const GAP_MS = 3 * 3600 * 1000;

  function node(name, attrs, parent) {
    const n = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, String(v));
    if (parent) parent.appendChild(n);
    return n;
  }

  function inWindow(points, from, to) {
    return points.filter((p) => p.t >= from && p.t <= to && typeof p.v === 'number');
  }

  // The scale of a value range, padded so a flat line sits mid-height.
  function valueRange(points) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const p of points) {
      if (p.v < lo) lo = p.v;
      if (p.v > hi) hi = p.v;
    }
    if (hi - lo < 1e-9) {
      lo -= 1;
      hi += 1;
    }
    return { lo, hi };
  }

  // Polyline segments in box coordinates, split at long gaps.
  function segments(points, x, y) {
    const out = [];
    let cur = [];
    let prev = null;
    for (const p of points) {
      if (prev && p.t - prev.t > GAP_MS) {
        out.push(cur);
        cur = [];
      }
      cur.push([x(p.t), y(p.v)]);
      prev = p;
    }
    if (cur.length) out.push(cur);
    return out;
  }

  const fmtPt = (xy) => xy[0].toFixed(1) + ',' + xy[1].toFixed(1);

  function draw(svg, points, box, opts) {
    const { from, to } = opts;
    const { lo, hi } = valueRange(points);
    const x = (t) => box.left + ((t - from) / (to - from)) * box.width;
    const y = (v) => box.top + (1 - (v - lo) / (hi - lo)) * box.height;
    const segs = segments(points, x, y);
    const bottom = box.top + box.height;
    for (const seg of segs) {
      if (seg.length > 1) {
        const area = 'M' + fmtPt([seg[0][0], bottom]) + ' L' + seg.map(fmtPt).join(' L') +
          ' L' + fmtPt([seg[seg.length - 1][0], bottom]) + ' Z';
        node('path', { d: area, class: 'area' }, svg);
        node('polyline', { points: seg.map(fmtPt).join(' '), class: 'line' }, svg);
      } else {
        node('circle', { cx: seg[0][0], cy: seg[0][1], r: 1.2, class: 'line-dot' }, svg);
      }
    }
    let min = points[0];
    let max = points[0];
    for (const p of points) {
      if (p.v < min.v) min = p;
      if (p.v > max.v) max = p;
    }
    const last = points[points.length - 1];
    if (points.length > 1) {
      node('circle', { cx: x(min.t), cy: y(min.v), r: opts.dot, class: 'min' }, svg);
      node('circle', { cx: x(max.t), cy: y(max.v), r: opts.dot, class: 'max' }, svg);
    }
    node('circle', { cx: x(last.t), cy: y(last.v), r: opts.dot * 1.25, class: 'last' }, svg);
    return { x, y, lo, hi, min, max, last };
  }

  function empty(svg, w, h, text) {
    const t = node('text', { x: w / 2, y: h / 2, class: 'none', 'text-anchor': 'middle',
      'dominant-baseline': 'middle' }, svg);
    t.textContent = text;
  }

  function sparkline(all, opts) {
    const W = 120;
    const H = 28;
    const svg = node('svg', { viewBox: `0 0 ${W} ${H}`, class: 'spark', role: 'img',
      preserveAspectRatio: 'none' });
    const points = inWindow(all, opts.from, opts.to);
    svg.dataset.points = String(points.length);
    if (!points.length) {
      empty(svg, W, H, '');
      return svg;
    }
    draw(svg, points, { left: 2, top: 3, width: W - 6, height: H - 6 }, { ...opts, dot: 1.8 });
    return svg;
  }

  function chart(all, opts) {
    const W = 480;
    const H = 132;
    // Room on the right for the latest value's label ("1012.2").
    const box = { left: 44, top: 10, width: W - 44 - 62, height: H - 10 - 22 };
    const svg = node('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img' });
    const points = inWindow(all, opts.from, opts.to);
    svg.dataset.points = String(points.length);
    // Hour marks every 6 h back from the window's end.
    const bottom = box.top + box.height;
    node('line', { x1: box.left, y1: bottom, x2: box.left + box.width, y2: bottom, class: 'axis' },
      svg);
    for (let h = 24; h >= 0; h -= 6) {
      const t = opts.to - h * 3600 * 1000;
      const xx = box.left + ((t - opts.from) / (opts.to - opts.from)) * box.width;
      node('line', { x1: xx, y1: box.top, x2: xx, y2: bottom, class: 'grid' }, svg);
      const label = node('text', { x: xx, y: H - 6, class: 'tick', 'text-anchor': 'middle' }, svg);
      label.textContent = h === 0 ? 'now' : `−${h} h`;
    }
    if (!points.length) {
      empty(svg, W, H, 'no data in the last 24 h');
      return svg;
    }
    const d = draw(svg, points, box, { ...opts, dot: 2.6 });
    const digits = opts.digits === undefined ? 1 : opts.digits;
    for (const [v, cls] of [[d.max.v, 'max'], [d.min.v, 'min']]) {
      const t = node('text', { x: box.left - 6, y: d.y(v), class: 'tick ' + cls,
        'text-anchor': 'end', 'dominant-baseline': 'middle' }, svg);
      t.textContent = v.toFixed(digits);
    }
    const lastText = node('text', { x: d.x(d.last.t) + 6, y: d.y(d.last.v), class: 'value',
      'dominant-baseline': 'middle' }, svg);
    lastText.textContent = d.last.v.toFixed(digits);
    const title = node('title', {}, svg);
    title.textContent = `${opts.label || ''} last 24 h: min ${d.min.v.toFixed(digits)}, ` +
      `max ${d.max.v.toFixed(digits)}, latest ${d.last.v.toFixed(digits)} ${opts.unit || ''}`;
    return svg;
  }

  window.NimbusCharts = { sparkline, chart };
})();
