// labels.js — the page's words for priorities, review states, rhythms and beats (in the chosen
// language, i18n.js), times, and the one way elements are made (text only, never HTML).
import { has, t } from './i18n.js';

/** The worklist row class of each priority (0 critical .. 3 no flag). */
export const PRIORITY_CLASS = ['critical', 'urgent', 'routine', 'none'];

export const priorityName = (p) => t(`priority.${PRIORITY_CLASS[p] ? p : 3}`);
export const reviewName = (r) => (has(`review.${r}`) ? t(`review.${r}`) : r);
export const rhythmName = (label) => (has(`rhythm.${label}`) ? t(`rhythm.${label}`) : label);
export const beatName = (label) => (has(`beat.${label}`) ? t(`beat.${label}`) : '');

/** "3 min", "2 h 5 min" since MS (Unix ms). */
export function age(ms, now = Date.now()) {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return t('age.s', { n: s });
  const m = Math.floor(s / 60);
  if (m < 60) return t('age.min', { n: m });
  const h = Math.floor(m / 60);
  if (h < 48) return t('age.h', { h, m: m % 60 });
  return t('age.d', { n: Math.floor(h / 24) });
}

/** Local date and time of MS (Unix ms), or "—". */
export function when(ms) {
  if (!ms) return '—';
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** "h:mm:ss" or "m:ss.s" of S seconds. */
export function clock(s) {
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  const ss = sec.toFixed(1).padStart(4, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** A new element TAG with CLASS and TEXT (text, never HTML: names and reasons come from devices). */
export function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

/** "HH:MM" of MS (Unix ms) when it is today, else "YYYY-MM-DD HH:MM" (local time); "—" for none. */
export function shortTime(ms, now = Date.now()) {
  if (!ms) return '—';
  const full = when(ms);
  return full.slice(0, 10) === when(now).slice(0, 10) ? full.slice(11, 16) : full.slice(0, 16);
}
