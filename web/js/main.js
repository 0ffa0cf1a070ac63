// main.js — the page's start: session, views (login, worklist, viewer) by URL hash, the live
// worklist socket, the critical-value notices, the language switch, and wiring.
import * as api from './api.js';
import { lang, onLangChange, pick, setLang, t, translatePage } from './i18n.js';
import { Live } from './live.js';
import { Worklist } from './worklist.js';
import { Viewer } from './viewer.js';
import { Calipers } from './calipers.js';
import { ReportEditor } from './report.js';
import { showComparison } from './compare.js';
import { CriticalAlerts, CriticalPanel } from './critical.js';
import { setupCalibration } from './calibrate.js';
import { beatName, clock, el, reviewName, rhythmName, when } from './labels.js';

const $ = (id) => document.getElementById(id);
let user = null;
let audio = null;
let detail = null;
let clickedAt = null; // performance.now() of the click that opens a recording, for data-drawn-ms

function status(msg) {
  $('status').textContent = msg || '';
}

function showView(name) {
  for (const v of ['login', 'worklist', 'viewer']) $(`${v}-view`).hidden = v !== name;
  $('nav').hidden = name === 'login';
}

// Browsers let a page make sound only after a user gesture: the first click or key unlocks it.
function unlockAudio() {
  const Ctx = window.AudioContext || window.webkitAudioContext;
  if (!Ctx) return;
  if (!audio) audio = new Ctx();
  if (audio.state === 'suspended') audio.resume().catch(() => {});
}
document.addEventListener('pointerdown', unlockAudio, { capture: true });
document.addEventListener('keydown', unlockAudio, { capture: true });

const worklist = new Worklist(
  {
    body: $('worklist-body'),
    empty: $('worklist-empty'),
    updated: $('worklist-updated'),
    priority: $('filter-priority'),
    review: $('filter-review'),
    banner: $('banner'),
    bannerText: $('banner-text'),
    bannerOpen: $('banner-open'),
  },
  (id) => {
    clickedAt = performance.now();
    location.hash = `#/recording/${id}`;
  },
  () => audio,
  status,
  // The critical-value notices are re-read with the worklist: at login, on every message of the
  // live socket, and while it is down every 30 s.
  () => alerts.refresh(),
);
$('banner-close').addEventListener('click', () => {
  $('banner').hidden = true;
});

function showLive() {
  const s = $('live-state');
  s.dataset.state = live.live ? 'live' : 'offline';
  s.textContent = t(live.live ? 'live.live' : 'live.offline');
  s.title = t(live.live ? 'live.liveTitle' : 'live.offlineTitle');
}

// Every message of the live socket means "the queue changed": re-read it (worklist.refresh
// coalesces a burst into one more request). While the socket is down the worklist polls.
const live = new Live(
  () => worklist.refresh(),
  (up) => {
    // The server's first message on every connection makes the page read what it missed.
    worklist.setLive(up);
    showLive();
  },
);

const openById = (id) => {
  clickedAt = performance.now();
  location.hash = `#/recording/${id}`;
};
const criticalPanel = new CriticalPanel(
  {
    card: $('critical-card'),
    form: $('critical-form'),
    finding: $('critical-finding'),
    notified: $('critical-notified'),
    time: $('critical-time'),
    confirm: $('critical-confirm'),
    notice: $('critical-notice'),
    ack: $('critical-ack'),
    error: $('critical-error'),
  },
  () => alerts.refresh(),
);
const alerts = new CriticalAlerts(
  { box: $('critical-notices'), list: $('critical-list') },
  () => audio,
  openById,
  (open) => criticalPanel.follow(open),
  (notice) => criticalPanel.update(notice),
  status,
);

const calipers = new Calipers($('calipers'), () => viewer.scale(), $('caliper-readout'));
const viewer = new Viewer(
  { scroll: $('paper-scroll'), spacer: $('paper-spacer'), canvas: $('paper') },
  (msg) => {
    $('viewer-error').textContent = msg;
  },
  (size) => calipers.resize(size.width, size.height),
);
$('speed').addEventListener('change', () => viewer.setSpeed(Number($('speed').value)));
$('gain').addEventListener('change', () => viewer.setGain(Number($('gain').value)));

const report = new ReportEditor(
  {
    state: $('report-state'),
    editor: $('report-editor'),
    readonly: $('report-readonly'),
    search: $('statement-search'),
    options: $('statement-options'),
    chosen: $('statement-chosen'),
    text: $('report-text'),
    claim: $('btn-claim'),
    release: $('btn-release'),
    save: $('btn-save'),
    sign: $('btn-sign'),
    amend: $('btn-amend'),
    repeat: $('btn-repeat'),
    error: $('report-error'),
    exports: $('report-exports'),
    history: $('report-history'),
    pwDialog: $('password-dialog'),
    pwInput: $('password-again'),
    pwCancel: $('password-cancel'),
    repeatDialog: $('repeat-dialog'),
    repeatInput: $('repeat-reason'),
    repeatCancel: $('repeat-cancel'),
  },
  (item) => {
    if (detail) detail.recording = item;
    setTitle(item);
    worklist.refresh();
  },
);

const openCalibration = setupCalibration(
  {
    dialog: $('calibration-dialog'),
    box: $('card-box'),
    range: $('calibration-range'),
    value: $('calibration-value'),
    reset: $('calibration-reset'),
    cancel: $('calibration-cancel'),
  },
  () => viewer.schedule(),
);
$('open-calibration').addEventListener('click', openCalibration);

$('compare-button').addEventListener('click', async () => {
  if (!detail) return;
  const box = $('compare');
  box.hidden = false;
  try {
    await showComparison($('compare-body'), detail);
  } catch (e) {
    $('compare-body').replaceChildren(el('p', 'error', e.message));
  }
});

function renderMeasurements(d) {
  const dl = $('measurements');
  dl.replaceChildren();
  const row = (k, v) => {
    dl.append(el('dt', null, k));
    dl.append(el('dd', null, v));
  };
  const r = d.recording, a = d.analysis;
  row(t('meas.patient'), r.patient_id || '—');
  row(t('meas.site'), r.site);
  row(t('meas.recorded'), t('meas.recordedValue', { when: when(r.received_ms), n: r.nleads, fs: r.fs, s: (r.samples / r.fs).toFixed(1) }));
  if (!a) {
    row(t('meas.analysis'), r.state === 'receiving' ? t('meas.stillReceiving') : t('meas.noneYet'));
  } else {
    const hr = a.heart_rate || {};
    row(t('meas.heartRate'), hr.mean > 0 ? `${Math.round(hr.mean)} bpm（${Math.round(hr.min)}–${Math.round(hr.max)}）` : '—');
    const rhythms = (a.rhythms || []).map(
      (x) => `${rhythmName(x.label)} ${clock(x.start_sample / a.fs)}–${clock(x.end_sample / a.fs)}${x.rate_bpm > 0 ? ` ${Math.round(x.rate_bpm)} bpm` : ''}`,
    );
    row(t('meas.rhythm'), rhythms.join('; ') || '—');
    const counts = Object.entries(a.beat_classes || {})
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${k} ${beatName(k)}: ${n}`);
    row(t('meas.beats'), `${a.beat_count || 0}${counts.length ? ' — ' + counts.join('; ') : ''}`);
    if ((a.events || []).length)
      row(t('meas.events'), a.events.map((e) => `${e.type} ${clock(e.start_sample / a.fs)}`).join('; '));
    const poor = (a.leads || []).filter((l) => l.quality < 0.5).map((l) => l.name);
    if (poor.length) row(t('meas.poorSignal'), poor.join(', '));
  }
  const tl = d.timeline || {};
  if (tl.first_opened_ms) row(t('meas.firstRead'), `${when(tl.first_opened_ms)} ${tl.first_opened_by || ''}`);
  if (tl.ecg_to_diagnosis_ms) row(t('meas.toDiagnosis'), t('unit.min', { n: Math.round(tl.ecg_to_diagnosis_ms / 60000) }));
}

function renderFlags(d) {
  const ul = $('flag-list');
  ul.replaceChildren();
  const fs = d.recording.fs;
  for (const f of d.flags || []) {
    const li = el('li');
    const b = el('button', `p${f.priority}`);
    b.type = 'button';
    b.append(el('strong', null, `${clock(f.start / fs)} ${f.code}`), el('br'));
    b.append(el('span', null, pick(f, 'reason')));
    b.addEventListener('click', () => viewer.jumpTo(f.start, f));
    li.append(b);
    ul.append(li);
  }
  if (!(d.flags || []).length) ul.append(el('li', 'muted', t('flags.none')));
}

function setTitle(r) {
  $('viewer-title').textContent = t('viewer.titleFull', { id: r.id, site: r.site, who: r.patient_id || r.recording, review: reviewName(r.review) });
}

const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));

async function openRecording(id) {
  // From the click (or, for an address typed or reloaded, from now) to the drawn tracing.
  const t0 = clickedAt !== null ? clickedAt : performance.now();
  clickedAt = null;
  const paper = $('paper');
  delete paper.dataset.drawnMs;
  delete paper.dataset.drawnFor;
  showView('viewer');
  $('viewer-error').textContent = '';
  $('compare').hidden = true;
  $('caliper-readout').textContent = '';
  $('viewer-title').textContent = t('viewer.titleId', { id });
  const parts = document.querySelectorAll('.viewer-layout, #compare-button');
  detail = null;
  viewer.close();
  criticalPanel.close();
  try {
    detail = await api.recording(id);
  } catch (e) {
    parts.forEach((p) => (p.hidden = true));
    const why = e.status === 403 || e.status === 404 ? t('viewer.refused') : t('viewer.cannotOpen');
    $('viewer-error').textContent = `${why}: ${e.message}`;
    return;
  }
  parts.forEach((p) => (p.hidden = false));
  const r = detail.recording;
  setTitle(r);
  renderMeasurements(detail);
  renderFlags(detail);
  criticalPanel.show(detail, user);
  report.show(detail, user);
  try {
    await viewer.open(detail);
  } catch (e) {
    $('viewer-error').textContent = t('viewer.noSignal', { message: e.message });
    return;
  }
  if (!detail || detail.recording.id !== r.id) return; // another recording was opened meanwhile
  // The first frame that shows the drawing: what the click costs the reader.
  await nextFrame();
  const ms = performance.now() - t0;
  paper.dataset.drawnMs = ms.toFixed(1);
  paper.dataset.drawnFor = String(r.id);
  paper.dispatchEvent(new CustomEvent('ecg-drawn', { detail: { id: r.id, ms } }));
}

async function route() {
  if (!user) {
    showView('login');
    $('login-name').focus();
    return;
  }
  const m = location.hash.match(/^#\/recording\/(\d+)$/);
  if (m) {
    await openRecording(Number(m[1]));
  } else {
    viewer.close();
    criticalPanel.close();
    detail = null;
    showView('worklist');
  }
}

function loggedIn(u) {
  user = u;
  $('who').textContent = `${u.name} · ${u.role}${u.site ? ' · ' + u.site : ''}`;
  worklist.reset();
  alerts.start(u);
  worklist.start();
  live.start();
  route();
}

function loggedOut() {
  user = null;
  live.stop();
  worklist.stop();
  worklist.reset();
  alerts.stop();
}

$('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  $('login-error').textContent = '';
  unlockAudio(); // the login click is the gesture that lets the alarm sound later
  try {
    const u = await api.login($('login-name').value, $('login-password').value);
    $('login-password').value = '';
    loggedIn(u);
  } catch (err) {
    $('login-error').textContent =
      err.status === 401 ? t('login.wrong') : err.message;
  }
});

$('logout').addEventListener('click', async () => {
  try {
    await api.logout();
  } catch {
    /* the session is gone either way */
  }
  loggedOut();
  route();
});

api.setLoggedOutHandler(() => {
  if (!user) return;
  loggedOut();
  status(t('session.ended'));
  route();
});

window.addEventListener('hashchange', route);

// The language: Chinese unless the user chose English (remembered); a switch redraws everything.
$('lang-switch').addEventListener('click', () => setLang(lang() === 'zh' ? 'en' : 'zh'));
onLangChange(() => {
  showLive();
  worklist.rerender();
  alerts.rerender();
  status(''); // a message already shown stays in the old language: drop it
  if (detail && !$('viewer-view').hidden) {
    setTitle(detail.recording);
    renderMeasurements(detail);
    renderFlags(detail);
    criticalPanel.rerender();
    report.rerender();
    viewer.schedule();
    if (!$('compare').hidden) $('compare-button').click();
  }
});
translatePage();
showLive();

(async () => {
  try {
    const u = await api.me();
    if (u) loggedIn(u);
    else route();
  } catch (e) {
    status(e.message);
    route();
  }
})();
