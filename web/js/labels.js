// labels.js — the page's bilingual words for priorities, review states, rhythms and times.

export const PRIORITY = [
  { zh: '危急', en: 'Critical', cls: 'critical' },
  { zh: '紧急', en: 'Urgent', cls: 'urgent' },
  { zh: '常规', en: 'Routine', cls: 'routine' },
  { zh: '无异常标记', en: 'No flag', cls: 'none' },
];

export const REVIEW = {
  new: '待读 New',
  claimed: '已认领 Claimed',
  reported: '已出草稿 Draft',
  signed: '已签名 Signed',
  repeat: '要求重做 Repeat',
};

// Rhythm labels of the analysis (models/rhythm.h: MIT-BIH rhythm annotation names).
const RHYTHM = {
  N: '窦性心律 Sinus rhythm',
  SBR: '窦性心动过缓 Sinus bradycardia',
  SVTA: '室上性心动过速 Supraventricular tachyarrhythmia',
  AFIB: '心房颤动 Atrial fibrillation',
  AFL: '心房扑动 Atrial flutter',
  VT: '室性心动过速 Ventricular tachycardia',
  VFL: '心室扑动/颤动 Ventricular flutter/fibrillation',
  B: '室性二联律 Ventricular bigeminy',
  T: '室性三联律 Ventricular trigeminy',
  IVR: '室性自主心律 Idioventricular rhythm',
  NOD: '交界性心律 Nodal rhythm',
  P: '起搏心律 Paced rhythm',
  AB: '房性二联律 Atrial bigeminy',
  PREX: '预激 Pre-excitation',
  BII: '二度房室传导阻滞 2nd-degree heart block',
  NOISE: '噪声 Noise',
};

export const rhythmName = (label) => RHYTHM[label] || label;

export const BEAT = {
  N: '正常 Normal',
  S: '室上性早搏 Supraventricular ectopic',
  V: '室性早搏 Ventricular ectopic',
  F: '融合波 Fusion',
  Q: '未分类 Unclassified',
};

/** "3 min", "2 h 5 min" since MS (Unix ms). */
export function age(ms, now = Date.now()) {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} 秒 s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} 分 min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} 时 h ${m % 60} 分 min`;
  return `${Math.floor(h / 24)} 天 d`;
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
