// paper.js — ECG paper on a canvas: the screen's calibration (px per mm), the 1 mm / 5 mm grid,
// traces in microvolts and the 1 mV calibration pulse.

const STORAGE_KEY = 'ecgnet.pxPerMm';
/** CSS assumes 96 px per inch; a real screen differs, hence the calibration. */
export const DEFAULT_PX_PER_MM = 96 / 25.4;
export const CARD_WIDTH_MM = 85.6; // ISO/IEC 7810 ID-1: a bank card

export const COLORS = {
  paper: '#ffffff',
  minor: '#f4c2c7', // 1 mm lines
  major: '#dc6b78', // 5 mm lines
  trace: '#000000',
  label: '#1a1a1a',
};

/** The saved calibration (CSS px per mm on this screen), or the 96-dpi default. */
export function pxPerMm() {
  let v = NaN;
  try {
    v = parseFloat(localStorage.getItem(STORAGE_KEY));
  } catch {
    /* storage disabled: the default */
  }
  return Number.isFinite(v) && v >= 1 && v <= 20 ? v : DEFAULT_PX_PER_MM;
}

export function setPxPerMm(v) {
  if (!(Number.isFinite(v) && v >= 1 && v <= 20)) throw new RangeError(`px per mm ${v} is not 1..20`);
  localStorage.setItem(STORAGE_KEY, String(v));
}

export function resetPxPerMm() {
  localStorage.removeItem(STORAGE_KEY);
}

/** Sizes CANVAS to W×H CSS px (sharp on high-density screens) and returns its 2-D context, in CSS px. */
export function sizeCanvas(canvas, w, h) {
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.max(1, Math.round(w * dpr));
  canvas.height = Math.max(1, Math.round(h * dpr));
  canvas.style.width = `${w}px`;
  canvas.style.height = `${h}px`;
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return ctx;
}

/** Paper over the rectangle X,Y,W,H (CSS px); the grid's origin is at ORIGIN_X (px, may lie left
 * of X when the paper scrolls) and Y, PPM px per mm. Lines sit on whole pixels, so that a 1 mm
 * square is PPM px rounded, never blurred across two. */
export function drawGrid(ctx, x, y, w, h, ppm, originX = x) {
  ctx.fillStyle = COLORS.paper;
  ctx.fillRect(x, y, w, h);
  const lines = (major) => {
    ctx.beginPath();
    const first = Math.ceil((x - originX) / ppm);
    for (let mm = first; originX + mm * ppm <= x + w; mm++) {
      if ((mm % 5 === 0) !== major) continue;
      const px = Math.round(originX + mm * ppm) + 0.5;
      ctx.moveTo(px, y);
      ctx.lineTo(px, y + h);
    }
    for (let mm = 0; y + mm * ppm <= y + h; mm++) {
      if ((mm % 5 === 0) !== major) continue;
      const py = Math.round(y + mm * ppm) + 0.5;
      ctx.moveTo(x, py);
      ctx.lineTo(x + w, py);
    }
    ctx.strokeStyle = major ? COLORS.major : COLORS.minor;
    ctx.lineWidth = 1;
    ctx.stroke();
  };
  lines(false);
  lines(true);
}

/** Draws VALUES (µV; null entries are gaps) as a trace: value i at x = X0 + i*DX px, baseline at
 * Y0, PX_PER_UV px per µV (up is positive). Only points between XMIN and XMAX are drawn. */
export function drawTrace(ctx, values, x0, dx, y0, pxPerUv, xmin = -Infinity, xmax = Infinity) {
  ctx.beginPath();
  let pen = false;
  const i0 = Math.max(0, Math.floor((xmin - x0) / dx) - 1);
  const i1 = Math.min(values.length, Math.ceil((xmax - x0) / dx) + 2);
  for (let i = i0; i < i1; i++) {
    const v = values[i];
    if (v === null || v === undefined || !Number.isFinite(v)) {
      pen = false;
      continue;
    }
    const px = x0 + i * dx, py = y0 - v * pxPerUv;
    if (pen) ctx.lineTo(px, py);
    else ctx.moveTo(px, py);
    pen = true;
  }
  ctx.strokeStyle = COLORS.trace;
  ctx.lineWidth = 1.2;
  ctx.lineJoin = 'round';
  ctx.stroke();
}

/** The 1 mV, 200 ms calibration pulse at X (its foot) on baseline Y. */
export function drawCalPulse(ctx, x, y, ppm, speed, gain) {
  const w = 0.2 * speed * ppm, h = gain * ppm;
  ctx.beginPath();
  ctx.moveTo(x, y);
  ctx.lineTo(x + w * 0.25, y);
  ctx.lineTo(x + w * 0.25, y - h);
  ctx.lineTo(x + w * 1.25, y - h);
  ctx.lineTo(x + w * 1.25, y);
  ctx.lineTo(x + w * 1.5, y);
  ctx.strokeStyle = COLORS.trace;
  ctx.lineWidth = 1.2;
  ctx.stroke();
}

export function drawLabel(ctx, text, x, y, color = COLORS.label, font = 'bold 12px sans-serif') {
  ctx.font = font;
  ctx.fillStyle = color;
  ctx.textBaseline = 'alphabetic';
  ctx.fillText(text, x, y);
}
