// calibrate.js — the screen calibration dialog: a box the user matches to a bank card's width
// (85.6 mm), saved as px per mm so that 10 mm on the paper is 10 mm on this screen.
import { CARD_WIDTH_MM, DEFAULT_PX_PER_MM, pxPerMm, resetPxPerMm, setPxPerMm } from './paper.js';

/** ELS: {dialog, box, range, value, reset, cancel}; ON_SAVED() redraws what depends on the scale. */
export function setupCalibration(els, onSaved) {
  let chosen = pxPerMm();
  const show = (ppm) => {
    chosen = ppm;
    const w = ppm * CARD_WIDTH_MM;
    els.box.style.width = `${w}px`;
    els.box.style.height = `${(w * 53.98) / CARD_WIDTH_MM}px`; // the card's height
    els.value.textContent = `${ppm.toFixed(3)} px/mm（${(ppm * 25.4).toFixed(0)} dpi）`;
  };
  els.range.addEventListener('input', () => show(Number(els.range.value) / CARD_WIDTH_MM));
  els.reset.addEventListener('click', () => {
    els.range.value = String(Math.round(DEFAULT_PX_PER_MM * CARD_WIDTH_MM));
    show(DEFAULT_PX_PER_MM);
  });
  els.cancel.addEventListener('click', () => els.dialog.close());
  els.dialog.querySelector('form').addEventListener('submit', (e) => {
    e.preventDefault();
    if (chosen === DEFAULT_PX_PER_MM) resetPxPerMm();
    else setPxPerMm(chosen);
    els.dialog.close();
    onSaved();
  });
  return () => {
    const ppm = pxPerMm();
    els.range.value = String(Math.round(ppm * CARD_WIDTH_MM));
    show(ppm);
    els.dialog.showModal();
  };
}
