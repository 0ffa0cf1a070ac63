// compare.js — serial comparison: the patient's previous recording beside this one, with the
// changes in heart rate and rhythm, and the previous report.
import * as api from './api.js';
import { drawGrid, drawTrace, sizeCanvas, drawLabel } from './paper.js';
import { el, rhythmName, when } from './labels.js';

const SECONDS = 10;

function rhythmSet(analysis) {
  return new Set(((analysis && analysis.rhythms) || []).map((r) => r.label));
}

function meanRate(analysis) {
  const hr = analysis && analysis.heart_rate;
  return hr && Number.isFinite(hr.mean) && hr.mean > 0 ? hr.mean : null;
}

/** Lead II (or the first lead) of DETAIL's first ten seconds, reduced to fit W px, on paper. */
async function strip(detail, w) {
  const rec = detail.recording;
  const fs = rec.fs, n = Math.min(rec.samples || SECONDS * fs, SECONDS * fs);
  const step = Math.max(1, Math.floor(n / w));
  const s = await api.signal(rec.id, 0, n, step);
  let li = s.leads.findIndex((l) => l.name.toUpperCase() === 'II');
  if (li < 0) li = 0;
  const canvas = el('canvas');
  // Small paper: the whole ten seconds in W px (not to the calibrated scale).
  const ppm = w / (SECONDS * 25 + 4), h = Math.round(30 * ppm);
  const ctx = sizeCanvas(canvas, w, h);
  drawGrid(ctx, 0, 0, w, h, ppm, 0);
  drawTrace(ctx, s.data[li], 2 * ppm, (25 * ppm * step) / fs, h / 2, (10 * ppm) / 1000);
  drawLabel(ctx, s.leads[li].name, 4, 14);
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', `${s.leads[li].name}, ${when(rec.received_ms)}`);
  canvas.style.width = '100%';
  canvas.style.height = 'auto';
  return canvas;
}

function column(title, detail, canvas) {
  const div = el('div');
  div.append(el('h4', null, title));
  div.append(el('p', 'muted', `${when(detail.recording.received_ms)} · ${detail.recording.recording} · ${detail.recording.site}`));
  if (canvas) div.append(canvas);
  return div;
}

/** Fills CONTAINER with the comparison of DETAIL (GET /api/recordings/{id}) with the patient's
 * previous recording. */
export async function showComparison(container, detail) {
  container.replaceChildren(el('p', 'muted', '加载中 Loading…'));
  const rec = detail.recording;
  if (!rec.patient_id) {
    container.replaceChildren(el('p', null, '此记录无患者编号，无法查找既往心电图 This recording has no patient id: no earlier ECGs can be found'));
    return;
  }
  const others = await api.patientRecordings(rec.patient_id, rec.id);
  const earlier = others.filter((r) => r.received_ms < rec.received_ms).sort((a, b) => b.received_ms - a.received_ms);
  if (!earlier.length) {
    container.replaceChildren(el('p', null, '该患者无既往心电图 No earlier ECG of this patient'));
    return;
  }
  const prev = await api.recording(earlier[0].id);
  const width = Math.max(240, Math.floor((container.clientWidth || 800) / 2) - 12);
  const [now, before] = await Promise.all([strip(detail, width), strip(prev, width)]);

  const dl = el('dl', 'measurements');
  const row = (k, v, cls) => {
    dl.append(el('dt', null, k));
    dl.append(el('dd', cls, v));
  };
  const a = meanRate(detail.analysis), b = meanRate(prev.analysis);
  if (a !== null && b !== null) {
    const d = Math.round(a - b);
    row('心率 Heart rate', `${Math.round(b)} → ${Math.round(a)} bpm（${d >= 0 ? '+' : ''}${d}）`, Math.abs(d) >= 10 ? 'change' : null);
  } else {
    row('心率 Heart rate', '无法比较 not available');
  }
  const ra = rhythmSet(detail.analysis), rb = rhythmSet(prev.analysis);
  const appeared = [...ra].filter((x) => !rb.has(x)), gone = [...rb].filter((x) => !ra.has(x));
  row('既往节律 Rhythm before', [...rb].map(rhythmName).join('; ') || '—');
  row('本次节律 Rhythm now', [...ra].map(rhythmName).join('; ') || '—');
  row(
    '节律变化 Rhythm change',
    appeared.length || gone.length
      ? [...appeared.map((x) => `新出现 new: ${rhythmName(x)}`), ...gone.map((x) => `消失 gone: ${rhythmName(x)}`)].join('; ')
      : '无变化 unchanged',
    appeared.length || gone.length ? 'change' : null,
  );
  const rep = prev.report;
  row('既往报告 Previous report', rep && rep.signed ? [...rep.statements, rep.text].filter(Boolean).join('; ') : '未签名 not signed');

  const grid = el('div', 'compare-grid');
  grid.append(column('本次 This ECG', detail, now), column('前次 Previous ECG', prev, before));
  container.replaceChildren(dl, grid);
}
