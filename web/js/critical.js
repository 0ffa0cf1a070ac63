// critical.js — critical values (危急值, docs/api.md section 14): the viewer's panel (a cardiologist
// confirms one and records whom at the clinic they told and when; everyone sees its state; the
// clinic acknowledges it) and the red notices above the page (a clinic's open ones, with the
// acknowledgement; the escalated ones, for every cardiologist), re-read with the worklist.
import * as api from './api.js';
import { pick, t } from './i18n.js';
import { el, shortTime, when } from './labels.js';
import { serially } from './serial.js';
import { beep } from './worklist.js';

/** "YYYY-MM-DDTHH:MM" of MS in local time: the value of an <input type="datetime-local">. */
export function toLocalInput(ms) {
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** Unix ms of a datetime-local VALUE (local time), or NaN. */
export function fromLocalInput(value) {
  // Without an offset the date-time form is local time (ECMAScript's Date.parse).
  return /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?$/.test(value) ? new Date(value).getTime() : NaN;
}

/** The patient as a notice names it; a recording without a patient id by its number. */
const patientOf = (n) => n.patient_id || t('crit.noPatient', { id: n.recording });

/** The state of notice N: "open", "escalated" (open and escalated) or "acked". */
export function noticeState(n) {
  if (n.acked_ms) return 'acked';
  return n.escalated_ms ? 'escalated' : 'open';
}

const sameNotice = (a, b) =>
  !!a && !!b && a.recording === b.recording && a.acked_ms === b.acked_ms && a.escalated_ms === b.escalated_ms && a.due_ms === b.due_ms;

export class CriticalPanel {
  /** ELS: {card, form, finding, notified, time, confirm, notice, ack, error}; ON_CHANGE(notice)
   * after a notice was confirmed or acknowledged here. */
  constructor(els, onChange) {
    this.els = els;
    this.onChange = onChange;
    this.rec = null;
    this.busy = false;
    els.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.confirm();
    });
    // What the reader typed is theirs: a language switch re-fills only what was not edited.
    els.finding.addEventListener('input', () => (this.findingEdited = true));
    els.time.addEventListener('input', () => (this.timeEdited = true));
    els.ack.addEventListener('click', () => this.ack());
  }

  /** Shows the critical value of DETAIL (GET /api/recordings/{id}) for USER ({name, role, site}). */
  show(detail, user) {
    this.rec = detail.recording;
    this.flags = detail.flags || [];
    this.notice = detail.critical || null;
    this.user = user;
    this.findingEdited = false;
    this.timeEdited = false;
    this.els.notified.value = '';
    this.els.error.textContent = '';
    this.render();
  }

  /** Nothing shown (no recording open). */
  close() {
    this.rec = null;
    this.notice = null;
  }

  /** Draws again in the current language (after a switch). */
  rerender() {
    if (this.rec) this.render();
  }

  /** Notice N (a newer state of this recording's, from elsewhere) replaces the one shown. */
  update(n) {
    if (!this.rec || !n || n.recording !== this.rec.id || sameNotice(n, this.notice)) return;
    this.notice = n;
    this.els.error.textContent = '';
    this.render();
  }

  /** OPEN: the open notices just read (GET /api/critical?open=1). Follows what changed elsewhere:
   * confirmed by a colleague, escalated, or acknowledged (it left the open list: the recording is
   * read again once, for who acknowledged it and when). */
  follow(open) {
    if (!this.rec) return;
    const id = this.rec.id;
    const n = open.find((x) => x.recording === id);
    if (n) {
      this.update(n);
      return;
    }
    if (!this.notice || this.notice.acked_ms || this.refetching === id) return;
    this.refetching = id;
    api
      .recording(id)
      .then((d) => {
        if (this.rec && this.rec.id === id && d.critical) this.update(d.critical);
      })
      .catch(() => {})
      .finally(() => {
        if (this.refetching === id) this.refetching = null;
      });
  }

  mostUrgentReason() {
    const f = this.flags.find((x) => x.priority === 0);
    return f ? pick(f, 'reason') : '';
  }

  render() {
    const { els, notice, user } = this;
    const cardio = user.role === 'cardiologist';
    els.card.hidden = !notice && !cardio; // only a cardiologist confirms one
    els.card.dataset.recording = String(this.rec.id);
    els.card.dataset.state = notice ? noticeState(notice) : 'none';
    els.form.hidden = !!notice || !cardio;
    els.notice.hidden = !notice;
    els.ack.hidden = !notice || !!notice.acked_ms || user.role !== 'clinic' || user.site !== notice.site;
    if (!notice) {
      if (!this.findingEdited) els.finding.value = this.mostUrgentReason();
      if (!this.timeEdited) els.time.value = toLocalInput(Date.now());
      return;
    }
    const dl = els.notice;
    dl.replaceChildren();
    const row = (k, v, cls) => {
      dl.append(el('dt', null, k));
      dl.append(el('dd', cls, v));
    };
    row(t('crit.findingLabel'), notice.finding);
    row(t('crit.confirmedBy'), t('crit.byWhen', { name: notice.confirmed_by, when: when(notice.confirmed_ms) }));
    row(t('crit.told'), t('crit.byWhen', { name: notice.notified, when: when(notice.notified_ms) }));
    const state = noticeState(notice);
    if (state === 'acked') {
      row(t('crit.status'), t('crit.acked', { name: notice.acked_by, when: when(notice.acked_ms) }), 'crit-acked');
      if (notice.escalated_ms) row('', t('crit.escalatedNote', { time: shortTime(notice.escalated_ms) }), 'muted');
    } else if (state === 'escalated') {
      row(t('crit.status'), t('crit.escalated', { due: shortTime(notice.due_ms), time: shortTime(notice.escalated_ms) }), 'crit-escalated');
    } else {
      row(t('crit.status'), t('crit.awaiting', { time: shortTime(notice.due_ms) }), 'crit-awaiting');
    }
  }

  async confirm() {
    const { els } = this;
    if (this.busy || !this.rec) return;
    els.error.textContent = '';
    const finding = els.finding.value.trim(), notified = els.notified.value.trim();
    let at = null; // not edited: the moment of confirming (the server's clock)
    if (this.timeEdited) at = fromLocalInput(els.time.value);
    const problem = !finding ? 'crit.needFinding' : !notified ? 'crit.needNotified' : Number.isNaN(at) ? 'crit.badTime' : null;
    if (problem) {
      els.error.textContent = t(problem);
      (problem === 'crit.needFinding' ? els.finding : problem === 'crit.needNotified' ? els.notified : els.time).focus();
      return;
    }
    const id = this.rec.id;
    this.busy = true;
    els.confirm.disabled = true;
    try {
      const n = await api.confirmCritical(id, finding, notified, at);
      if (this.rec && this.rec.id === id) {
        this.notice = n;
        this.render();
      }
      this.onChange(n);
    } catch (e) {
      els.error.textContent = e.message;
    } finally {
      this.busy = false;
      els.confirm.disabled = false;
    }
  }

  async ack() {
    if (!this.notice || this.busy) return;
    const id = this.notice.recording;
    this.busy = true;
    this.els.error.textContent = '';
    try {
      const n = await api.ackCritical(id);
      this.update(n);
      this.onChange(n);
    } catch (e) {
      this.els.error.textContent = e.message;
    } finally {
      this.busy = false;
    }
  }
}

export class CriticalAlerts {
  /** ELS: {box, list}: the red notices above the page. AUDIO(): the page's AudioContext (or
   * null); OPEN(id) opens a recording; ON_NOTICES(open) after every read of the open notices (the
   * viewer's panel follows them); ON_ACK(notice) after an acknowledgement made here;
   * ON_ERROR(message). */
  constructor(els, audio, open, onNotices, onAck, onError) {
    this.els = els;
    this.audio = audio;
    this.open = open;
    this.onNotices = onNotices;
    this.onAck = onAck;
    this.onError = onError;
    this.user = null;
    this.items = [];
    this.known = null; // recordings whose notice this page session has shown (null: none read yet)
    this.failed = new Map(); // recording -> the message of a refused acknowledgement
    /** Re-reads the open notices; a call while one runs makes exactly one more run after it. */
    this.refresh = serially(async () => {
      if (this.concerned()) await this.load();
    });
  }

  /** For USER, just logged in: what waits now is shown at once, without a beep. */
  start(user) {
    this.user = user;
    this.known = null;
    this.items = [];
    this.failed.clear();
    this.render();
    this.refresh();
  }

  stop() {
    this.user = null;
    this.items = [];
    this.known = null;
    this.render();
  }

  /** Only clinics (their open notices) and cardiologists (the escalated ones) are shown any. */
  concerned() {
    return !!this.user && (this.user.role === 'clinic' || this.user.role === 'cardiologist');
  }

  async load() {
    const user = this.user;
    let open;
    try {
      open = await api.criticalNotices(true);
    } catch (e) {
      if (e.status !== 401) this.onError(t('crit.listError', { message: e.message }));
      return;
    }
    if (user !== this.user) return; // logged out (or in as another) meanwhile
    this.onNotices(open);
    // A clinic acknowledges its own; every cardiologist is shown those the clinic left too long.
    const items = user.role === 'clinic' ? open : open.filter((n) => n.escalated_ms);
    const ids = new Set(items.map((n) => n.recording));
    for (const id of [...this.failed.keys()]) if (!ids.has(id)) this.failed.delete(id);
    const fresh = this.known === null ? [] : items.filter((n) => !this.known.has(n.recording));
    if (this.known === null) this.known = new Set();
    for (const id of ids) this.known.add(id);
    // Drawn again only when something changed: the banner is an alert region, and a screen reader
    // would read an unchanged one out again on every worklist message.
    const key = JSON.stringify(items.map((n) => [n.recording, n.escalated_ms, n.acked_ms]));
    this.items = items;
    if (key !== this.drawn) this.render();
    if (fresh.length) {
      const { box } = this.els;
      box.dataset.newest = String(fresh[0].recording);
      box.dataset.shownMs = String(Date.now());
      box.dataset.beeped = String(beep(this.audio()));
    }
  }

  /** Draws again in the current language (after a switch). */
  rerender() {
    this.render();
  }

  render() {
    const { box, list } = this.els;
    this.drawn = JSON.stringify(this.items.map((n) => [n.recording, n.escalated_ms, n.acked_ms]));
    list.replaceChildren();
    box.hidden = !this.user || this.items.length === 0;
    if (!this.user) return;
    const clinic = this.user.role === 'clinic';
    box.dataset.kind = clinic ? 'clinic' : 'escalated';
    for (const n of this.items) {
      const li = el('li');
      li.dataset.recording = String(n.recording);
      const vars = {
        site: n.site,
        patient: patientOf(n),
        finding: n.finding,
        by: n.confirmed_by,
        time: shortTime(n.confirmed_ms),
        notified: n.notified,
      };
      li.append(el('span', 'crit-text', t(clinic ? 'crit.bannerClinic' : 'crit.bannerEscalated', vars)));
      const link = el('a', 'crit-open', t('crit.open'));
      link.href = `#/recording/${n.recording}`;
      link.addEventListener('click', (e) => {
        e.preventDefault();
        this.open(n.recording);
      });
      li.append(link);
      if (clinic) {
        const b = el('button', 'crit-ack', t('crit.ack'));
        b.type = 'button';
        b.addEventListener('click', () => this.ack(n, b));
        li.append(b);
      }
      if (this.failed.has(n.recording)) li.append(el('span', 'crit-error', t('crit.ackFailed', { message: this.failed.get(n.recording) })));
      list.append(li);
    }
  }

  /** The clinic acknowledges notice N (BUTTON: its button); it leaves the list. */
  async ack(n, button) {
    button.disabled = true;
    try {
      const done = await api.ackCritical(n.recording);
      this.failed.delete(n.recording);
      this.items = this.items.filter((x) => x.recording !== n.recording);
      this.render();
      this.onAck(done);
    } catch (e) {
      if (e.status === 409) {
        // A colleague at the clinic was quicker: it is acknowledged, which is what counts.
        this.items = this.items.filter((x) => x.recording !== n.recording);
        this.onError(e.message);
      } else {
        this.failed.set(n.recording, e.message);
      }
      this.render();
      if (e.status === 409) this.refresh();
    }
  }
}
