// The reports page: the tables of GET /v1/reports for a period, volumes drawn as bar charts
// (inline SVG), every table downloadable as CSV (GET /v1/reports?csv=NAME with the same key).
// All text goes in with textContent; nothing is parsed as HTML.
(function () {
  'use strict';

  const BASE = location.pathname.replace(/\/reports\/?$/, '');
  const KEY_STORE = 'triage.apiKey'; // the reviewer page's key, shared for the browser session
  const SVG = 'http://www.w3.org/2000/svg';
  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (name === 'text') node.textContent = value;
      else if (name === 'class') node.className = value;
      else node.setAttribute(name, String(value));
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  function svg(tag, attrs) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
    return node;
  }

  async function fetchReport(query) {
    const headers = {};
    const key = sessionStorage.getItem(KEY_STORE);
    if (key) headers.Authorization = 'Bearer ' + key;
    const response = await fetch(BASE + '/v1/reports?' + query, { headers, cache: 'no-store' });
    if (!response.ok) {
      let message = 'HTTP ' + response.status;
      try {
        message = (await response.json()).error.message || message;
      } catch (_) { /* not JSON */ }
      if (response.status === 401 || response.status === 403) message += ': enter an API key with the review role above.';
      throw new Error(message);
    }
    return response;
  }

  function showError(message) {
    $('global-error').textContent = message;
    $('global-error').hidden = !message;
  }

  /** Horizontal bars for a table whose second column is a count. */
  function barChart(table) {
    const rows = table.rows.slice(0, 12);
    const max = rows.reduce((m, r) => Math.max(m, Number(r[1]) || 0), 0) || 1;
    const height = 22 * rows.length + 4;
    const chart = svg('svg', { viewBox: '0 0 480 ' + height, width: 480, height, role: 'img', 'aria-label': table.title, 'data-testid': 'chart' });
    rows.forEach((row, i) => {
      const y = 22 * i + 2;
      const label = svg('text', { x: 0, y: y + 14, 'font-size': 12, fill: '#344054' });
      label.textContent = row[0].length > 22 ? row[0].slice(0, 21) + '…' : row[0];
      const width = Math.max(1, Math.round(260 * (Number(row[1]) || 0) / max));
      chart.append(label, svg('rect', { x: 170, y, width, height: 16, rx: 3, fill: '#2e90fa' }));
      const value = svg('text', { x: 176 + width, y: y + 13, 'font-size': 12, fill: '#344054' });
      value.textContent = row[1];
      chart.append(value);
    });
    return chart;
  }

  async function downloadCsv(name, query) {
    try {
      const blob = await (await fetchReport(query + '&csv=' + encodeURIComponent(name))).blob();
      const link = el('a', { href: URL.createObjectURL(blob), download: name + '.csv' });
      document.body.append(link);
      link.click();
      link.remove();
    } catch (e) {
      showError(e.message);
    }
  }

  function renderTable(table, query) {
    const head = el('div', { class: 'card-head' }, el('h3', { text: table.title }));
    const csv = el('button', { type: 'button', 'data-testid': 'csv', text: 'CSV' });
    csv.addEventListener('click', () => downloadCsv(table.name, query));
    head.append(csv);
    const grid = el('table', { class: 'table', 'data-table': table.name });
    grid.append(el('thead', null, el('tr', null, ...table.columns.map((c) => el('th', { text: c })))));
    const body = el('tbody');
    for (const row of table.rows) body.append(el('tr', null, ...row.map((cell) => el('td', { text: cell }))));
    if (table.rows.length === 0) body.append(el('tr', null, el('td', { class: 'muted', colspan: table.columns.length, text: 'None in this period.' })));
    grid.append(body);
    const card = el('section', { class: 'card', 'data-testid': 'report-table' }, head);
    if (table.name.startsWith('volume_') && table.rows.length > 0) card.append(barChart(table));
    card.append(grid);
    return card;
  }

  async function load(fresh) {
    const params = new URLSearchParams();
    if ($('since').value) params.set('since', $('since').value);
    if ($('until').value) params.set('until', $('until').value);
    const query = params.toString();
    const asked = fresh ? (query ? query + '&' : '') + 'fresh=true' : query;
    $('report-status').textContent = 'Loading…';
    try {
      const report = await (await fetchReport(asked)).json();
      showError('');
      const time = (instant) => instant.slice(0, 19).replace('T', ' ');
      $('report-status').textContent = report.decisions + ' decisions from ' + report.since.slice(0, 10) + ' to ' + time(report.until) + ' UTC, computed ' + time(report.computed_at) + ' UTC';
      $('tables').replaceChildren(...report.tables.map((t) => renderTable(t, query)));
    } catch (e) {
      $('report-status').textContent = '';
      showError(e.message);
    }
  }

  function init() {
    $('api-key').value = sessionStorage.getItem(KEY_STORE) || '';
    $('api-key-form').addEventListener('submit', (event) => {
      event.preventDefault();
      sessionStorage.setItem(KEY_STORE, $('api-key').value.trim());
      load(false);
    });
    $('period').addEventListener('submit', (event) => {
      event.preventDefault();
      load(false);
    });
    $('recompute').addEventListener('click', () => load(true));
    load(false);
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
