// main.js — the page's start: session, views (login, worklist, viewer) by URL hash, and wiring.
import * as api from './api.js';
import { Worklist } from './worklist.js';
import { Viewer } from './viewer.js';
import { Calipers } from './calipers.js';
import { ReportEditor } from './report.js';
import { showComparison } from './compare.js';
import { setupCalibration } from './calibrate.js';
import { BEAT, REVIEW, clock, el, rhythmName, when } from './labels.js';

const $ = (id) => document.getElementById(id);
let user = null;
let audio = null;
let detail = null;

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
    location.hash = `#/recording/${id}`;
  },
  () => audio,
  status,
);
$('banner-close').addEventListener('click', () => {
  $('banner').hidden = true;
});

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
  row('患者 Patient', r.patient_id || '—');
  row('单位 Site', r.site);
  row('采集 Recorded', `${when(r.received_ms)} · ${r.nleads} 导联 leads · ${r.fs} Hz · ${(r.samples / r.fs).toFixed(1)} s`);
  if (!a) {
    row('分析 Analysis', r.state === 'receiving' ? '接收中 still receiving' : '尚无 none yet');
  } else {
    const hr = a.heart_rate || {};
    row('心率 Heart rate', hr.mean > 0 ? `${Math.round(hr.mean)} bpm（${Math.round(hr.min)}–${Math.round(hr.max)}）` : '—');
    const rhythms = (a.rhythms || []).map(
      (x) => `${rhythmName(x.label)} ${clock(x.start_sample / a.fs)}–${clock(x.end_sample / a.fs)}${x.rate_bpm > 0 ? ` ${Math.round(x.rate_bpm)} bpm` : ''}`,
    );
    row('节律 Rhythm', rhythms.join('; ') || '—');
    const counts = Object.entries(a.beat_classes || {})
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${k} ${BEAT[k] || ''}: ${n}`);
    row('心搏 Beats', `${a.beat_count || 0}${counts.length ? ' — ' + counts.join('; ') : ''}`);
    if ((a.events || []).length)
      row('事件 Events', a.events.map((e) => `${e.type} ${clock(e.start_sample / a.fs)}`).join('; '));
    const poor = (a.leads || []).filter((l) => l.quality < 0.5).map((l) => l.name);
    if (poor.length) row('信号质量差 Poor signal', poor.join(', '));
  }
  const t = d.timeline || {};
  if (t.first_opened_ms) row('首次阅读 First read', `${when(t.first_opened_ms)} ${t.first_opened_by || ''}`);
  if (t.ecg_to_diagnosis_ms) row('诊断用时 ECG to diagnosis', `${Math.round(t.ecg_to_diagnosis_ms / 60000)} 分 min`);
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
    b.append(el('span', null, f.reason_zh), el('br'), el('span', null, f.reason_en));
    b.addEventListener('click', () => viewer.jumpTo(f.start, f));
    li.append(b);
    ul.append(li);
  }
  if (!(d.flags || []).length) ul.append(el('li', 'muted', '无标记 No flags'));
}

function setTitle(r) {
  $('viewer-title').textContent = `心电图 ECG #${r.id} · ${r.site} · ${r.patient_id || r.recording} · ${REVIEW[r.review] || r.review}`;
}

async function openRecording(id) {
  showView('viewer');
  $('viewer-error').textContent = '';
  $('compare').hidden = true;
  $('caliper-readout').textContent = '';
  $('viewer-title').textContent = `心电图 ECG #${id}`;
  const parts = document.querySelectorAll('.viewer-layout, #compare-button');
  detail = null;
  viewer.close();
  try {
    detail = await api.recording(id);
  } catch (e) {
    parts.forEach((p) => (p.hidden = true));
    const why = e.status === 403 || e.status === 404 ? '无此记录或无权查看 No such recording, or not yours to see' : '无法打开 Cannot open';
    $('viewer-error').textContent = `${why}: ${e.message}`;
    return;
  }
  parts.forEach((p) => (p.hidden = false));
  const r = detail.recording;
  setTitle(r);
  renderMeasurements(detail);
  renderFlags(detail);
  report.show(detail, user);
  try {
    await viewer.open(detail);
  } catch (e) {
    $('viewer-error').textContent = `信号无法读取 The signal cannot be read: ${e.message}`;
  }
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
    detail = null;
    showView('worklist');
  }
}

function loggedIn(u) {
  user = u;
  $('who').textContent = `${u.name} · ${u.role}${u.site ? ' · ' + u.site : ''}`;
  worklist.reset();
  worklist.start();
  route();
}

$('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  $('login-error').textContent = '';
  try {
    const u = await api.login($('login-name').value, $('login-password').value);
    $('login-password').value = '';
    loggedIn(u);
  } catch (err) {
    $('login-error').textContent =
      err.status === 401 ? '用户名或密码错误 Wrong name or password' : err.message;
  }
});

$('logout').addEventListener('click', async () => {
  try {
    await api.logout();
  } catch {
    /* the session is gone either way */
  }
  user = null;
  worklist.stop();
  $('banner').hidden = true;
  route();
});

api.setLoggedOutHandler(() => {
  if (!user) return;
  user = null;
  worklist.stop();
  status('会话已结束，请重新登录 The session ended: log in again');
  route();
});

window.addEventListener('hashchange', route);

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
