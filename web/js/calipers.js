// calipers.js — click-and-drag calipers over the ECG paper: time (ms and the rate it implies) and
// amplitude (µV), read from the paper's calibrated scale.
import { t } from './i18n.js';

/** Interval, rate and amplitude between two points DX, DY px apart at SCALE {ppm, speed, gain}. */
export function measure(dx, dy, scale) {
  const ms = (Math.abs(dx) / (scale.ppm * scale.speed)) * 1000;
  const uv = (-dy / (scale.ppm * scale.gain)) * 1000; // up is positive
  return { ms, bpm: ms > 0 ? 60000 / ms : Infinity, uv };
}

export function describe(m) {
  const bpm = Number.isFinite(m.bpm) ? t('calipers.bpm', { n: Math.round(m.bpm) }) : '—';
  return `Δt ${Math.round(m.ms)} ms · ${bpm} · Δ ${Math.round(m.uv)} µV`;
}

export class Calipers {
  /** OVERLAY: the canvas over the paper; SCALE(): the paper's {ppm, speed, gain}; READOUT: an
   * <output> for the measurement. */
  constructor(overlay, scale, readout) {
    this.overlay = overlay;
    this.scale = scale;
    this.readout = readout;
    this.a = null;
    this.b = null;
    overlay.addEventListener('pointerdown', (e) => {
      overlay.setPointerCapture(e.pointerId);
      this.a = this.point(e);
      this.b = this.a;
      this.dragging = true;
      this.draw();
    });
    overlay.addEventListener('pointermove', (e) => {
      if (!this.dragging) return;
      this.b = this.point(e);
      this.draw();
    });
    const end = (e) => {
      if (!this.dragging) return;
      this.dragging = false;
      this.b = this.point(e);
      this.draw();
    };
    overlay.addEventListener('pointerup', end);
    overlay.addEventListener('pointercancel', end);
  }

  point(e) {
    const r = this.overlay.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  }

  /** The paper was redrawn at W×H px: the overlay follows and the old measurement goes. */
  resize(w, h) {
    const dpr = window.devicePixelRatio || 1;
    this.overlay.width = Math.round(w * dpr);
    this.overlay.height = Math.round(h * dpr);
    this.overlay.style.width = `${w}px`;
    this.overlay.style.height = `${h}px`;
    this.a = this.b = null;
    this.draw();
  }

  draw() {
    const dpr = window.devicePixelRatio || 1;
    const ctx = this.overlay.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, this.overlay.width, this.overlay.height);
    if (!this.a || !this.b) {
      this.readout.textContent = '';
      return;
    }
    const { a, b } = this;
    ctx.strokeStyle = '#0b5cad';
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    for (const x of [a.x, b.x]) {
      ctx.moveTo(x, Math.min(a.y, b.y) - 30);
      ctx.lineTo(x, Math.max(a.y, b.y) + 30);
    }
    ctx.moveTo(a.x, a.y);
    ctx.lineTo(b.x, a.y);
    ctx.moveTo(b.x, a.y);
    ctx.lineTo(b.x, b.y);
    ctx.stroke();
    const text = describe(measure(b.x - a.x, b.y - a.y, this.scale()));
    ctx.font = 'bold 12px sans-serif';
    const tx = Math.min(Math.max(a.x, b.x) + 6, this.overlay.clientWidth - ctx.measureText(text).width - 4);
    ctx.fillStyle = 'rgba(255,255,255,0.9)';
    ctx.fillRect(tx - 2, Math.min(a.y, b.y) - 28, ctx.measureText(text).width + 4, 16);
    ctx.fillStyle = '#0b5cad';
    ctx.fillText(text, tx, Math.min(a.y, b.y) - 16);
    this.readout.textContent = text;
  }
}
