// lvsd status page: polls lvsd's own JSON API every 2 s and renders one card per virtual
// service. Cells carry data-field / data-value with the exact numbers (tests read them); the
// visible text may be humanized. No library, no external asset (the page's CSP forbids both).
'use strict';

(function () {
  const POLL_MS = 2000;
  const HISTORY_REFRESH_MS = 30000;  // resynchronise the charts with lvsd's own samples
  const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2',
                  '#17becf', '#7f7f7f', '#bcbd22'];

  const state = {
    series: new Map(),      // "service|real" -> [[t_ms, active], ...] in lvsd's clock
    windowMs: 600000,       // from /api/v1/history: interval_ms x samples
    offsetMs: 0,            // lvsd's clock minus ours, from the last history fetch
    historyAt: 0,           // when (our clock) the history was last fetched
    renders: 0,
    lastOk: 0,
  };

  const $ = (id) => document.getElementById(id);

  function endpoint(address, port) {
    return (address.includes(':') ? '[' + address + ']' : address) + ':' + port;
  }

  // The same names as lvsd's history (model::ServiceKey::to_string).
  function serviceLabel(s) {
    if (s.protocol === 'FWM') return 'FWM ' + s.fwmark + (s.af === 'inet6' ? ' IPv6' : '');
    return s.protocol + ' ' + endpoint(s.address, s.port);
  }

  function humanCount(n) {
    if (n < 10000) return String(n);
    const units = ['K', 'M', 'G', 'T', 'P'];
    let v = n;
    let i = -1;
    while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
    return (v < 100 ? v.toFixed(1) : v.toFixed(0)) + units[i];
  }

  function humanBytes(n) {
    if (n < 1024) return n + ' B';
    const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
    let v = n;
    let i = -1;
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return (v < 100 ? v.toFixed(1) : v.toFixed(0)) + ' ' + units[i];
  }

  function el(tag, attrs, children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else e.setAttribute(k, v);
    }
    for (const c of children || []) e.appendChild(c);
    return e;
  }

  // A numeric cell: exact value in data-value, humanized text.
  function numCell(field, value, fmt) {
    return el('td', {'data-field': field, 'data-value': String(value), title: String(value),
                     text: fmt(value)});
  }

  // A stopped (not dead) lvsd would leave a fetch waiting forever: give up after 5 s.
  async function getJson(url) {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), 5000);
    try {
      const r = await fetch(url, {cache: 'no-store', signal: abort.signal});
      if (!r.ok) throw new Error(url + ' answered HTTP ' + r.status);
      return await r.json();
    } catch (err) {
      if (err.name === 'AbortError') throw new Error(url + ' did not answer within 5 s');
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  function loadHistory(h) {
    state.windowMs = h.interval_ms * h.samples;
    const series = new Map();
    let newest = 0;
    for (const s of h.series) {
      const points = s.t.map((t, i) => [t, s.active[i]]);
      series.set(s.service + '|' + s.real, points);
      if (s.t.length) newest = Math.max(newest, s.t[s.t.length - 1]);
    }
    state.series = series;
    state.offsetMs = newest ? newest - Date.now() : 0;
    state.historyAt = Date.now();
  }

  // Between history fetches the page adds its own points from each poll, in lvsd's clock.
  function appendPoints(services) {
    const now = Date.now() + state.offsetMs;
    for (const s of services) {
      const label = serviceLabel(s);
      for (const d of s.dests) {
        const key = label + '|' + endpoint(d.address, d.port);
        const points = state.series.get(key) || [];
        if (!points.length || points[points.length - 1][0] < now) points.push([now, d.active]);
        while (points.length && points[0][0] < now - state.windowMs) points.shift();
        state.series.set(key, points);
      }
    }
  }

  // "service|real" -> true (up) / false (down), from /api/v1/health.
  function healthMap(health) {
    const m = new Map();
    if (health && health.checked) for (const r of health.reals) m.set(r.service + '|' + r.real, r.up);
    return m;
  }

  function healthOf(health, service, real) {
    const up = health.get(service + '|' + real);
    return up === undefined ? 'not checked' : (up ? 'up' : 'down');
  }

  // A configured realserver its checkers took out of the table: not in the listing, so no
  // numbers; the page still lists it as down.
  function absentRow(real) {
    const cells = [el('td', {'data-field': 'real', text: real}),
                   el('td', {class: 'text health down', 'data-field': 'health',
                             'data-value': 'down', text: 'down'}),
                   el('td', {class: 'text', colspan: String(COLUMNS.length - 2),
                             text: 'out of the table (health check failing)'})];
    return el('tr', {'data-real': real, 'data-absent': '1', class: 'absent'}, cells);
  }

  // Most-read first: on a phone the table scrolls sideways and these stay in view.
  const COLUMNS = [
    ['Realserver', 'text'], ['Health', 'text'], ['Weight', ''], ['ActiveConn', ''],
    ['InActConn', ''], ['Conns', ''], ['CPS', ''], ['In/s', ''], ['Out/s', ''], ['InPkts', ''],
    ['OutPkts', ''], ['InBytes', ''], ['OutBytes', ''], ['Fwd', 'text'],
  ];

  function destRow(label, d, color, health) {
    const real = endpoint(d.address, d.port);
    const h = healthOf(health, label, real);
    const first = el('td', {'data-field': 'real'}, [
      el('span', {class: 'swatch'}), document.createTextNode(real)]);
    first.firstChild.style.background = color;
    const row = el('tr', {'data-real': real}, [
      first,
      el('td', {class: 'text health ' + (h === 'not checked' ? 'unknown' : h),
                'data-field': 'health', 'data-value': h, text: h}),
      numCell('weight', d.weight, String),
      numCell('active', d.active, humanCount),
      numCell('inactive', d.inactive, humanCount),
      numCell('conns', d.stats.conns, humanCount),
      numCell('cps', d.rates ? d.rates.cps : 0, humanCount),
      numCell('inbps', d.rates ? d.rates.inbps : 0, (v) => humanBytes(v) + '/s'),
      numCell('outbps', d.rates ? d.rates.outbps : 0, (v) => humanBytes(v) + '/s'),
      numCell('inpkts', d.stats.inpkts, humanCount),
      numCell('outpkts', d.stats.outpkts, humanCount),
      numCell('inbytes', d.stats.inbytes, humanBytes),
      numCell('outbytes', d.stats.outbytes, humanBytes),
      el('td', {class: 'text', 'data-field': 'forward', 'data-value': d.forward, text: d.forward}),
    ]);
    if (d.weight === 0) row.classList.add('quiesced');
    return row;
  }

  function serviceCard(s, health) {
    const label = serviceLabel(s);
    const tags = [el('span', {class: 'tag', text: s.scheduler})];
    if (s.flags) tags.push(el('span', {class: 'tag', text: s.flags}));
    if (s.persistent) tags.push(el('span', {class: 'tag', text: 'persistent ' + s.timeout + ' s'}));
    if (s.ops) tags.push(el('span', {class: 'tag', text: 'one-packet'}));
    const active = s.dests.reduce((a, d) => a + d.active, 0);
    const inactive = s.dests.reduce((a, d) => a + d.inactive, 0);
    const rates = s.rates || {cps: 0, inbps: 0, outbps: 0};
    const totals = el('div', {class: 'totals', text:
      s.dests.length + ' realserver' + (s.dests.length === 1 ? '' : 's') + ' \u00b7 ' +
      active + ' active, ' + inactive + ' inactive \u00b7 ' + humanCount(s.stats.conns) +
      ' conns \u00b7 ' + rates.cps + ' conn/s \u00b7 in ' + humanBytes(rates.inbps) + '/s, out ' +
      humanBytes(rates.outbps) + '/s'});
    const head = el('tr', {}, COLUMNS.map(([name, cls]) => el('th', cls ? {class: cls, text: name}
                                                                        : {text: name})));
    const rows = s.dests.map((d, i) => destRow(label, d, COLORS[i % COLORS.length], health));
    const listed = new Set(s.dests.map((d) => endpoint(d.address, d.port)));
    for (const [key, up] of health) {
      const cut = key.indexOf('|');
      if (!up && key.slice(0, cut) === label && !listed.has(key.slice(cut + 1))) {
        rows.push(absentRow(key.slice(cut + 1)));
      }
    }
    const table = el('table', {}, [el('thead', {}, [head]), el('tbody', {}, rows)]);
    const canvas = el('canvas', {class: 'chart', 'aria-label':
                                 'active connections per realserver, ' + label});
    const card = el('section', {class: 'service', 'data-service': label}, [
      el('h2', {}, [el('span', {class: 'name', text: label})].concat(tags)),
      totals,
      el('div', {class: 'table-wrap'}, [table]),
      el('div', {class: 'chart-box'}, [canvas,
        el('div', {class: 'chart-note', text: 'active connections per realserver (stacked), up to the last ' +
                   Math.round(state.windowMs / 60000) + ' min'})]),
    ]);
    return {card, canvas, label, dests: s.dests};
  }

  function ago(ms) {
    return ms >= 120000 ? Math.round(ms / 60000) + ' min' : Math.round(ms / 1000) + ' s';
  }

  // Stacked areas, one band per realserver (its active connections), so the top edge is the
  // service's total and no realserver hides another. x: from the oldest sample (at least the
  // last minute, at most lvsd's window) to now.
  function drawChart(canvas, label, dests) {
    const ratio = window.devicePixelRatio || 1;
    const w = Math.max(1, canvas.clientWidth);
    const h = Math.max(1, canvas.clientHeight);
    canvas.width = Math.round(w * ratio);
    canvas.height = Math.round(h * ratio);
    const g = canvas.getContext('2d');
    g.scale(ratio, ratio);
    const now = Date.now() + state.offsetMs;
    const lines = dests.map((d) => state.series.get(label + '|' + endpoint(d.address, d.port)) || []);
    let oldest = now;
    for (const pts of lines) if (pts.length) oldest = Math.min(oldest, pts[0][0]);
    const span = Math.min(state.windowMs, Math.max(60000, now - oldest));
    const t0 = now - span;
    // Sample times of all realservers, and each one's value at those times (last known value).
    const times = [...new Set(lines.flat().map((p) => p[0]))].filter((t) => t >= t0)
      .sort((a, b) => a - b);
    const valueAt = (pts, t) => {
      let v = null;
      for (const p of pts) { if (p[0] <= t) v = p[1]; else break; }
      return v;
    };
    const stacks = [];
    const base = times.map(() => 0);
    for (const pts of lines) {
      const lower = base.slice();
      times.forEach((t, i) => { base[i] += valueAt(pts, t) || 0; });
      stacks.push({lower, upper: base.slice(), n: pts.length});
    }
    const max = Math.max(1, ...base);
    const left = 34;
    const right = 6;
    const top = 8;
    const bottom = 18;
    const x = (t) => left + (w - left - right) * (t - t0) / span;
    const y = (v) => top + (h - top - bottom) * (1 - v / max);
    g.font = '11px system-ui, sans-serif';
    g.fillStyle = '#5c6576';
    g.strokeStyle = '#dde1e8';
    g.lineWidth = 1;
    g.beginPath();
    g.moveTo(left, y(0));
    g.lineTo(w - right, y(0));
    g.moveTo(left, y(max));
    g.lineTo(w - right, y(max));
    g.stroke();
    g.textAlign = 'right';
    g.fillText(String(max), left - 4, y(max) + 4);
    g.fillText('0', left - 4, y(0) + 4);
    g.textAlign = 'left';
    g.fillText('-' + ago(span), left, h - 4);
    g.textAlign = 'right';
    g.fillText('now', w - right, h - 4);
    let points = 0;
    stacks.forEach((s, i) => {
      points += s.n;
      if (!times.length) return;
      const color = COLORS[i % COLORS.length];
      g.beginPath();
      times.forEach((t, j) => (j ? g.lineTo : g.moveTo).call(g, x(t), y(s.upper[j])));
      if (times.length === 1) g.lineTo(x(times[0]) - 2, y(s.upper[0]));
      for (let j = times.length - 1; j >= 0; j--) g.lineTo(x(times[j]), y(s.lower[j]));
      g.closePath();
      g.globalAlpha = 0.35;
      g.fillStyle = color;
      g.fill();
      g.globalAlpha = 1;
      g.strokeStyle = color;
      g.lineWidth = 1.5;
      g.beginPath();
      times.forEach((t, j) => (j ? g.lineTo : g.moveTo).call(g, x(t), y(s.upper[j])));
      g.stroke();
    });
    canvas.dataset.points = String(points);
  }

  function render(listing, health) {
    const main = $('services');
    const states = healthMap(health);
    const cards = listing.services.map((s) => serviceCard(s, states));
    main.replaceChildren(...(cards.length ? cards.map((c) => c.card)
        : [el('p', {class: 'empty', text: 'No virtual services (lvsadm -A adds one).'})]));
    for (const c of cards) drawChart(c.canvas, c.label, c.dests);
    const reals = listing.services.reduce((a, s) => a + s.dests.length, 0);
    const active = listing.services.reduce(
      (a, s) => a + s.dests.reduce((b, d) => b + d.active, 0), 0);
    const plural = (n, word) => n + ' ' + word + (n === 1 ? '' : 's');
    $('summary').textContent = plural(listing.services.length, 'service') + ' \u00b7 ' +
      plural(reals, 'realserver') + ' \u00b7 ' + plural(active, 'active connection');
    $('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
    state.renders += 1;
    document.body.dataset.renders = String(state.renders);
  }

  function showError(err) {
    const banner = $('banner');
    const since = state.lastOk ? ' Figures below are from ' +
        new Date(state.lastOk).toLocaleTimeString() + '.' : '';
    banner.textContent = 'lvsd is not answering (' + (err && err.message ? err.message : err) +
        '); retrying every 2 s.' + since;
    banner.hidden = false;
    $('services').classList.add('stale');
    document.body.dataset.error = '1';
  }

  function clearError() {
    $('banner').hidden = true;
    $('services').classList.remove('stale');
    delete document.body.dataset.error;
  }

  async function poll() {
    try {
      const wasFailing = document.body.dataset.error === '1';
      if (wasFailing || !state.historyAt || Date.now() - state.historyAt > HISTORY_REFRESH_MS) {
        loadHistory(await getJson('/api/v1/history'));
      }
      const listing = await getJson('/api/v1/services');
      const health = await getJson('/api/v1/health');
      appendPoints(listing.services);
      render(listing, health);
      state.lastOk = Date.now();
      clearError();
    } catch (err) {
      showError(err);
    } finally {
      setTimeout(poll, POLL_MS);
    }
  }

  let resizeTimer = 0;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      for (const c of document.querySelectorAll('section.service')) {
        const canvas = c.querySelector('canvas.chart');
        const label = c.dataset.service;
        const dests = [...c.querySelectorAll('tr[data-real]:not([data-absent])')].map((r) => {
          const real = r.dataset.real;
          const i = real.lastIndexOf(':');
          return {address: real.slice(0, i).replace(/^\[|\]$/g, ''), port: real.slice(i + 1)};
        });
        drawChart(canvas, label, dests);
      }
    }, 200);
  });

  poll();
})();
