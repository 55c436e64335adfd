// The reviewer page: a queue of logged decisions, one decision in full (ticket text with the
// evidence highlighted, predictions, rule trace, SLA, earlier feedback) and a correction form.
//
// Everything comes from the JSON review API (/v1/decisions, /v1/labels). Ticket text is
// untrusted: the DOM is built only with createElement / textContent / text nodes, never by
// parsing data as HTML, and the server's Content-Security-Policy forbids inline script and
// style besides. Offsets of evidence are Unicode scalar values (Rust `char`s), so text is
// split with Array.from, never indexed as UTF-16.
(function () {
  'use strict';

  // The page is served at <prefix>/review; the API lives under the same prefix.
  const BASE = location.pathname.replace(/\/review\/?$/, '');
  const KEY_STORE = 'triage.apiKey';          // sessionStorage: gone with the tab
  const REVIEWER_STORE = 'triage.reviewer';   // localStorage: remembered
  // Rows per page: 50, or `?limit=N` on the page's address (1 to 500, as the API allows).
  const PAGE = Math.min(500, Math.max(1, Number(new URLSearchParams(location.search).get('limit')) || 50));
  // Evidence the policy adds next to the model heads: the words that set severity and impact.
  const POLICY_EVIDENCE = ['severity', 'impact'];

  const state = {
    labels: null,        // GET /v1/labels: the model's heads and labels, the policy's levels
    labelsLoaded: null,  // settles when the labels request has (loadLabels reports its own errors)
    items: [],           // queue rows loaded so far
    next: null,          // cursor of the next page
    selected: -1,        // keyboard cursor in the queue
    openId: null,        // decision shown
    decision: null,      // GET /v1/decisions/{id}
    heads: [],           // heads of the shown decision, in shortcut order
    head: null,          // head (or policy evidence) whose evidence is highlighted
    tabs: [],            // model heads, then severity / impact when the policy read such words
    queueNames: new Set(),
  };
  let queueSeq = 0;      // answers to stale requests are dropped
  let openSeq = 0;

  const $ = (id) => document.getElementById(id);

  /** An element with attributes and children; strings become text nodes, never markup. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name === 'class') node.className = value;
      else if (name === 'text') node.textContent = value;
      else node.setAttribute(name, value === true ? '' : String(value));
    }
    for (const child of children) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  class ApiError extends Error {
    constructor(status, message, field, code) {
      super(message);
      this.status = status;
      this.field = field;
      this.code = code;
    }
  }

  /** Calls the API with the key from the key box; throws ApiError with the server's message. */
  async function api(path, options) {
    const opts = options || {};
    const headers = { Accept: 'application/json' };
    const key = sessionStorage.getItem(KEY_STORE);
    if (key) headers.Authorization = 'Bearer ' + key;
    let body;
    if (opts.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(opts.body);
    }
    let response;
    try {
      response = await fetch(BASE + path, { method: opts.method || 'GET', headers, body, cache: 'no-store' });
    } catch (e) {
      throw new ApiError(0, 'The server cannot be reached (' + e.message + ')');
    }
    let json = null;
    try {
      json = await response.json();
    } catch (_) {
      json = null;
    }
    if (!response.ok) {
      const error = (json && json.error) || {};
      let message = error.message || ('HTTP ' + response.status);
      if (response.status === 401 || response.status === 403) {
        message = message + ' (' + response.status + '): enter an API key with the review role above.';
      }
      throw new ApiError(response.status, message, error.field, error.code);
    }
    return json;
  }

  function showError(error) {
    const banner = $('global-error');
    banner.textContent = error instanceof Error ? error.message : String(error);
    banner.hidden = false;
  }

  function clearError() {
    $('global-error').hidden = true;
    $('global-error').textContent = '';
  }

  // ---- formatting -------------------------------------------------------------------------

  function formatTime(iso) {
    if (!iso) return '—';
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return String(iso);
    return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  }

  /** "in 3 h" / "2 d ago", for due times. */
  function relative(iso) {
    const ms = Date.parse(iso) - Date.now();
    if (Number.isNaN(ms)) return '';
    const minutes = Math.round(Math.abs(ms) / 60000);
    let amount;
    if (minutes < 90) amount = minutes + ' min';
    else if (minutes < 48 * 60) amount = Math.round(minutes / 60) + ' h';
    else amount = Math.round(minutes / 1440) + ' d';
    return ms >= 0 ? 'in ' + amount : amount + ' ago';
  }

  function score(value) {
    return typeof value === 'number' ? value.toFixed(2) : '—';
  }

  function signed(weight) {
    return (weight >= 0 ? '+' : '') + weight.toFixed(3);
  }

  /** A CSS class for a priority level badge (only P<digit> gets a colour). */
  function priorityClass(level) {
    return /^P\d$/.test(level || '') ? level : '';
  }

  function time(iso) {
    return el('time', { datetime: iso, title: iso, text: formatTime(iso) });
  }

  function metaItem(list, term, value) {
    if (value === undefined || value === null || value === '') return;
    list.append(el('div', null, el('dt', { text: term }), el('dd', null, value)));
  }

  // ---- labels and filters -----------------------------------------------------------------

  async function loadLabels() {
    try {
      state.labels = await api('/v1/labels');
    } catch (e) {
      showError(e);
      return;
    }
    const select = $('filter-priority');
    const chosen = select.value;
    select.replaceChildren(el('option', { value: '', text: 'Any' }));
    for (const p of state.labels.priorities || []) {
      select.append(el('option', { value: p.level, text: p.level + ' ' + p.name }));
    }
    select.value = chosen;
    buildHeadSelects();
    if (state.decision) renderDecision(state.decision);
  }

  /** The model's heads in its order (none until the labels have loaded). */
  function modelHeads() {
    return (state.labels && state.labels.head_order) || [];
  }

  /** What a correction may set: the policy's priority, then each of the model's heads. */
  function formFields() {
    return ['priority'].concat(modelHeads());
  }

  /** A select shows whether it now differs from the value it was filled with. */
  function highlightChanges(select) {
    select.addEventListener('change', () => select.classList.toggle('changed', select.value !== select.dataset.current));
  }

  /** One select per head of the served model, after the priority's: a model trained with
   * another head (say `product`) gets its own select without a change to the page. */
  function buildHeadSelects() {
    for (const old of $('fb-form').querySelectorAll('label[data-head]')) old.remove();
    let after = $('fb-priority').closest('label');
    for (const head of modelHeads()) {
      const select = el('select', { id: 'fb-' + head, 'data-field': head });
      highlightChanges(select);
      const name = head.charAt(0).toUpperCase() + head.slice(1).replace(/_/g, ' ');
      const label = el('label', { 'data-head': head }, name + ' ', select);
      after.after(label);
      after = label;
    }
  }

  function filterQuery(before) {
    const params = new URLSearchParams();
    const review = $('filter-review').value;
    if (review) params.set('needs_review', review);
    const priority = $('filter-priority').value;
    if (priority) params.set('priority', priority);
    const queue = $('filter-queue').value.trim();
    if (queue) params.set('queue', queue);
    params.set('limit', String(PAGE));
    if (before) params.set('before', before);
    return params.toString();
  }

  // ---- the queue --------------------------------------------------------------------------

  function queueRow(item, index) {
    let mark = '';
    if (item.reviewed) mark = '✓ reviewed';
    else if (item.needs_review) mark = 'needs review';
    const row = el('li', {
      class: 'queue-row',
      'data-testid': 'queue-row',
      'data-decision-id': item.decision_id,
      'data-index': index,
      'data-reviewed': item.reviewed ? 'true' : 'false',
    },
    el('span', { class: 'badge row-priority ' + priorityClass(item.priority), 'data-testid': 'row-priority', text: item.priority }),
    el('span', { class: 'row-subject', 'data-testid': 'row-subject', title: item.subject || '', text: item.subject || '(no subject)' }),
    el('span', { class: 'row-mark' + (item.reviewed ? ' reviewed' : ''), 'data-testid': 'row-reviewed', text: mark }),
    el('span', { class: 'row-meta' },
      item.queue, ' · ', time(item.decided_at), item.ticket_id ? ' · ' + item.ticket_id : ''));
    row.addEventListener('click', () => {
      select(index);
      openDecision(item.decision_id);
    });
    return row;
  }

  function rows() {
    return $('queue-list').children;
  }

  function select(index) {
    const all = rows();
    if (index < 0 || index >= all.length) return;
    if (state.selected >= 0 && all[state.selected]) all[state.selected].classList.remove('selected');
    state.selected = index;
    all[index].classList.add('selected');
    all[index].scrollIntoView({ block: 'nearest' });
  }

  /** Marks the open decision's row and moves the keyboard cursor onto it, so `j` / `k` go on
   * from the ticket shown (also when it was opened by its #id). */
  function markOpenRow() {
    Array.from(rows()).forEach((row, index) => {
      const open = row.dataset.decisionId === state.openId;
      row.classList.toggle('open', open);
      if (open && state.selected !== index) select(index);
    });
  }

  async function loadQueue(append) {
    const token = ++queueSeq;
    const status = $('queue-status');
    status.textContent = 'Loading…';
    let page;
    try {
      page = await api('/v1/decisions?' + filterQuery(append ? state.next : null));
    } catch (e) {
      if (token !== queueSeq) return;
      status.textContent = 'Could not load the queue.';
      showError(e);
      return;
    }
    if (token !== queueSeq) return;
    clearError();
    const list = $('queue-list');
    if (!append) {
      state.items = [];
      state.selected = -1;
      list.replaceChildren();
    }
    for (const item of page.items || []) {
      state.items.push(item);
      list.append(queueRow(item, state.items.length - 1));
      if (item.queue && !state.queueNames.has(item.queue)) {
        state.queueNames.add(item.queue);
        $('queue-names').append(el('option', { value: item.queue }));
      }
    }
    state.next = page.next || null;
    $('queue-more').hidden = !state.next;
    const count = state.items.length;
    status.textContent = count === 0
      ? 'No decisions match.'
      : count + (count === 1 ? ' decision' : ' decisions') + (state.next ? ', more below' : '') + ', newest first';
    markOpenRow();
    if (state.selected < 0 && count > 0) select(0);
  }

  function move(step) {
    const target = state.selected + step;
    if (target >= rows().length) {
      if (state.next) loadQueue(true).then(() => select(target));
      return;
    }
    select(Math.max(0, target));
  }

  // ---- one decision -----------------------------------------------------------------------

  async function openDecision(id) {
    const token = ++openSeq;
    state.openId = id;
    markOpenRow();
    if (location.hash !== '#' + encodeURIComponent(id)) {
      history.replaceState(null, '', '#' + encodeURIComponent(id));
    }
    let decision;
    try {
      // The labels give the heads their order and the form its selects: render after them.
      [decision] = await Promise.all([api('/v1/decisions/' + encodeURIComponent(id)), state.labelsLoaded]);
    } catch (e) {
      if (token === openSeq) showError(e);
      return;
    }
    if (token !== openSeq) return;
    clearError();
    setStatus('', '');
    $('fb-note').value = '';
    renderDecision(decision);
  }

  function renderDecision(decision) {
    state.decision = decision;
    const request = decision.request || {};
    const response = decision.response || {};
    const predictions = response.predictions || {};
    $('ticket-empty').hidden = true;
    $('ticket').hidden = false;
    $('ticket').dataset.decisionId = decision.decision_id;

    const priority = response.priority || { level: decision.priority, name: '' };
    const badge = $('ticket-priority');
    badge.className = 'badge ' + priorityClass(priority.level);
    badge.textContent = priority.level + (priority.name ? ' ' + priority.name : '');
    $('ticket-heading').textContent = request.subject || '(no subject)';

    const meta = $('ticket-meta');
    meta.replaceChildren();
    const reviewed = (decision.feedback || []).length > 0;
    metaItem(meta, 'Status', el('span', {
      class: 'badge ' + (reviewed ? 'ok' : response.needs_review ? 'flag' : 'ok'),
      'data-testid': 'review-state',
      text: reviewed ? 'reviewed' : response.needs_review ? 'needs review' : 'not flagged',
    }));
    const decided = decidedValues(decision);
    const current = currentValues(decision);
    const corrected = formFields().filter((f) => current[f] && current[f] !== decided[f]).map((f) => f + ' ' + current[f]).join(', ');
    if (corrected) metaItem(meta, 'Corrected to', el('strong', { 'data-testid': 'corrected', text: corrected }));
    metaItem(meta, 'Queue', response.queue || decision.queue);
    metaItem(meta, 'Tags', (response.tags || []).join(', '));
    const cluster = response.cluster;
    if (cluster) {
      // The cluster is named by its first ticket's decision: the link opens that one.
      metaItem(meta, 'Repeat issue', el('a', {
        href: '#' + encodeURIComponent(cluster.id),
        'data-testid': 'cluster',
        text: cluster.size + ' tickets about the same problem since ' + time(cluster.first_seen),
      }));
    }
    metaItem(meta, 'Ticket', request.id || decision.ticket_id);
    metaItem(meta, 'Decided', time(decision.decided_at));
    const customer = request.customer || {};
    const who = [customer.id, customer.plan && customer.plan + ' plan', customer.account_type, customer.segment, customer.vip ? 'VIP' : null]
      .filter(Boolean).join(', ');
    metaItem(meta, 'Customer', who);
    metaItem(meta, 'Channel', request.channel);
    metaItem(meta, 'Language', request.language);
    if (request.created_at) metaItem(meta, 'Created', time(request.created_at));
    const fields = Object.entries(request.fields || {}).map(([k, v]) => k + '=' + v).join(', ');
    metaItem(meta, 'Fields', fields);
    const model = response.model || {};
    metaItem(meta, 'Model', [model.name || decision.model_name, model.version || decision.model_version].filter(Boolean).join(' '));
    metaItem(meta, 'Policy', (response.policy || {}).version || decision.policy_version);
    metaItem(meta, 'Decision', decision.decision_id);
    const reviewReason = ((response.explanation || {}).summary || '').split('; needs review: ')[1];
    if (response.needs_review && reviewReason) metaItem(meta, 'In review because', reviewReason);

    $('ticket-summary').textContent = (response.explanation || {}).summary || '';

    const known = Object.keys(predictions);
    const order = modelHeads();
    state.heads = order.filter((h) => known.includes(h)).concat(known.filter((h) => !order.includes(h)).sort());
    const evidence = (response.explanation || {}).evidence || {};
    state.tabs = state.heads.concat(POLICY_EVIDENCE.filter((k) => (evidence[k] || []).length > 0 && !known.includes(k)));
    if (!state.tabs.includes(state.head)) state.head = state.tabs[0] || null;
    const tabs = $('evidence-heads');
    tabs.replaceChildren();
    state.tabs.forEach((head, i) => {
      const button = el('button', { type: 'button', 'data-testid': 'evidence-head', 'data-head': head, title: 'Shortcut: ' + (i + 1) },
        el('kbd', { text: String(i + 1) }), ' ' + head);
      button.addEventListener('click', () => showHead(head));
      tabs.append(button);
    });
    renderEvidence();
    renderPredictions(predictions);
    renderSla(response.sla || {}, decision.sla_state);
    renderRules(((response.explanation || {}).rules) || []);
    renderHistory(decision.feedback || []);
    fillForm(decision);
  }

  function showHead(head) {
    if (!state.decision || !state.tabs.includes(head)) return;
    state.head = head;
    renderEvidence();
  }

  function renderEvidence() {
    const decision = state.decision;
    const request = decision.request || {};
    const response = decision.response || {};
    const evidence = ((response.explanation || {}).evidence || {})[state.head] || [];
    const prediction = (response.predictions || {})[state.head] || {};
    const max = evidence.reduce((m, e) => Math.max(m, Math.abs(Number(e.weight) || 0)), 0);
    const cue = POLICY_EVIDENCE.includes(state.head) && !(state.head in (response.predictions || {}));
    const context = { head: state.head, label: cue ? state.head + ' words' : prediction.label, max, cue };
    fillField($('ticket-subject'), request.subject || '', evidence.filter((e) => e.field === 'subject'), context);
    fillField($('ticket-body'), request.body || '', evidence.filter((e) => e.field === 'body'), context);
    $('evidence-note').textContent = evidenceNote(response, prediction, cue);
    for (const button of $('evidence-heads').children) {
      button.setAttribute('aria-pressed', button.dataset.head === state.head ? 'true' : 'false');
    }
  }

  /** What the highlighted words are: a label recalled from a past ticket came from that ticket,
   * not from these words; severity and impact words say which rule step read them. */
  function evidenceNote(response, prediction, cue) {
    if (cue) {
      const step = (((response.explanation || {}).rules) || []).find((r) => r.rule === state.head) || {};
      return 'Highlighted: the words that set the ' + state.head + ' (' + (step.matched || '') + ').';
    }
    if (prediction.recalled) {
      return 'This label was taken from past ticket ' + prediction.recalled.ticket + ' (' + score(prediction.recalled.similarity) +
        ' similar), not from the words of this ticket.';
    }
    return '';
  }

  /** Writes `text` into `node` as text nodes, wrapping each evidence phrase in a span. Spans
   * that fall outside the text or overlap a stronger one are left out. */
  function fillField(node, text, evidence, context) {
    const chars = Array.from(text);
    const taken = [];
    const strongest = evidence.slice().sort((a, b) => Math.abs(b.weight) - Math.abs(a.weight));
    for (const e of strongest) {
      const start = e.start;
      const end = e.end;
      if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > chars.length || start >= end) continue;
      if (taken.some((t) => start < t.end && t.start < end)) continue;
      taken.push({ start, end, weight: Number(e.weight) || 0 });
    }
    taken.sort((a, b) => a.start - b.start);
    const parts = [];
    let at = 0;
    for (const span of taken) {
      if (span.start > at) parts.push(document.createTextNode(chars.slice(at, span.start).join('')));
      const positive = span.weight >= 0;
      const strength = context.max > 0 ? Math.abs(span.weight) / context.max : 0;
      const direction = positive ? 'towards' : 'away from';
      const mark = el('span', {
        class: 'evidence ' + (context.cue ? 'cue' : positive ? 'pos' : 'neg'),
        'data-testid': 'evidence',
        'data-head': context.head,
        'data-weight': String(span.weight),
        'data-start': span.start,
        'data-end': span.end,
        title: context.cue ? context.label : context.head + ': ' + signed(span.weight) + ' (' + direction + ' ' + (context.label || 'the label') + ')',
        text: chars.slice(span.start, span.end).join(''),
      });
      // CSSOM, not a style attribute: allowed under `style-src 'self'`.
      mark.style.setProperty('--alpha', (0.12 + 0.58 * strength).toFixed(3));
      parts.push(mark);
      at = span.end;
    }
    if (at < chars.length) parts.push(document.createTextNode(chars.slice(at).join('')));
    node.replaceChildren(...parts);
  }

  function renderPredictions(predictions) {
    const body = $('predictions').tBodies[0];
    body.replaceChildren();
    for (const head of state.heads) {
      const p = predictions[head] || {};
      const alternatives = (p.top || []).filter((t) => t.label !== p.label).map((t) => t.label + ' ' + score(t.score)).join(', ');
      const headButton = el('button', { type: 'button', class: 'link', title: 'Show the evidence for ' + head, text: head });
      headButton.addEventListener('click', () => showHead(head));
      body.append(el('tr', { 'data-testid': 'prediction-row', 'data-head': head },
        el('td', null, headButton),
        el('td', { 'data-testid': 'prediction-label' }, el('strong', { text: p.label || '—' }),
          p.abstained ? el('span', { class: 'abstained', title: 'Below the abstain threshold: the policy did not rely on it', text: ' abstained' }) : null,
          p.recalled ? el('span', { class: 'recalled', 'data-testid': 'prediction-recalled', title: 'The label of the most similar past ticket, similar enough to prefer it', text: ' like past ticket ' + p.recalled.ticket + ' (' + score(p.recalled.similarity) + ' similar)' }) : null),
        el('td', { class: 'num', text: score(p.score) }),
        el('td', { class: 'band-' + String(p.band || '').replace(/[^a-z]/g, ''), text: p.band || '—' }),
        el('td', { class: 'alts', text: alternatives || '—' })));
    }
  }

  /** One SLA target as it stands: met or breached once stopped, else how much is used and
   * when it is due. */
  function targetState(target) {
    const used = target.percent_used + '% used';
    if (target.met === true) return ['met, ' + used];
    if (target.met === false) return ['breached, ' + used];
    const paused = target.paused ? 'paused, ' : '';
    return [(target.breached ? 'breached, ' : paused + 'running, ') + used + ', due ', time(target.due)];
  }

  function renderSla(sla, now) {
    const list = $('sla');
    list.replaceChildren();
    metaItem(list, 'Policy', sla.policy);
    metaItem(list, 'Calendar', sla.calendar);
    if (sla.started_at) metaItem(list, 'Clock started', time(sla.started_at));
    const dues = [['First response due', sla.first_response_due], ['Next response due', sla.next_response_due], ['Resolution due', sla.resolution_due]];
    for (const [term, iso] of dues) {
      if (!iso) {
        metaItem(list, term, el('span', { class: 'muted', text: 'no target' }));
        continue;
      }
      const overdue = Date.parse(iso) < Date.now();
      metaItem(list, term, el('span', { class: overdue ? 'overdue' : '', 'data-testid': 'sla-due' },
        time(iso), ' ', el('span', { class: 'rel', text: '(' + relative(iso) + ')' })));
    }
    // What the helpdesk's events say since (GET /v1/decisions/{id} computes it).
    if (!now) return;
    metaItem(list, 'Status', el('strong', { 'data-testid': 'ticket-status', text: now.status.replace(/_/g, ' ') }));
    metaItem(list, 'Queue now', now.queue);
    metaItem(list, 'Priority now', now.priority);
    for (const [term, target] of [['First response', now.first_response], ['Resolution', now.resolution]]) {
      if (!target) continue;
      metaItem(list, term, el('span', { class: target.breached ? 'overdue' : '', 'data-testid': 'sla-state' }, ...targetState(target)));
    }
    if (now.csat) metaItem(list, 'Satisfaction', now.csat + ' / 5');
  }

  function renderRules(rules) {
    const body = $('rules').tBodies[0];
    body.replaceChildren();
    for (const step of rules) {
      body.append(el('tr', { class: step.hit ? 'hit' : 'miss', 'data-testid': 'rule-row', 'data-hit': step.hit ? 'true' : 'false' },
        el('td', { class: 'hit-mark', title: step.hit ? 'matched' : 'did not match', text: step.hit ? '✓' : '' }),
        el('td', { text: step.rule }),
        el('td', { text: step.matched }),
        el('td', { text: step.effect || '—' })));
    }
    if (rules.length === 0) body.append(el('tr', null, el('td', { colspan: 4, class: 'muted', text: 'No rules recorded.' })));
  }

  function renderHistory(feedback) {
    const list = $('feedback-history');
    list.replaceChildren();
    for (const f of feedback.slice().reverse()) {
      const changes = formFields().filter((k) => f[k]).map((k) => k + ' → ' + f[k]).join(', ');
      list.append(el('li', { 'data-testid': 'feedback-version', 'data-version': f.version },
        el('strong', { text: 'v' + f.version }), ' ', time(f.created_at), ' by ', el('strong', { text: f.reviewer }),
        changes ? ': ' + changes : '',
        f.note ? el('div', { class: 'note', text: f.note }) : null));
    }
  }

  /** The priority and labels as decided: the policy's level and each head's label. */
  function decidedValues(decision) {
    const response = decision.response || {};
    const values = { priority: (response.priority || {}).level || decision.priority };
    for (const [head, p] of Object.entries(response.predictions || {})) values[head] = p.label;
    return values;
  }

  /** The labels as they stand: as decided, with every feedback version merged over them (a
   * later version keeps what it leaves out, as the server merges them). */
  function currentValues(decision) {
    const values = decidedValues(decision);
    for (const f of decision.feedback || []) {
      for (const field of formFields()) if (f[field]) values[field] = f[field];
    }
    return values;
  }

  function fillForm(decision) {
    const values = currentValues(decision);
    const response = decision.response || {};
    const labels = state.labels || {};
    for (const field of formFields()) {
      const select = $('fb-' + field);
      select.replaceChildren();
      select.classList.remove('changed', 'invalid');
      let options;
      if (field === 'priority') {
        options = (labels.priorities || []).map((p) => [p.level, p.level + ' ' + p.name]);
      } else {
        const fromModel = ((response.predictions || {})[field] || {}).top || [];
        const names = (labels.heads || {})[field] || fromModel.map((t) => t.label);
        options = names.map((name) => [name, name]);
      }
      const current = values[field];
      if (current && !options.some(([value]) => value === current)) options.unshift([current, current]);
      for (const [value, text] of options) select.append(el('option', { value, text }));
      select.disabled = options.length === 0;
      select.dataset.current = current || '';
      if (current) select.value = current;
    }
    $('fb-reviewer').classList.remove('invalid');
    $('fb-note').classList.remove('invalid');
  }

  function setStatus(text, kind) {
    const status = $('fb-status');
    status.textContent = text;
    status.className = kind || '';
  }

  async function submitFeedback(confirmAll) {
    const decision = state.decision;
    if (!decision || $('fb-submit').disabled) return;
    const reviewerInput = $('fb-reviewer');
    const reviewer = reviewerInput.value.trim();
    for (const node of $('fb-form').querySelectorAll('.invalid')) node.classList.remove('invalid');
    if (!reviewer) {
      reviewerInput.classList.add('invalid');
      setStatus('Enter your name as reviewer.', 'error');
      reviewerInput.focus();
      return;
    }
    localStorage.setItem(REVIEWER_STORE, reviewer);
    const body = { reviewer, note: $('fb-note').value };
    for (const field of formFields()) {
      const select = $('fb-' + field);
      if (select.disabled) continue;
      if (confirmAll || select.value !== select.dataset.current) body[field] = select.value;
    }
    const id = decision.decision_id;
    $('fb-submit').disabled = true;
    $('fb-confirm').disabled = true;
    setStatus('Saving…', '');
    try {
      const saved = await api('/v1/decisions/' + encodeURIComponent(id) + '/feedback', { method: 'POST', body });
      setStatus('Saved as version ' + saved.version, 'ok');
      $('fb-note').value = '';
      // Back to the queue's keys: j / k must move the cursor, not type into the note.
      if (document.activeElement instanceof HTMLElement && $('fb-form').contains(document.activeElement)) {
        document.activeElement.blur();
      }
      markReviewed(id);
      const fresh = await api('/v1/decisions/' + encodeURIComponent(id));
      if (state.openId === id) renderDecision(fresh);
    } catch (e) {
      setStatus(e.message, 'error');
      const fieldInput = e.field && $('fb-' + e.field);
      if (fieldInput) {
        fieldInput.classList.add('invalid');
        fieldInput.focus();
      }
    } finally {
      $('fb-submit').disabled = false;
      $('fb-confirm').disabled = false;
    }
  }

  function markReviewed(id) {
    state.items.forEach((item, index) => {
      if (item.decision_id !== id) return;
      item.reviewed = true;
      const row = rows()[index];
      if (!row) return;
      row.dataset.reviewed = 'true';
      const mark = row.querySelector('.row-mark');
      mark.textContent = '✓ reviewed';
      mark.classList.add('reviewed');
    });
  }

  // ---- keyboard ---------------------------------------------------------------------------

  function showHelp() {
    const dialog = $('help');
    if (!dialog.open) dialog.showModal();
  }

  function onKey(event) {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      if (state.decision) {
        event.preventDefault();
        submitFeedback(false);
      }
      return;
    }
    if ($('help').open || event.altKey || event.ctrlKey || event.metaKey || event.isComposing) return;
    const target = event.target;
    if (target instanceof Element && target.closest('input, textarea, select, [contenteditable]')) return;
    const onControl = target instanceof Element && target.closest('button, a, summary');
    switch (event.key) {
      case 'j':
        move(1);
        break;
      case 'k':
        move(-1);
        break;
      case 'Enter': {
        if (onControl) return; // let the focused button do its own thing
        const item = state.items[state.selected];
        if (!item) return;
        openDecision(item.decision_id);
        break;
      }
      case '1':
      case '2':
      case '3':
      case '4':
      case '5': {
        const head = state.tabs[Number(event.key) - 1];
        if (!head) return;
        showHead(head);
        break;
      }
      case 's': {
        if (!state.decision) return;
        // The form's first field still to fill: the reviewer's name, else the first label.
        const first = $('fb-reviewer').value.trim() ? $('fb-priority') : $('fb-reviewer');
        first.focus();
        first.scrollIntoView({ block: 'nearest' });
        break;
      }
      case '/':
        $('filter-queue').focus();
        break;
      case '?':
        showHelp();
        break;
      default:
        return;
    }
    event.preventDefault();
  }

  // ---- start ------------------------------------------------------------------------------

  function openFromHash() {
    const id = decodeURIComponent(location.hash.slice(1));
    if (id && id !== state.openId) openDecision(id);
  }

  function init() {
    const keyInput = $('api-key');
    keyInput.value = sessionStorage.getItem(KEY_STORE) || '';
    $('api-key-form').classList.toggle('active', Boolean(keyInput.value));
    $('api-key-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const key = keyInput.value.trim();
      if (key) sessionStorage.setItem(KEY_STORE, key);
      else sessionStorage.removeItem(KEY_STORE);
      $('api-key-form').classList.toggle('active', Boolean(key));
      keyInput.blur();
      reload();
    });
    $('api-key-clear').addEventListener('click', () => {
      sessionStorage.removeItem(KEY_STORE);
      keyInput.value = '';
      $('api-key-form').classList.remove('active');
      reload();
    });

    $('filters').addEventListener('submit', (event) => {
      event.preventDefault();
      loadQueue(false);
    });
    $('filter-review').addEventListener('change', () => loadQueue(false));
    $('filter-priority').addEventListener('change', () => loadQueue(false));
    $('queue-more').addEventListener('click', () => loadQueue(true));

    $('fb-reviewer').value = localStorage.getItem(REVIEWER_STORE) || '';
    $('fb-form').addEventListener('submit', (event) => {
      event.preventDefault();
      submitFeedback(false);
    });
    $('fb-confirm').addEventListener('click', () => submitFeedback(true));
    highlightChanges($('fb-priority'));

    $('help-open').addEventListener('click', showHelp);
    document.addEventListener('keydown', onKey);
    window.addEventListener('hashchange', openFromHash);

    reload();
    openFromHash();
  }

  function reload() {
    state.labelsLoaded = loadLabels();
    loadQueue(false);
    if (state.openId) openDecision(state.openId);
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
