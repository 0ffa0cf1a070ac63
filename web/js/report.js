// report.js — the report editor: statements from web/statements.json plus free text; claim,
// release, save, sign (the password asked again), amend, "repeat the ECG" with a reason, and the
// signed report's downloads (PDF, HL7 v2, FHIR).
import * as api from './api.js';
import { lang, t } from './i18n.js';
import { el, reviewName, when } from './labels.js';

const MAX_STATEMENTS = 32;

let catalogue = null; // [{group: {zh, en}, zh, en, code, text}]

async function loadCatalogue() {
  if (catalogue) return catalogue;
  const res = await fetch('/statements.json', { cache: 'no-cache' });
  if (!res.ok) throw new Error(`statements.json: ${res.status}`);
  const json = await res.json();
  catalogue = [];
  for (const g of json.groups) {
    const group = { zh: g.zh, en: g.en };
    for (const s of g.statements)
      // A chosen statement is stored as "zh / en" whatever the interface language: a signed
      // report reads the same for every reader.
      catalogue.push({ group, code: s.code, zh: s.zh, en: s.en, text: `${s.zh} / ${s.en}` });
  }
  return catalogue;
}

/** Opens DIALOG and resolves to the value of INPUT when its form is submitted, or null. */
function ask(dialog, input, cancel) {
  return new Promise((resolve) => {
    input.value = '';
    const form = dialog.querySelector('form');
    const done = (v) => {
      form.removeEventListener('submit', submit);
      cancel.removeEventListener('click', no);
      dialog.removeEventListener('cancel', no);
      dialog.close();
      resolve(v);
    };
    const submit = (e) => {
      e.preventDefault();
      done(input.value);
    };
    const no = (e) => {
      e.preventDefault();
      done(null);
    };
    form.addEventListener('submit', submit);
    cancel.addEventListener('click', no);
    dialog.addEventListener('cancel', no);
    dialog.showModal();
    input.focus();
  });
}

export class ReportEditor {
  /** ELS: the report card's elements (see index.html); ON_CHANGE(item) when the recording's
   * review state changed (claim, release, sign, repeat). */
  constructor(els, onChange) {
    this.els = els;
    this.onChange = onChange;
    this.chosen = [];
    els.search.addEventListener('input', () => this.renderOptions());
    els.claim.addEventListener('click', () => this.act(() => api.claim(this.item.id), 'recording'));
    els.release.addEventListener('click', () => this.act(() => api.release(this.item.id), 'recording'));
    els.save.addEventListener('click', () => this.act(() => this.save(), 'report'));
    els.sign.addEventListener('click', () => this.signFlow());
    els.amend.addEventListener('click', () => this.amendFlow());
    els.repeat.addEventListener('click', () => this.repeatFlow());
  }

  /** Shows the report of DETAIL (GET /api/recordings/{id}) for USER ({name, role}). */
  async show(detail, user) {
    this.item = detail.recording;
    this.report = detail.report;
    this.user = user;
    this.chosen = this.report ? [...this.report.statements] : [];
    this.els.text.value = this.report ? this.report.text : '';
    this.els.error.textContent = '';
    try {
      await loadCatalogue();
    } catch (e) {
      this.els.error.textContent = t('report.catalogueError', { message: e.message });
      catalogue = catalogue || [];
    }
    this.render();
    this.loadHistory();
  }

  /** Draws the report card again in the current language (after a switch). */
  rerender() {
    if (!this.item) return;
    this.render();
    this.loadHistory();
  }

  mine() {
    return this.item.claimed_by === this.user.name;
  }

  render() {
    const { item, report, user, els } = this;
    const cardio = user.role === 'cardiologist';
    const editable = cardio && ((this.mine() && ['claimed', 'reported'].includes(item.review)) || item.review === 'signed');
    let state = t('report.stateReview', { review: reviewName(item.review) });
    if (item.claimed_by) state += ` · ${t('report.stateClaimedBy', { name: item.claimed_by })}`;
    if (report)
      state += ` · ${t('report.stateVersion', { v: report.version })} ${
        report.signed ? t('report.stateSigned', { name: report.signer, when: when(report.signed_ms) }) : t('report.stateDraft')
      }`;
    if (item.review === 'repeat') state += ` · ${t('report.stateRepeat', { reason: item.repeat_reason })}`;
    els.state.textContent = state;
    els.editor.hidden = !editable;
    els.readonly.hidden = editable;
    if (!editable) {
      els.readonly.replaceChildren();
      if (report) {
        const ol = el('ol');
        for (const s of report.statements) ol.append(el('li', null, s));
        els.readonly.append(ol);
        if (report.text) els.readonly.append(el('p', null, report.text));
      } else {
        els.readonly.append(el('p', 'muted', t('report.noReport')));
      }
    }
    const open = ['new', 'claimed', 'reported'].includes(item.review);
    els.claim.hidden = !cardio || !open || this.mine();
    els.release.hidden = !cardio || !this.mine() || !open;
    els.save.hidden = !cardio || !this.mine() || !['claimed', 'reported'].includes(item.review);
    els.sign.hidden = els.save.hidden;
    els.amend.hidden = !cardio || item.review !== 'signed';
    els.repeat.hidden = !cardio || !this.mine() || !['claimed', 'reported'].includes(item.review);
    // The exports send the latest signed version; the server answers 409 for anything else.
    const signed = item.review === 'signed' && !!report && report.signed;
    els.exports.hidden = !signed;
    for (const a of els.exports.querySelectorAll('a[data-format]'))
      if (signed) a.href = `/api/recordings/${item.id}/export.${a.dataset.format}`;
      else a.removeAttribute('href');
    this.renderChosen();
    this.renderOptions();
  }

  renderOptions() {
    const q = this.els.search.value.trim().toLowerCase();
    const list = this.els.options;
    list.replaceChildren();
    let group = null;
    for (const s of catalogue || []) {
      if (this.chosen.includes(s.text)) continue;
      if (q && !`${s.code} ${s.zh} ${s.en}`.toLowerCase().includes(q)) continue;
      if (s.group !== group) {
        group = s.group;
        list.append(el('li', 'group', group[lang()] || group.zh));
      }
      const li = el('li');
      const b = el('button', null, s.text);
      b.type = 'button';
      b.dataset.code = s.code;
      b.addEventListener('click', () => {
        if (this.chosen.length >= MAX_STATEMENTS) return;
        this.chosen.push(s.text);
        this.renderChosen();
        this.renderOptions();
      });
      li.append(b);
      list.append(li);
    }
  }

  renderChosen() {
    const ol = this.els.chosen;
    ol.replaceChildren();
    this.chosen.forEach((text, i) => {
      const li = el('li', null, text);
      const b = el('button', null, '×');
      b.type = 'button';
      b.setAttribute('aria-label', t('report.remove', { text }));
      b.addEventListener('click', () => {
        this.chosen.splice(i, 1);
        this.renderChosen();
        this.renderOptions();
      });
      li.append(b);
      ol.append(li);
    });
  }

  /** Runs CALL (an API request); its answer's KEY ("recording" or "report") updates the view. */
  async act(call, key) {
    this.els.error.textContent = '';
    try {
      const r = await call();
      if (key === 'recording' && r && r.recording) {
        this.item = r.recording;
        this.onChange(this.item);
      } else if (key === 'report' && r && r.report) {
        this.report = r.report;
        // The answer holds the report only; the recording's state follows from it (store.h).
        const review = this.report.signed ? 'signed' : 'reported';
        if (review !== this.item.review || this.report.signed) {
          this.item = { ...this.item, review, claimed_by: this.report.signed ? null : this.item.claimed_by };
          this.onChange(this.item);
        }
      }
      this.render();
      this.loadHistory();
      return true;
    } catch (e) {
      this.els.error.textContent = e.message;
      return false;
    }
  }

  save() {
    return api.saveReport(this.item.id, this.chosen, this.els.text.value);
  }

  async signFlow() {
    // What is on the screen is what gets signed: save it first.
    if (!(await this.act(() => this.save(), 'report'))) return;
    const pw = await ask(this.els.pwDialog, this.els.pwInput, this.els.pwCancel);
    if (pw === null) return;
    await this.act(() => api.sign(this.item.id, pw), 'report');
  }

  async amendFlow() {
    const pw = await ask(this.els.pwDialog, this.els.pwInput, this.els.pwCancel);
    if (pw === null) return;
    await this.act(() => api.amend(this.item.id, this.chosen, this.els.text.value, pw), 'report');
  }

  async repeatFlow() {
    const reason = await ask(this.els.repeatDialog, this.els.repeatInput, this.els.repeatCancel);
    if (!reason) return;
    await this.act(() => api.repeat(this.item.id, reason), 'recording');
  }

  async loadHistory() {
    const ol = this.els.history;
    try {
      const reps = await api.history(this.item.id);
      ol.replaceChildren();
      for (const r of reps) {
        const who = r.signed ? t('report.historySigned', { name: r.signer, when: when(r.signed_ms) }) : t('report.historyDraft', { name: r.author });
        const li = el('li', null, `v${r.version} · ${who}${r.amends ? ` · ${t('report.historyAmends', { v: r.amends })}` : ''}`);
        li.append(el('div', 'muted', [...r.statements, r.text].filter(Boolean).join('; ')));
        ol.append(li);
      }
      if (!reps.length) ol.append(el('li', 'muted', t('report.historyNone')));
    } catch (e) {
      ol.replaceChildren(el('li', 'error', e.message));
    }
  }
}
