// worklist.js — the worklist: most urgent first, then oldest; refreshed every 5 s; a new critical
// recording raises the banner and a beep.
import * as api from './api.js';
import { PRIORITY, REVIEW, age, el, when } from './labels.js';

const REFRESH_MS = 5000;

/** Most urgent first, then oldest first (the server's order too, kept here whatever it sends). */
export function sortItems(items) {
  return [...items].sort((a, b) => a.priority - b.priority || a.received_ms - b.received_ms || a.id - b.id);
}

/** Three short tones through WebAudio; false when the browser gives the page no sound (no audio
 * device, or no user gesture yet to unlock it). */
export function beep(audio) {
  if (!audio || audio.state !== 'running') return false;
  const t = audio.currentTime;
  for (let i = 0; i < 3; i++) {
    const osc = audio.createOscillator(), gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.0001, t + i * 0.3);
    gain.gain.exponentialRampToValueAtTime(0.3, t + i * 0.3 + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + i * 0.3 + 0.2);
    osc.connect(gain).connect(audio.destination);
    osc.start(t + i * 0.3);
    osc.stop(t + i * 0.3 + 0.22);
  }
  return true;
}

export class Worklist {
  /** ELS: {body, empty, updated, priority, review, banner, bannerText, bannerOpen}; OPEN(id) opens a
   * recording; AUDIO(): the page's AudioContext (or null). */
  constructor(els, open, audio, onError) {
    this.els = els;
    this.open = open;
    this.audio = audio;
    this.onError = onError;
    this.known = null; // ids of critical recordings already announced
    this.timer = null;
    els.priority.addEventListener('change', () => this.refresh());
    els.review.addEventListener('change', () => this.refresh());
  }

  start() {
    this.stop();
    this.refresh();
    this.timer = setInterval(() => this.refresh(), REFRESH_MS);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
  }

  /** Forgets the announced recordings (a new login). */
  reset() {
    this.known = null;
  }

  async refresh() {
    let items;
    try {
      items = await api.worklist({ priority: this.els.priority.value, review: this.els.review.value });
    } catch (e) {
      if (e.status !== 401) this.onError(`工作列表 Worklist: ${e.message}`);
      return;
    }
    this.render(sortItems(items));
    this.els.updated.textContent = `更新于 Updated ${when(Date.now()).slice(11)}`;
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
    const first = this.known === null;
    if (first) this.known = new Set();
    const fresh = critical.filter((r) => !this.known.has(r.id));
    for (const r of critical) this.known.add(r.id);
    if (!fresh.length) return;
    const r = fresh[0];
    const reasons = (r.flags || []).filter((f) => f.priority === 0).map((f) => `${f.reason_zh} ${f.reason_en}`);
    const { banner, bannerText, bannerOpen } = this.els;
    bannerText.textContent =
      `危急值 Critical: ${r.site} · ${r.patient_id || r.recording} — ${reasons.join('; ') || '危急 critical'}` +
      (fresh.length > 1 ? ` (+${fresh.length - 1})` : '');
    bannerOpen.onclick = () => {
      banner.hidden = true;
      this.open(r.id);
    };
    banner.hidden = false;
    // The first load shows what waits without sounding: the sound is for what arrives meanwhile.
    if (!first) banner.dataset.beeped = String(beep(this.audio()));
  }

  render(items) {
    const { body, empty } = this.els;
    body.replaceChildren();
    empty.hidden = items.length > 0;
    const now = Date.now();
    for (const r of items) {
      const p = PRIORITY[r.priority] || PRIORITY[3];
      const tr = el('tr', p.cls);
      tr.dataset.id = r.id;
      tr.tabIndex = 0;
      tr.setAttribute('aria-label', `${p.zh} ${p.en}: ${r.site} ${r.patient_id || ''} ${r.recording}`);
      tr.append(el('td', null, `${p.zh} ${p.en}`));
      const waited = el('td', null, age(r.received_ms, now));
      waited.title = when(r.received_ms);
      tr.append(waited);
      tr.append(el('td', null, r.site));
      tr.append(el('td', null, r.patient_id || '—'));
      const rec = el('td');
      rec.append(el('span', null, r.recording));
      rec.append(el('span', 'muted', ` · ${r.device} · ${r.nleads} 导联 leads · ${(r.samples / r.fs).toFixed(0)} s · ${r.mode}`));
      tr.append(rec);
      let review = REVIEW[r.review] || r.review;
      if (r.claimed_by) review += ` (${r.claimed_by})`;
      if (r.state === 'receiving') review += ' · 接收中 receiving';
      tr.append(el('td', null, review));
      const flags = el('td');
      for (const f of r.flags || []) {
        flags.append(el('span', 'reason', f.reason_zh));
        flags.append(el('span', 'reason reason-en', f.reason_en));
      }
      if (r.review === 'repeat' && r.repeat_reason) flags.append(el('span', 'reason', `重做原因 Repeat: ${r.repeat_reason}`));
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
