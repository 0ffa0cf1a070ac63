// web_test.mjs — the cardiologists' web page end to end: ecgnetd serving web/, devices streaming
// synthetic ECGs with `ecgnet replay`, and headless Chromium (Debian's) reading, measuring,
// reporting and signing them; a clinic user must not see another site's recording.
//
// usage: node web_test.mjs BUILD_DIR [--keep] [--artifacts DIR]
//   BUILD_DIR holds cmd/ecgnet and cmd/ecgnetd. Exit 0 when every check passed, 1 otherwise.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const buildDir = args.find((a) => !a.startsWith('--'));
const keep = args.includes('--keep');
const artifacts = args.includes('--artifacts') ? args[args.indexOf('--artifacts') + 1] : path.join(HERE, 'artifacts');
if (!buildDir) {
  console.error('usage: node web_test.mjs BUILD_DIR [--keep] [--artifacts DIR]');
  process.exit(2);
}
const ECGNET = path.resolve(buildDir, 'cmd/ecgnet');
const ECGNETD = path.resolve(buildDir, 'cmd/ecgnetd');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
for (const f of [ECGNET, ECGNETD, CHROMIUM])
  if (!fs.existsSync(f)) {
    console.error(`web_test: ${f} not found (build ecgnet and ecgnetd, install chromium)`);
    process.exit(2);
  }

const SITE_A = '桥头镇卫生院';
const SITE_B = '河口村卫生室';
const PW_CARD = 'correct horse battery';
const PW_CLINIC = 'village clinic pw';
const PATIENT = 'PAT-0001';
const PPM = 4; // the page's calibration for this test: 4 px per mm, so 5 mm is 20 px

// ---- checks -------------------------------------------------------------------------------
let passed = 0, failed = 0;
function check(name, ok, detail = '') {
  if (ok) {
    passed++;
    console.log(`ok   ${name}`);
  } else {
    failed++;
    console.log(`FAIL ${name}${detail ? ` — ${detail}` : ''}`);
  }
  return ok;
}

// ---- the server and the CLI ---------------------------------------------------------------
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ecgnet-web-'));
const data = path.join(tmp, 'data');
const recs = path.join(tmp, 'records');
fs.mkdirSync(recs);
fs.mkdirSync(artifacts, { recursive: true });

function run(argv, input) {
  const r = spawnSync(argv[0], argv.slice(1), { input, encoding: 'utf8', timeout: 120000 });
  if (r.status !== 0)
    throw new Error(`${argv.map((a) => path.basename(a)).join(' ')} exited ${r.status}: ${r.stderr || r.error}`);
  return r.stdout + r.stderr;
}

function addDevice(id, site) {
  const out = run([ECGNET, 'device', 'add', id, '--site', site, '--data', data]);
  const m = out.match(/token: (\S+)/);
  if (!m) throw new Error(`no token in: ${out}`);
  return m[1];
}

function addUser(name, role, password, site) {
  run([ECGNET, 'user', 'add', name, '--role', role, ...(site ? ['--site', site] : []), '--data', data], `${password}\n`);
}

/** A synthetic 12-lead record NAME; with PATIENT_ID, as EDF+ carrying that patient. */
function synth(name, opts, patientId) {
  run([ECGNET, 'synth', recs, name, ...opts]);
  const wfdb = path.join(recs, name);
  if (!patientId) return wfdb;
  const edf = path.join(recs, `${name}.edf`);
  run([ECGNET, 'analyze', wfdb, '--edf-out', edf]);
  // EDF+ "patient identification" (bytes 8..87): code, sex, birth date, name.
  const fd = fs.openSync(edf, 'r+');
  fs.writeSync(fd, Buffer.from(`${patientId} M 01-JAN-1960 Test_Patient`.padEnd(80, ' '), 'latin1'), 0, 80, 8);
  fs.closeSync(fd);
  return edf;
}

function replay(record, device, token, recording, extra = []) {
  run([ECGNET, 'replay', record, '--url', `ws://127.0.0.1:${port}`, '--device', device, '--token', token,
    '--recording', recording, '--speed', '0', '--timeout', '60', '--quiet', ...extra]);
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

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what, fn, ms = 15000) {
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

let port, daemon, browser, page;
const base = () => `http://127.0.0.1:${port}`;

async function main() {
  const tokenA = addDevice('dev-a', SITE_A);
  const tokenB = addDevice('dev-b', SITE_B);
  addUser('card1', 'cardiologist', PW_CARD);
  addUser('clinicb', 'clinic', PW_CLINIC, SITE_B);

  port = await freePort();
  const log = fs.openSync(path.join(tmp, 'ecgnetd.log'), 'w');
  daemon = spawn(ECGNETD, ['--data', data, '--port', String(port)], { stdio: ['ignore', log, log] });
  await waitFor('ecgnetd /healthz', async () => (await fetch(`${base()}/healthz`)).ok);

  // ---- the page is served, safely --------------------------------------------------------
  const index = await fetch(`${base()}/`);
  const indexText = await index.text();
  if (!check('GET / serves index.html', index.status === 200 && indexText.includes('心电一张网'),
    `status ${index.status}: is http_static_serve called from net/http.c?`))
    throw new Error('ecgnetd does not serve web/: nothing else to test');
  check('index.html is text/html', (index.headers.get('content-type') || '').startsWith('text/html'));
  check('a Content-Security-Policy limits the page to its own server',
    (index.headers.get('content-security-policy') || '').includes("default-src 'self'"));
  check('nosniff', index.headers.get('x-content-type-options') === 'nosniff');
  const js = await fetch(`${base()}/js/main.js`);
  check('modules are text/javascript', js.status === 200 && (js.headers.get('content-type') || '').startsWith('text/javascript'));
  const css = await fetch(`${base()}/app.css`);
  check('the style sheet is text/css', css.status === 200 && (css.headers.get('content-type') || '').startsWith('text/css'));
  for (const bad of ['/../CMakeLists.txt', '/%2e%2e/net/http_static.c', '/js/%2e%2e/%2e%2e/README.md',
    '/.gitignore.txt', '//etc/passwd.txt', '/js/nothere.js', '/js/']) {
    const r = await rawGet(bad);
    check(`GET ${bad} is refused (404)`, r.status === 404, `status ${r.status}`);
  }

  // ---- recordings: two ECGs of one patient at site A, one at site B, one continuous -------
  replay(synth('before', ['--seconds', '10', '--hr', '62', '--seed', '1'], PATIENT), 'dev-a', tokenA, 'a-before');
  await sleep(1100); // the two must differ in received time
  replay(synth('now', ['--seconds', '10', '--hr', '95', '--pvc', '0.15', '--seed', '3'], PATIENT), 'dev-a', tokenA, 'a-now');
  replay(synth('other', ['--seconds', '10', '--hr', '70', '--seed', '5']), 'dev-b', tokenB, 'b-other');
  replay(synth('holter', ['--seconds', '120', '--leads', '3', '--hr', '80', '--pvc', '0.05', '--seed', '7']),
    'dev-a', tokenA, 'a-holter', ['--mode', 'continuous']);

  // ---- the browser ------------------------------------------------------------------------
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required', '--use-fake-ui-for-media-stream'],
  });
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, deviceScaleFactor: 1 });
  await context.addInitScript((ppm) => localStorage.setItem('ecgnet.pxPerMm', String(ppm)), PPM);
  page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 40[134]/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  const signalRequests = [];
  page.on('request', (r) => {
    if (r.url().includes('/signal?')) signalRequests.push(new URL(r.url()));
  });

  await page.goto(base());
  await page.waitForSelector('#login-form', { state: 'visible' });
  check('the login form shows first', true);
  await page.fill('#login-name', 'card1');
  await page.fill('#login-password', 'not the password');
  await page.click('#login-form button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#login-error').textContent.length > 0);
  check('a wrong password is refused on the page', (await page.textContent('#login-error')).includes('Wrong name or password'));
  await page.fill('#login-password', PW_CARD);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#worklist-view', { state: 'visible' });
  await page.waitForSelector('#worklist-body tr');
  const recordingIds = () => page.evaluate(async () => {
    const r = await fetch('/api/worklist').then((x) => x.json());
    return Object.fromEntries(r.recordings.map((x) => [x.recording, x.id]));
  });
  const ids = await recordingIds();
  check('the worklist API lists the four recordings', ['a-before', 'a-now', 'b-other', 'a-holter'].every((k) => ids[k]),
    JSON.stringify(ids));
  const rows = await worklistRows(page);
  check('the cardiologist sees both sites', rows.some((r) => r.text.includes(SITE_A)) && rows.some((r) => r.text.includes(SITE_B)));
  check('the worklist is sorted by priority', sortedByPriority(rows), rows.map((r) => r.cls).join(','));
  await page.screenshot({ path: path.join(artifacts, 'worklist.png') });

  // A critical recording arrives while the page is open: banner within a refresh (5 s).
  replay(synth('brady', ['--seconds', '10', '--hr', '25', '--seed', '9']), 'dev-a', tokenA, 'a-critical');
  const banner = await waitFor('the critical banner', async () => page.isVisible('#banner'), 15000).catch(() => false);
  check('a new critical recording raises the banner', banner);
  const bannerText = banner ? await page.textContent('#banner-text') : '';
  check('the banner gives the reason in Chinese and English', bannerText.includes('平均心室率') && bannerText.includes('Mean ventricular rate'), bannerText);
  check('the banner sounded the beep (WebAudio)', (await page.getAttribute('#banner', 'data-beeped')) === 'true');
  await waitFor('the critical row', async () => (await worklistRows(page)).some((r) => r.cls.includes('critical')));
  Object.assign(ids, await recordingIds());
  const rows2 = await worklistRows(page);
  check('the critical row comes first, red, with its reason', rows2[0].cls.includes('critical') &&
    rows2[0].text.includes('平均心室率') && rows2[0].text.includes('Mean ventricular rate'), rows2[0].text);
  check('still sorted by priority, then age', sortedByPriority(rows2));
  check('the critical row is drawn red', (await page.evaluate(() =>
    getComputedStyle(document.querySelector('#worklist-body tr.critical')).color)) === 'rgb(176, 0, 32)');
  await page.selectOption('#filter-priority', 'critical');
  await waitFor('the critical filter', async () => (await worklistRows(page)).every((r) => r.cls.includes('critical')));
  check('the priority filter keeps only critical rows', (await worklistRows(page)).length === 1);
  await page.selectOption('#filter-priority', '');
  await page.selectOption('#filter-review', 'signed');
  await waitFor('the review filter', async () => (await page.$$('#worklist-body tr')).length === 0);
  check('the review filter: nothing signed yet', await page.isVisible('#worklist-empty'));
  await page.selectOption('#filter-review', '');
  await waitFor('all rows again', async () => (await worklistRows(page)).length === 5);
  await page.click('#banner-close');
  await page.screenshot({ path: path.join(artifacts, 'worklist-critical.png') });

  // ---- the viewer: the standard 12-lead page ------------------------------------------------
  await page.click(`#worklist-body tr[data-id="${ids['a-now']}"]`);
  await page.waitForFunction(() => document.querySelector('#paper').dataset.mode === 'standard');
  const paper = await canvasPixels(page);
  const cells = JSON.parse(await page.getAttribute('#paper', 'data-cells'));
  check('the 3×4 layout has 12 leads and the rhythm strip', cells.length === 13 &&
    ['I', 'aVR', 'V1', 'V4', 'II', 'aVL', 'V2', 'V5', 'III', 'aVF', 'V3', 'V6'].every((l) => cells.some((c) => c.lead === l)),
    cells.map((c) => c.lead).join(','));
  check('columns I / aVR / V1 / V4 run left to right, 2.5 s (62.5 mm) apart',
    ['I', 'aVR', 'V1', 'V4'].map((l) => cells.find((c) => c.lead === l).x).every((x, i, a) => i === 0 || Math.abs(x - a[i - 1] - 62.5 * PPM) < 0.01));
  // The grid: along a line through the top margin, 5 mm lines every 20 px and 1 mm lines every 4 px.
  const y = 3;
  let majorOk = 0, majorBad = 0, minorOk = 0;
  for (let x = 0; x < paper.width; x++) {
    const c = paper.at(x, y);
    const major = near(c, [0xdc, 0x6b, 0x78]), minor = near(c, [0xf4, 0xc2, 0xc7]);
    if (major) x % 20 === 0 ? majorOk++ : majorBad++;
    if (minor && x % 4 === 0 && x % 20 !== 0) minorOk++;
  }
  const expectMajor = Math.floor((paper.width - 1) / 20) + 1;
  check('5 mm grid lines every 20 px at 4 px/mm', majorOk >= expectMajor - 1 && majorBad === 0, `${majorOk}/${expectMajor}, ${majorBad} off-grid`);
  check('1 mm grid lines in between', minorOk >= expectMajor * 3, `${minorOk}`);
  for (const cell of cells) {
    const dark = paper.count(cell.x + 4, cell.y + 18, cell.w - 8, cell.h - 18, (c) => c[0] < 80 && c[1] < 80 && c[2] < 80);
    check(`lead ${cell.lead} has a trace`, dark > cell.w / 4, `${dark} dark pixels`);
  }
  const rhythm = cells[12];
  const beatMarks = paper.count(rhythm.x, rhythm.y - 8 * PPM, rhythm.w, 8 * PPM, (c) => near(c, [0x33, 0x33, 0x33], 60) || near(c, [0xb0, 0, 0x20], 60));
  check('beat labels are written above the rhythm strip', beatMarks > 30, `${beatMarks} pixels`);
  const meas = await page.textContent('#measurements');
  check('the machine measurements show heart rate and rhythm', /心率 Heart rate\s*9\d bpm/.test(meas) && meas.includes('Sinus rhythm'), meas);
  check('the trigeminy flag is listed beside the tracing', (await page.textContent('#flag-list')).includes('Ventricular trigeminy'));
  await page.screenshot({ path: path.join(artifacts, 'viewer-12lead.png') });

  // speed and gain
  const w25 = paper.width;
  await page.selectOption('#speed', '50');
  await page.waitForFunction((w) => document.querySelector('#paper').width > w * 1.8, w25);
  check('50 mm/s doubles the paper', true);
  await page.selectOption('#speed', '25');
  await page.selectOption('#gain', '20');
  await page.waitForFunction(() => JSON.parse(document.querySelector('#paper').dataset.cells)[0].h === 60 * 4);
  check('20 mm/mV doubles the rows', true);
  await page.selectOption('#gain', '10');
  await page.waitForFunction(() => JSON.parse(document.querySelector('#paper').dataset.cells)[0].h === 30 * 4);

  // calipers: 100 px at 4 px/mm and 25 mm/s is 1 s (60 bpm); 40 px up at 10 mm/mV is 1 mV
  const box = await page.locator('#calipers').boundingBox();
  await page.mouse.move(box.x + 300, box.y + 200);
  await page.mouse.down();
  await page.mouse.move(box.x + 350, box.y + 180, { steps: 3 });
  await page.mouse.move(box.x + 400, box.y + 160, { steps: 3 });
  await page.mouse.up();
  const readout = await page.textContent('#caliper-readout');
  check('calipers measure 1000 ms, 60 bpm and 1000 µV', readout.includes('Δt 1000 ms') && readout.includes('60 bpm') && readout.includes('Δ 1000 µV'), readout);
  await page.screenshot({ path: path.join(artifacts, 'viewer-calipers.png') });

  // the report: claim, statements, free text, sign (password asked again)
  await page.click('#btn-claim');
  await page.waitForFunction(() => !document.querySelector('#btn-save').hidden || document.querySelector('#report-error').textContent);
  check('claiming shows the editor', await page.isVisible('#report-editor'), await page.textContent('#report-error'));
  await page.fill('#statement-search', '窦性心律');
  await page.click('#statement-options button[data-code="SR"]');
  await page.fill('#statement-search', 'trigeminy');
  await page.click('#statement-options button[data-code="TRIGEM"]');
  await page.fill('#report-text', '建议随访 Follow-up advised.');
  check('two statements chosen', (await page.$$('#statement-chosen li')).length === 2);
  await page.click('#btn-sign');
  await page.waitForSelector('#password-dialog[open]');
  await page.fill('#password-again', 'wrong password!');
  await page.click('#password-ok');
  await page.waitForFunction(() => document.querySelector('#report-error').textContent.includes('wrong password'));
  check('a wrong signing password is refused', true);
  await page.click('#btn-sign');
  await page.waitForSelector('#password-dialog[open]');
  await page.fill('#password-again', PW_CARD);
  await page.click('#password-ok');
  await page.waitForFunction(() => document.querySelector('#report-state').textContent.includes('signed by card1'));
  check('the report is signed', (await page.textContent('#report-readonly, #report-editor')) !== null);
  const signed = await page.evaluate(async (id) => (await fetch(`/api/recordings/${id}`).then((r) => r.json())).report, ids['a-now']);
  check('the server holds the signed report as written', signed.signed && signed.signer === 'card1' &&
    signed.statements.join('|') === '窦性心律 / Sinus rhythm|室性早搏三联律 / Ventricular trigeminy' &&
    signed.text === '建议随访 Follow-up advised.', JSON.stringify(signed));
  await page.waitForFunction(() => document.querySelector('#report-history').textContent.includes('v1'));
  check('the history lists version 1', true);

  // an amendment: a new signed version
  await page.fill('#statement-search', 'No significant change');
  await page.click('#statement-options button[data-code="NOCHANGE"]');
  await page.click('#btn-amend');
  await page.waitForSelector('#password-dialog[open]');
  await page.fill('#password-again', PW_CARD);
  await page.click('#password-ok');
  await page.waitForFunction(() => document.querySelector('#report-state').textContent.includes('version 2'));
  check('an amendment makes signed version 2', true);

  // serial comparison with the patient's earlier ECG
  await page.click('#compare-button');
  await page.waitForSelector('#compare-body .compare-grid');
  const cmp = await page.textContent('#compare-body');
  check('the comparison shows the heart-rate change', /6\d → 9\d bpm/.test(cmp), cmp);
  check('the comparison shows the rhythm change', cmp.includes('Ventricular trigeminy'), cmp);
  check('both ECGs are drawn side by side', (await page.$$('#compare-body canvas')).length === 2);
  await page.screenshot({ path: path.join(artifacts, 'viewer-compare.png'), fullPage: true });

  // ---- a flag jump on the critical recording --------------------------------------------
  await openRecording(page, ids['a-critical'], 'standard');
  const before = await canvasPixels(page);
  const redBefore = before.count(0, 0, before.width, before.height, (c) => near(c, [0xb0, 0, 0x20], 30));
  await page.click('#flag-list button.p0');
  await page.waitForTimeout(300);
  const after = await canvasPixels(page);
  const redAfter = after.count(0, 0, after.width, after.height, (c) => near(c, [0xb0, 0, 0x20], 30));
  check('clicking a flag marks it on the tracing', redAfter > redBefore + 50, `${redBefore} → ${redAfter}`);

  // "repeat the ECG" on site B's recording
  await openRecording(page, ids['b-other'], 'standard');
  await page.click('#btn-claim');
  await page.waitForSelector('#btn-repeat', { state: 'visible' });
  await page.click('#btn-repeat');
  await page.waitForSelector('#repeat-dialog[open]');
  await page.fill('#repeat-reason', '基线漂移严重，请重做 Baseline wander: please record again');
  await page.click('#repeat-ok');
  await page.waitForFunction(() => document.querySelector('#report-state').textContent.includes('Repeat'));
  check('"repeat the ECG" sends the recording back with its reason', true);

  // ---- the scrolling strip of a continuous recording, fetched in tiles --------------------
  signalRequests.length = 0;
  await openRecording(page, ids['a-holter'], 'strip');
  await page.waitForFunction(() => document.querySelector('#paper').dataset.loading === '0');
  await page.evaluate(() => {
    const s = document.querySelector('#paper-scroll');
    s.scrollLeft = s.scrollWidth / 2;
  });
  await page.waitForTimeout(200);
  await page.waitForFunction(() => document.querySelector('#paper').dataset.loading === '0');
  const strip = await canvasPixels(page);
  const rowsS = JSON.parse(await page.getAttribute('#paper', 'data-cells'));
  check('one row per lead for a 3-lead recording', rowsS.length === 3);
  for (const r of rowsS) {
    const dark = strip.count(40, r.y, strip.width - 40, r.h, (c) => c[0] < 80 && c[1] < 80 && c[2] < 80);
    check(`strip row ${r.lead} has a trace after scrolling`, dark > strip.width / 4, `${dark}`);
  }
  const tiles = signalRequests.filter((u) => Number(u.searchParams.get('step')) > 1);
  const fetched = tiles.reduce((n, u) => n + Number(u.searchParams.get('count')), 0);
  check('the strip fetches decimated tiles', tiles.length >= 2, signalRequests.map((u) => u.search).join(' '));
  check('only what is visible is fetched', fetched < 120 * 500 * 0.6, `${fetched} samples of 60000`);
  check('the middle of the recording was fetched', tiles.some((u) => Number(u.searchParams.get('from')) > 20000));
  await page.screenshot({ path: path.join(artifacts, 'viewer-strip.png') });

  // ---- calibration box --------------------------------------------------------------------
  await page.click('#open-calibration');
  await page.waitForSelector('#calibration-dialog[open]');
  const cardW = await page.evaluate(() => document.querySelector('#card-box').getBoundingClientRect().width);
  check('the calibration box is 85.6 mm at the saved scale', Math.abs(cardW - 85.6 * PPM) < 1, `${cardW}`);
  await page.click('#calibration-cancel');

  // ---- a clinic user sees only its own site -------------------------------------------------
  await page.goto(`${base()}/#/worklist`);
  await page.click('#logout');
  await page.waitForSelector('#login-form', { state: 'visible' });
  await page.fill('#login-name', 'clinicb');
  await page.fill('#login-password', PW_CLINIC);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#worklist-body tr');
  const clinicRows = await worklistRows(page);
  check('the clinic sees its own recording', clinicRows.length === 1 && clinicRows[0].text.includes(SITE_B), clinicRows.map((r) => r.text).join(' | '));
  check('the clinic sees the repeat reason', clinicRows[0].text.includes('Baseline wander'));
  await page.goto(`${base()}/#/recording/${ids['a-now']}`);
  await page.waitForFunction(() => document.querySelector('#viewer-error').textContent.length > 0);
  check('another site\'s recording is refused on the page', (await page.textContent('#viewer-error')).includes('not yours'));
  check('and nothing of it is drawn', !(await page.isVisible('#paper')) && !(await page.isVisible('#measurements')));
  const apiStatus = await page.evaluate(async (id) => (await fetch(`/api/recordings/${id}/signal?count=10`)).status, ids['a-now']);
  check('the API refuses its signal too', apiStatus === 403 || apiStatus === 404, `${apiStatus}`);
  await page.screenshot({ path: path.join(artifacts, 'clinic-refused.png') });

  check('no script errors on the page', problems.length === 0, problems.join('; '));
}

/** Opens recording ID by its address and waits until it is drawn in MODE. */
async function openRecording(page, id, mode) {
  await page.goto(`${base()}/#/recording/${id}`);
  await page.waitForFunction(([id, mode]) => {
    const c = document.querySelector('#paper');
    return c.dataset.recording === String(id) && c.dataset.mode === mode;
  }, [id, mode]);
}

/** A GET with the path sent as written (fetch would normalise the dots away). */
function rawGet(p) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(`GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
    let buf = '';
    s.on('data', (d) => (buf += d.toString('latin1')));
    s.on('end', () => resolve({ status: Number(buf.split(' ')[1]) || 0, text: buf }));
    s.on('error', reject);
  });
}

async function worklistRows(page) {
  return page.$$eval('#worklist-body tr', (trs) => trs.map((tr) => ({ id: tr.dataset.id, cls: tr.className, text: tr.textContent })));
}

function sortedByPriority(rows) {
  const order = ['critical', 'urgent', 'routine', 'none'];
  const p = rows.map((r) => order.findIndex((o) => r.cls.includes(o)));
  return p.every((v, i) => v >= 0 && (i === 0 || v >= p[i - 1]));
}

function near(c, want, tol = 24) {
  return Math.abs(c[0] - want[0]) <= tol && Math.abs(c[1] - want[1]) <= tol && Math.abs(c[2] - want[2]) <= tol;
}

/** The paper canvas's pixels (device pixels: the test runs at a device scale factor of 1). */
async function canvasPixels(page) {
  const { width, height, data } = await page.evaluate(() => {
    const c = document.querySelector('#paper');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height);
    return { width: c.width, height: c.height, data: Array.from(d.data) };
  });
  const at = (x, y) => {
    const i = (Math.round(y) * width + Math.round(x)) * 4;
    return [data[i], data[i + 1], data[i + 2]];
  };
  const count = (x0, y0, w, h, pred) => {
    let n = 0;
    for (let y = Math.max(0, Math.round(y0)); y < Math.min(height, y0 + h); y++)
      for (let x = Math.max(0, Math.round(x0)); x < Math.min(width, x0 + w); x++) if (pred(at(x, y))) n++;
    return n;
  };
  return { width, height, at, count };
}

let code = 1;
try {
  await main();
  code = failed ? 1 : 0;
} catch (e) {
  failed++;
  console.log(`FAIL the test stopped: ${e.stack || e.message}`);
  if (page) {
    await page.screenshot({ path: path.join(artifacts, 'failure.png') }).catch(() => {});
    const errors = await page.$$eval('.error', (es) => es.map((x) => x.textContent).filter(Boolean)).catch(() => []);
    if (errors.length) console.log(`     the page says: ${errors.join(' | ')}`);
  }
} finally {
  if (browser) await browser.close().catch(() => {});
  if (daemon) {
    daemon.kill('SIGTERM');
    await new Promise((r) => (daemon.exitCode !== null ? r() : daemon.on('exit', r)));
  }
  if (failed) console.log(`ecgnetd's log and the records: ${tmp}`);
  else if (!keep) fs.rmSync(tmp, { recursive: true, force: true });
  console.log(`screenshots: ${artifacts}`);
  console.log(`${passed} passed, ${failed} failed`);
}
process.exit(failed ? 1 : code);
