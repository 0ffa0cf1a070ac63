// viewer.js — one recording on ECG paper: the standard 3×4 12-lead layout with a lead II rhythm
// strip, or a scrolling strip (one row per lead) that fetches decimated tiles as it scrolls;
// beat labels, flag markers, and the jump to a flag.
import * as api from './api.js';
import { COLORS, pxPerMm, sizeCanvas, drawGrid, drawTrace, drawCalPulse, drawLabel } from './paper.js';
import { t } from './i18n.js';
import { clock } from './labels.js';

const STANDARD = ['I', 'II', 'III', 'aVR', 'aVL', 'aVF', 'V1', 'V2', 'V3', 'V4', 'V5', 'V6'];
const COLUMNS = [['I', 'II', 'III'], ['aVR', 'aVL', 'aVF'], ['V1', 'V2', 'V3'], ['V4', 'V5', 'V6']];
const LEFT_MM = 10; // room for the calibration pulse
const RIGHT_MM = 4;
const TOP_MM = 2;
const BAND_MM = 8; // time marks and beat labels above a strip
const STANDARD_SECONDS = 10;
const TILE_POINTS = 1000; // points per lead in one fetched tile
const MAX_TILES = 120;
const BEAT_COLORS = { N: '#333333', S: '#0b5cad', V: '#b00020', F: '#7a3db8', Q: '#777777' };
const FLAG_FILL = ['rgba(176,0,32,0.13)', 'rgba(216,138,0,0.15)', 'rgba(11,92,173,0.10)', 'rgba(0,0,0,0.06)'];

const rowMm = (gain) => Math.max(15, 3 * gain); // ±1.5 mV at the chosen gain

export class Viewer {
  /** ELS: {scroll, spacer, canvas}; ON_ERROR(message) shows a failure; ON_DRAW(geometry) tells the
   * calipers the paper's new size. */
  constructor(els, onError, onDraw) {
    this.els = els;
    this.onError = onError;
    this.onDraw = onDraw;
    this.speed = 25; // mm/s
    this.gain = 10; // mm/mV
    this.gen = 0;
    this.pending = false;
    this.els.scroll.addEventListener('scroll', () => {
      if (this.mode === 'strip') this.schedule();
    });
    window.addEventListener('resize', () => this.schedule());
  }

  /** Shows recording DETAIL (GET /api/recordings/{id}'s answer). Resolves once the first drawing
   * is done. */
  async open(detail) {
    const gen = ++this.gen;
    this.rec = detail.recording;
    this.analysis = detail.analysis || null;
    this.flags = detail.flags || [];
    this.beats = (this.analysis && this.analysis.beats) || [];
    this.highlight = null;
    this.tiles = new Map();
    this.window = null;
    this.start = 0;
    // A resting 12-lead, the usual case, is drawn from one request (its answer names the leads
    // too); anything else first asks for one sample to learn its leads.
    const rec = this.rec;
    const likely = rec.nleads >= 12 && (rec.mode === 'resting' || (rec.samples || 0) <= 30 * rec.fs);
    const probe = await api.signal(rec.id, 0, likely ? Math.round(STANDARD_SECONDS * rec.fs) : 1, 1);
    if (gen !== this.gen) return;
    this.fs = probe.fs;
    this.leads = probe.leads.map((l) => l.name);
    this.nSamples = Math.max(this.rec.samples || 0, this.analysis ? this.analysis.n_samples || 0 : 0);
    const idx = (name) => this.leads.findIndex((l) => l.toLowerCase() === name.toLowerCase());
    this.standardIndex = STANDARD.map(idx);
    const standard = this.standardIndex.every((i) => i >= 0);
    const short = this.nSamples <= 30 * this.fs;
    this.mode = standard && (this.rec.mode === 'resting' || short) ? 'standard' : 'strip';
    this.els.scroll.scrollLeft = 0;
    if (this.mode === 'standard') {
      if (likely) this.window = probe;
      else await this.loadWindow(gen);
      if (gen !== this.gen) return;
    }
    this.draw();
  }

  close() {
    this.gen++;
    this.rec = null;
  }

  setSpeed(mmPerS) {
    this.speed = mmPerS;
    this.tiles = new Map(); // the decimation follows the speed
    this.schedule();
  }

  setGain(mmPerMv) {
    this.gain = mmPerMv;
    this.schedule();
  }

  /** The paper's scale, for the calipers. */
  scale() {
    return { ppm: pxPerMm(), speed: this.speed, gain: this.gain };
  }

  /** Brings SAMPLE into view and marks FLAG (may be null). */
  async jumpTo(sample, flag) {
    if (!this.rec) return;
    this.highlight = flag || null;
    const ppm = pxPerMm();
    if (this.mode === 'strip') {
      const x = (LEFT_MM + (sample / this.fs) * this.speed) * ppm;
      this.els.scroll.scrollLeft = Math.max(0, x - this.speed * ppm); // one second of context
      this.schedule();
      return;
    }
    const win = Math.round(STANDARD_SECONDS * this.fs);
    if (sample < this.start || sample >= this.start + win) {
      this.start = Math.max(0, Math.min(sample - this.fs, this.nSamples - win));
      await this.loadWindow(this.gen);
    }
    this.draw();
  }

  schedule() {
    if (this.pending || !this.rec) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      if (this.rec) this.draw();
    });
  }

  async loadWindow(gen) {
    const win = Math.round(STANDARD_SECONDS * this.fs);
    try {
      const s = await api.signal(this.rec.id, this.start, win, 1);
      if (gen === this.gen) this.window = s;
    } catch (e) {
      if (gen === this.gen) this.onError(e.message);
    }
  }

  draw() {
    if (this.mode === 'standard') this.drawStandard();
    else this.drawStrip();
  }

  // ---- the standard 12-lead page ----------------------------------------------------------

  drawStandard() {
    const ppm = pxPerMm(), speed = this.speed, gain = this.gain;
    const colMm = (STANDARD_SECONDS / 4) * speed, rh = rowMm(gain);
    const rhythmTop = TOP_MM + 3 * rh + BAND_MM;
    const wMm = LEFT_MM + 4 * colMm + RIGHT_MM, hMm = rhythmTop + rh + 6;
    const w = Math.round(wMm * ppm), h = Math.round(hMm * ppm);
    const { canvas, spacer } = this.els;
    spacer.style.width = `${w}px`;
    const ctx = sizeCanvas(canvas, w, h);
    drawGrid(ctx, 0, 0, w, h, ppm, 0);
    const cells = [];
    const win = this.window;
    const dx = (speed * ppm) / this.fs, pxPerUv = (gain * ppm) / 1000;
    const perCol = Math.round((STANDARD_SECONDS / 4) * this.fs);
    const base = (r) => (TOP_MM + r * rh + rh / 2) * ppm;
    for (let r = 0; r < 3; r++) drawCalPulse(ctx, 2 * ppm, base(r), ppm, speed, gain);
    for (let c = 0; c < 4; c++) {
      const x0 = (LEFT_MM + c * colMm) * ppm;
      for (let r = 0; r < 3; r++) {
        const name = COLUMNS[c][r];
        const li = this.standardIndex[STANDARD.indexOf(name)];
        const values = win ? win.data[li].slice(c * perCol, (c + 1) * perCol) : [];
        ctx.save();
        ctx.beginPath();
        ctx.rect(x0, (TOP_MM + r * rh) * ppm - rh * ppm * 0.5, colMm * ppm, rh * ppm * 2);
        ctx.clip();
        drawTrace(ctx, values, x0, dx, base(r), pxPerUv);
        ctx.restore();
        drawLabel(ctx, this.leads[li], x0 + 4, (TOP_MM + r * rh) * ppm + 14);
        if (c > 0) {
          // the standard's short bar where one column's leads give way to the next
          ctx.beginPath();
          ctx.moveTo(Math.round(x0) + 0.5, base(r) - 3 * ppm);
          ctx.lineTo(Math.round(x0) + 0.5, base(r) + 3 * ppm);
          ctx.strokeStyle = COLORS.trace;
          ctx.stroke();
        }
        cells.push({ lead: this.leads[li], x: x0, y: (TOP_MM + r * rh) * ppm, w: colMm * ppm, h: rh * ppm });
      }
    }
    // the rhythm strip: lead II over the whole ten seconds
    const rBase = (rhythmTop + rh / 2) * ppm, ii = this.standardIndex[1];
    drawCalPulse(ctx, 2 * ppm, rBase, ppm, speed, gain);
    const x0 = LEFT_MM * ppm;
    this.drawFlagBands(ctx, this.start, x0, dx, (rhythmTop - BAND_MM) * ppm, (BAND_MM + rh) * ppm, 0, w);
    if (win) drawTrace(ctx, win.data[ii], x0, dx, rBase, pxPerUv);
    drawLabel(ctx, t('viewer.rhythmStrip', { lead: this.leads[ii] }), x0 + 4, rhythmTop * ppm + 14);
    cells.push({ lead: `${this.leads[ii]} rhythm`, x: x0, y: rhythmTop * ppm, w: 4 * colMm * ppm, h: rh * ppm });
    const n = win ? win.count : 0;
    this.drawBeats(ctx, this.start, this.start + n, x0, dx, (rhythmTop - 1.5) * ppm, 0, w);
    this.drawSeconds(ctx, this.start, this.start + n, x0, dx, (rhythmTop + rh + 4) * ppm, 0, w);
    canvas.dataset.recording = String(this.rec.id);
    canvas.dataset.mode = 'standard';
    canvas.dataset.cells = JSON.stringify(cells);
    canvas.setAttribute(
      'aria-label',
      t('viewer.aria12', { from: clock(this.start / this.fs), to: clock((this.start + n) / this.fs), speed, gain }),
    );
    this.onDraw({ width: w, height: h });
  }

  // ---- the scrolling strip ----------------------------------------------------------------

  drawStrip() {
    const ppm = pxPerMm(), speed = this.speed, gain = this.gain, rh = rowMm(gain);
    const { canvas, spacer, scroll } = this.els;
    const totalW = Math.round((LEFT_MM + (this.nSamples / this.fs) * speed + RIGHT_MM) * ppm);
    spacer.style.width = `${totalW}px`;
    const w = Math.max(100, Math.min(totalW, scroll.clientWidth));
    const h = Math.round((TOP_MM + BAND_MM + this.leads.length * rh + 2) * ppm);
    const left = scroll.scrollLeft;
    const ctx = sizeCanvas(canvas, w, h);
    const origin = -left; // paper x 0 on the screen
    drawGrid(ctx, 0, 0, w, h, ppm, origin);
    const x0 = origin + LEFT_MM * ppm, dx = (speed * ppm) / this.fs, pxPerUv = (gain * ppm) / 1000;
    const first = Math.max(0, Math.floor((0 - x0) / dx)), last = Math.min(this.nSamples, Math.ceil((w - x0) / dx) + 1);
    const bandTop = TOP_MM * ppm, rowsTop = (TOP_MM + BAND_MM) * ppm;
    this.drawFlagBands(ctx, 0, x0, dx, bandTop, h - bandTop, 0, w);
    // decimation: about one point per screen pixel (the server subsamples, never invents)
    const step = Math.max(1, Math.floor(this.fs / (speed * ppm)));
    const tileSamples = TILE_POINTS * step;
    const base = (r) => rowsTop + (r * rh + rh / 2) * ppm;
    let missing = 0;
    for (let k = Math.floor(first / tileSamples); k * tileSamples < last; k++) {
      const tile = this.tile(step, k, tileSamples);
      if (!tile) {
        missing++;
        continue;
      }
      const tx = x0 + tile.from * dx;
      for (let l = 0; l < this.leads.length; l++)
        drawTrace(ctx, tile.data[l], tx, dx * step, base(l), pxPerUv, 0, w);
    }
    for (let l = 0; l < this.leads.length; l++) {
      if (x0 > 0) drawCalPulse(ctx, x0 - 8 * ppm, base(l), ppm, speed, gain);
      ctx.fillStyle = 'rgba(255,255,255,0.8)';
      ctx.fillRect(0, base(l) - rh * ppm * 0.5 + 1, 34, 16);
      drawLabel(ctx, this.leads[l], 3, base(l) - rh * ppm * 0.5 + 13);
    }
    this.drawSeconds(ctx, first, last, x0, dx, bandTop + 3.5 * ppm, 0, w);
    this.drawBeats(ctx, first, last, x0, dx, rowsTop - 1, 0, w);
    canvas.dataset.recording = String(this.rec.id);
    canvas.dataset.mode = 'strip';
    canvas.dataset.cells = JSON.stringify(
      this.leads.map((lead, r) => ({ lead, x: 0, y: rowsTop + r * rh * ppm, w, h: rh * ppm })),
    );
    canvas.dataset.loading = String(missing);
    canvas.setAttribute(
      'aria-label',
      t('viewer.ariaStrip', { n: this.leads.length, from: clock(first / this.fs), to: clock(last / this.fs) }),
    );
    this.onDraw({ width: w, height: h });
  }

  /** Tile K (TILE_SAMPLES samples at STEP) if fetched; otherwise starts fetching it and returns null. */
  tile(step, k, tileSamples) {
    const key = `${step}:${k}`;
    const have = this.tiles.get(key);
    if (have && have.data) {
      this.tiles.delete(key); // most recently used last
      this.tiles.set(key, have);
      return have;
    }
    if (have) return null; // on its way
    const gen = this.gen, entry = { from: k * tileSamples, data: null };
    this.tiles.set(key, entry);
    api
      .signal(this.rec.id, k * tileSamples, tileSamples, step)
      .then((s) => {
        if (gen !== this.gen) return;
        entry.data = s.data;
        while (this.tiles.size > MAX_TILES) this.tiles.delete(this.tiles.keys().next().value);
        this.schedule();
      })
      .catch((e) => {
        if (gen !== this.gen) return;
        this.tiles.delete(key);
        this.onError(e.message);
      });
    return null;
  }

  // ---- marks on the paper -----------------------------------------------------------------

  /** Beat labels (N/S/V/F/Q) of samples FROM..TO, sample s at X0 + (s - ORIGIN)*DX, on line Y. */
  drawBeats(ctx, from, to, x0, dx, y, xmin, xmax, origin = from) {
    ctx.font = 'bold 11px sans-serif';
    ctx.textAlign = 'center';
    for (const [s, label] of this.beats) {
      if (s < from || s >= to) continue;
      const x = x0 + (s - (this.mode === 'standard' ? origin : 0)) * dx;
      if (x < xmin || x > xmax) continue;
      ctx.fillStyle = BEAT_COLORS[label] || '#333';
      ctx.fillText(label, x, y);
    }
    ctx.textAlign = 'start';
  }

  drawSeconds(ctx, from, to, x0, dx, y, xmin, xmax) {
    const every = this.speed < 20 ? 2 : 1;
    ctx.font = '10px sans-serif';
    ctx.fillStyle = '#555';
    ctx.textAlign = 'center';
    const s0 = Math.ceil(from / this.fs / every) * every;
    for (let s = s0; s * this.fs <= to; s += every) {
      const x = x0 + (s * this.fs - (this.mode === 'standard' ? this.start : 0)) * dx;
      if (x >= xmin && x <= xmax) ctx.fillText(clock(s), x, y);
    }
    ctx.textAlign = 'start';
  }

  /** Shades each flag's span (sample s at X0 + (s - ORIGIN)*DX) from Y, H px tall. */
  drawFlagBands(ctx, origin, x0, dx, y, h, xmin, xmax) {
    for (const f of this.flags) {
      let a = x0 + (f.start - origin) * dx, b = x0 + (Math.max(f.end, f.start + this.fs * 0.2) - origin) * dx;
      a = Math.max(a, xmin);
      b = Math.min(b, xmax);
      if (b <= a) continue;
      ctx.fillStyle = FLAG_FILL[f.priority] || FLAG_FILL[3];
      ctx.fillRect(a, y, b - a, h);
      if (this.highlight === f) {
        ctx.strokeStyle = '#b00020';
        ctx.lineWidth = 2;
        ctx.strokeRect(a + 1, y + 1, b - a - 2, h - 2);
        ctx.lineWidth = 1;
      }
      drawLabel(ctx, f.code, a + 3, y + h - 4, '#7a0016', '10px sans-serif');
    }
  }
}
