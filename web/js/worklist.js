// worklist.js — the worklist: most urgent first, then oldest; re-read whenever the live socket says
// the queue changed (every 30 s instead while it is down); a critical recording that arrives while
// the page is open raises the banner and a beep.
import * as api from './api.js';
import { pick, t } from './i18n.js';
import { PRIORITY_CLASS, age, el, priorityName, reviewName, when } from './labels.js';
import { serially } from './serial.js';

const FALLBACK_MS = 30000; // polling while the live socket is down

/** Most urgent first, then oldest first (the server's order too, kept here whatever it sends). */
export function sortItems(items) {
  return [...items].sort((a, b) => a.priority - b.priority || a.received_ms - b.received_ms || a.id - b.id);
}

/** Three short tones through WebAudio; false when the browser gives the page no sound (no audio
 * device, or no user gesture yet to unlock it). */
export function beep(audio) {
  if (!audio || audio.state !== 'running') return false;
  const t0 = audio.currentTime;
  for (let i = 0; i < 3; i++) {
    const osc = audio.createOscillator(), gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.0001, t0 + i * 0.3);
    gain.gain.exponentialRampToValueAtTime(0.3, t0 + i * 0.3 + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t0 + i * 0.3 + 0.2);
    osc.connect(gain).connect(audio.destination);
    osc.start(t0 + i * 0.3);
    osc.stop(t0 + i * 0.3 + 0.22);
  }
  return true;
}

export class Worklist {
  /** ELS: {body, empty, updated, priority, review, banner, bannerText, bannerOpen}; OPEN(id) opens a
   * recording; AUDIO(): the page's AudioContext (or null); ON_ERROR(message); ON_LOADED() after
   * every successful re-read (what follows the worklist re-reads too). */
  constructor(els, open, audio, onError, onLoaded = () => {}) {
    this.els = els;
    this.open = open;
    this.audio = audio;
    this.onError = onError;
    this.onLoaded = onLoaded;
    this.known = null; // ids of critical recordings seen in this page session (null: none read yet)
    this.seenAt = new Map(); // id -> Date.now() when a worklist answer first held it
    this.items = null;
    this.alert = null; // {r, more}: what the banner shows
    this.updatedAt = 0;
    this.live = false;
    this.running = false;
    this.timer = null;
    /** Re-reads the worklist; a call while one runs makes exactly one more run after it. */
    this.refresh = serially(() => this.load(), () => this.running);
    els.priority.addEventListener('change', () => this.refresh());
    els.review.addEventListener('change', () => this.refresh());
    const openAlert = () => {
      if (!this.alert) return;
      els.banner.hidden = true;
      this.open(this.alert.r.id);
    };
    els.bannerOpen.addEventListener('click', openAlert);
    els.bannerText.addEventListener('click', openAlert);
  }

  start() {
    this.running = true;
    this.refresh();
    this.setLive(this.live);
  }

  stop() {
    this.running = false;
    clearInterval(this.timer);
    this.timer = null;
  }

  /** The live socket opened (LIVE true: no polling) or dropped (poll every 30 s meanwhile). */
  setLive(live) {
    this.live = live;
    clearInterval(this.timer);
    this.timer = null;
    if (this.running && !live) this.timer = setInterval(() => this.refresh(), FALLBACK_MS);
  }

  /** Forgets what this page session saw (a new login). */
  reset() {
    this.known = null;
    this.seenAt.clear();
    this.items = null;
    this.alert = null;
    this.els.banner.hidden = true;
  }

  async load() {
    let items;
    try {
      items = await api.worklist({ priority: this.els.priority.value, review: this.els.review.value });
    } catch (e) {
      if (e.status !== 401) this.onError(t('worklist.error', { message: e.message }));
      return;
    }
    const now = Date.now();
    for (const r of items) if (!this.seenAt.has(r.id)) this.seenAt.set(r.id, now);
    this.render(sortItems(items));
    this.updatedAt = now;
    this.renderUpdated();
    this.onLoaded();
    // Critical recordings not yet read, whatever the filters show, are what the banner is for.
    let critical = items;
    if (this.els.priority.value || this.els.review.value) {
      try {
        critical = await api.worklist({ priority: 'critical', review: 'new' });
      } catch {
        return;
      }
    }
    this.announce(critical.filter((r) => r.priority === 0 && r.review === 'new'));
  }

  announce(critical) {
    if (this.known === null) {
      // What waits at login is on the list, red and first; the alarm is for what arrives meanwhile.
      this.known = new Set(critical.map((r) => r.id));
      return;
    }
    const fresh = critical.filter((r) => !this.known.has(r.id));
    for (const r of critical) this.known.add(r.id);
    if (!fresh.length) return;
    this.alert = { r: fresh[0], more: fresh.length - 1 };
    this.renderBanner();
    const { banner } = this.els;
    banner.hidden = false;
    banner.dataset.recording = String(fresh[0].id);
    banner.dataset.shownMs = String(Date.now());
    banner.dataset.beeped = String(beep(this.audio()));
  }

  renderBanner() {
    if (!this.alert) return;
    const { r, more } = this.alert;
    const reasons = (r.flags || []).filter((f) => f.priority === 0).map((f) => pick(f, 'reason'));
    this.els.bannerText.textContent =
      `${t('banner.critical')}: ${r.site} · ${r.patient_id || r.recording} — ${reasons.join('; ') || t('banner.criticalFallback')}` +
      (more > 0 ? ` (${t('banner.more', { n: more })})` : '');
  }

  renderUpdated() {
    if (this.updatedAt) this.els.updated.textContent = t('worklist.updated', { time: when(this.updatedAt).slice(11) });
  }

  /** Draws again in the current language (after a switch). */
  rerender() {
    if (this.items) this.render(this.items);
    this.renderUpdated();
    this.renderBanner();
  }

  render(items) {
    this.items = items;
    const { body, empty } = this.els;
    body.replaceChildren();
    empty.hidden = items.length > 0;
    const now = Date.now();
    for (const r of items) {
      const cls = PRIORITY_CLASS[r.priority] || PRIORITY_CLASS[3];
      const tr = el('tr', cls);
      tr.dataset.id = r.id;
      tr.dataset.seenMs = String(this.seenAt.get(r.id) || now);
      tr.tabIndex = 0;
      tr.setAttribute('aria-label', `${priorityName(r.priority)}: ${r.site} ${r.patient_id || ''} ${r.recording}`);
      tr.append(el('td', null, priorityName(r.priority)));
      const waited = el('td', null, age(r.received_ms, now));
      waited.title = when(r.received_ms);
      tr.append(waited);
      tr.append(el('td', null, r.site));
      tr.append(el('td', null, r.patient_id || '—'));
      const rec = el('td');
      rec.append(el('span', null, r.recording));
      rec.append(el('span', 'muted', ` · ${r.device} · ${t('worklist.leads', { n: r.nleads })} · ${(r.samples / r.fs).toFixed(0)} s · ${r.mode}`));
      tr.append(rec);
      let review = reviewName(r.review);
      if (r.claimed_by) review += ` (${r.claimed_by})`;
      if (r.state === 'receiving') review += ` · ${t('worklist.receiving')}`;
      tr.append(el('td', null, review));
      const flags = el('td');
      for (const f of r.flags || []) {
        const reason = el('span', 'reason', pick(f, 'reason'));
        reason.title = f.code;
        flags.append(reason);
      }
      if (r.review === 'repeat' && r.repeat_reason) flags.append(el('span', 'reason', t('worklist.repeatReason', { reason: r.repeat_reason })));
      tr.append(flags);
      tr.addEventListener('click', () => this.open(r.id));
      tr.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          this.open(r.id);
        }
      });
      body.append(tr);
    }
  }
}
