// harness.mjs — what the browser test (web_test.mjs) and the latency bench (latency.mjs) share: an
// ecgnetd on a scratch data directory driven by the ecgnet CLI (devices, users, synthetic records,
// replays), headless Chromium, and the two page timings (a critical recording to the page's
// alarm; a click to the drawn 12-lead).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls FN every 100 ms until it returns something truthy (returned), or throws after MS. */
export async function waitFor(what, fn, ms = 15000) {
  const end = Date.now() + ms;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch {
      /* not yet */
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
    s.on('error', reject);
  });
}

/** ecgnetd and the ecgnet CLI of BUILD_DIR on a scratch directory (PREFIX names it). */
export class Bench {
  constructor(buildDir, prefix = 'ecgnet-web-') {
    this.ecgnet = path.resolve(buildDir, 'cmd/ecgnet');
    this.ecgnetd = path.resolve(buildDir, 'cmd/ecgnetd');
    for (const f of [this.ecgnet, this.ecgnetd, CHROMIUM])
      if (!fs.existsSync(f)) throw new Error(`${f} not found (build ecgnet and ecgnetd, install chromium)`);
    this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    this.data = path.join(this.tmp, 'data');
    this.recs = path.join(this.tmp, 'records');
    fs.mkdirSync(this.recs);
    this.port = 0;
    this.daemon = null;
  }

  base() {
    return `http://127.0.0.1:${this.port}`;
  }

  run(argv, input) {
    const r = spawnSync(argv[0], argv.slice(1), { input, encoding: 'utf8', timeout: 120000 });
    if (r.status !== 0)
      throw new Error(`${argv.map((a) => path.basename(a)).join(' ')} exited ${r.status}: ${r.stderr || r.error}`);
    return r.stdout + r.stderr;
  }

  /** Registers device ID at SITE; returns its token. */
  addDevice(id, site) {
    const out = this.run([this.ecgnet, 'device', 'add', id, '--site', site, '--data', this.data]);
    const m = out.match(/token: (\S+)/);
    if (!m) throw new Error(`no token in: ${out}`);
    return m[1];
  }

  addUser(name, role, password, site) {
    this.run([this.ecgnet, 'user', 'add', name, '--role', role, ...(site ? ['--site', site] : []), '--data', this.data], `${password}\n`);
  }

  /** A synthetic record NAME (ecgnet synth OPTS); with PATIENT_ID, as EDF+ carrying that patient. */
  synth(name, opts, patientId) {
    this.run([this.ecgnet, 'synth', this.recs, name, ...opts]);
    const wfdb = path.join(this.recs, name);
    if (!patientId) return wfdb;
    const edf = path.join(this.recs, `${name}.edf`);
    this.run([this.ecgnet, 'analyze', wfdb, '--edf-out', edf]);
    // EDF+ "patient identification" (bytes 8..87): code, sex, birth date, name.
    const fd = fs.openSync(edf, 'r+');
    fs.writeSync(fd, Buffer.from(`${patientId} M 01-JAN-1960 Test_Patient`.padEnd(80, ' '), 'latin1'), 0, 80, 8);
    fs.closeSync(fd);
    return edf;
  }

  /** Streams RECORD as DEVICE (TOKEN) under the id RECORDING, as fast as the server takes it. */
  replay(record, device, token, recording, extra = []) {
    this.run([this.ecgnet, 'replay', record, '--url', `ws://127.0.0.1:${this.port}`, '--device', device, '--token', token,
      '--recording', recording, '--speed', '0', '--timeout', '60', '--quiet', ...extra]);
  }

  /** Starts ecgnetd on a free port, or on PORT (a restart: the pages reconnect to the same place),
   * with ecgnetd's options ARGS besides --data and --port. */
  async start(port = 0, args = []) {
    this.port = port || (await freePort());
    const log = fs.openSync(path.join(this.tmp, 'ecgnetd.log'), 'a');
    this.daemon = spawn(this.ecgnetd, ['--data', this.data, '--port', String(this.port), ...args], { stdio: ['ignore', log, log] });
    await waitFor('ecgnetd /healthz', async () => (await fetch(`${this.base()}/healthz`)).ok);
  }

  /** 1 when this ecgnetd knows the option OPTION (its --help names it). */
  hasOption(option) {
    const r = spawnSync(this.ecgnetd, ['--help'], { encoding: 'utf8', timeout: 10000 });
    return `${r.stdout}${r.stderr}`.includes(option);
  }

  async stop() {
    if (!this.daemon) return;
    const d = this.daemon;
    this.daemon = null;
    d.kill('SIGTERM');
    await new Promise((r) => (d.exitCode !== null ? r() : d.on('exit', r)));
  }

  remove() {
    fs.rmSync(this.tmp, { recursive: true, force: true });
  }
}

/** Headless Chromium (Debian's) with the browser's usual autoplay rule: the page may sound only
 * after a user gesture, so the beep proves that the login click unlocked its AudioContext. */
export function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--use-fake-ui-for-media-stream'],
  });
}

/** Logs NAME in on PAGE (already showing the login form) and waits for the worklist. */
export async function login(page, name, password) {
  await page.fill('#login-name', name);
  await page.fill('#login-password', password);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#worklist-view', { state: 'visible' });
}

/** The worklist's id of recording NAME, from the API as the page's session sees it. */
export function recordingId(page, name) {
  return page.evaluate(async (name) => {
    const r = await fetch('/api/worklist').then((x) => x.json());
    const it = r.recordings.find((x) => x.recording === name);
    return it ? it.id : null;
  }, name);
}

/**
 * "Critical to page": REPLAY() streams a recording named NAME that raises a critical flag, while
 * PAGE shows the worklist with its live socket open. Measured from the flag's raised_ms (the
 * server's clock when it wrote the flag row: the flag is stored) to the moment the page raised
 * its alarm for that recording (banner data-shown-ms: the page's Date.now() right after the
 * worklist answer holding the critical row was drawn) — one clock, one machine.
 * Returns {ms, id, raisedMs, shownMs, beeped}.
 */
export async function criticalToPage(page, replay, name, timeoutMs = 15000) {
  await replay();
  const id = await waitFor(`${name} in the worklist`, () => recordingId(page, name), timeoutMs);
  await page.waitForFunction((id) => document.querySelector('#banner').dataset.recording === String(id), id, {
    timeout: timeoutMs,
  });
  const { raisedMs, shownMs, beeped } = await page.evaluate(async (id) => {
    const r = await fetch(`/api/worklist?priority=critical`).then((x) => x.json());
    const it = r.recordings.find((x) => x.id === id);
    const raised = Math.min(...it.flags.filter((f) => f.priority === 0).map((f) => f.raised_ms));
    const b = document.querySelector('#banner');
    return { raisedMs: raised, shownMs: Number(b.dataset.shownMs), beeped: b.dataset.beeped === 'true' };
  }, id);
  return { ms: shownMs - raisedMs, id, raisedMs, shownMs, beeped };
}

/**
 * "Click to drawn 12-lead": clicks recording ID's worklist row and waits for the viewer's
 * data-drawn-ms: performance.now() from the click to the first animation frame after the 3×4
 * page and rhythm strip of ten seconds were drawn (both requests, the recording and its samples,
 * included). Returns the milliseconds.
 */
export async function clickToDrawn(page, base, id) {
  if (!(await page.isVisible('#worklist-view'))) await page.goto(`${base}/#/worklist`);
  await page.waitForSelector(`#worklist-body tr[data-id="${id}"]`);
  await page.click(`#worklist-body tr[data-id="${id}"]`);
  await page.waitForFunction((id) => document.querySelector('#paper').dataset.drawnFor === String(id), id);
  return Number(await page.getAttribute('#paper', 'data-drawn-ms'));
}
