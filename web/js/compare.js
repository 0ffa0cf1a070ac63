// compare.js — serial comparison: the patient's previous recording beside this one, with the
// changes in heart rate and rhythm, and the previous report.
import * as api from './api.js';
import { drawGrid, drawTrace, sizeCanvas, drawLabel } from './paper.js';
import { t } from './i18n.js';
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
  container.replaceChildren(el('p', 'muted', t('cmp.loading')));
  const rec = detail.recording;
  if (!rec.patient_id) {
    container.replaceChildren(el('p', null, t('cmp.noPatient')));
    return;
  }
  const others = await api.patientRecordings(rec.patient_id, rec.id);
  const earlier = others.filter((r) => r.received_ms < rec.received_ms).sort((a, b) => b.received_ms - a.received_ms);
  if (!earlier.length) {
    container.replaceChildren(el('p', null, t('cmp.noEarlier')));
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
    row(t('cmp.rate'), `${Math.round(b)} → ${Math.round(a)} bpm（${d >= 0 ? '+' : ''}${d}）`, Math.abs(d) >= 10 ? 'change' : null);
  } else {
    row(t('cmp.rate'), t('cmp.rateNone'));
  }
  const ra = rhythmSet(detail.analysis), rb = rhythmSet(prev.analysis);
  const appeared = [...ra].filter((x) => !rb.has(x)), gone = [...rb].filter((x) => !ra.has(x));
  row(t('cmp.rhythmBefore'), [...rb].map(rhythmName).join('; ') || '—');
  row(t('cmp.rhythmNow'), [...ra].map(rhythmName).join('; ') || '—');
  row(
    t('cmp.rhythmChange'),
    appeared.length || gone.length
      ? [...appeared.map((x) => t('cmp.new', { x: rhythmName(x) })), ...gone.map((x) => t('cmp.gone', { x: rhythmName(x) }))].join('; ')
      : t('cmp.unchanged'),
    appeared.length || gone.length ? 'change' : null,
  );
  const rep = prev.report;
  row(t('cmp.prevReport'), rep && rep.signed ? [...rep.statements, rep.text].filter(Boolean).join('; ') : t('cmp.notSigned'));

  const grid = el('div', 'compare-grid');
  grid.append(column(t('cmp.thisEcg'), detail, now), column(t('cmp.prevEcg'), prev, before));
  container.replaceChildren(dl, grid);
}
