// web_test.mjs — the reviewers' web page end to end: ecgnetd serving web/, devices streaming
// synthetic ECGs with `ecgnet replay`, and headless Chromium (Debian's) reading, measuring,
// reporting and signing them, and downloading the signed report; a clinic user must not see
// another site's recording. Also the live worklist socket (a critical recording reaches the open
// page, timed), the time from a click to the drawn 12-lead, the language switch, the socket's
// refusals, and critical values (危急值): a cardiologist confirms one with whom at the clinic they
// told, the clinic's user is shown it in a second browser and acknowledges it, and one left
// unacknowledged escalates to the cardiologists.
//
// usage: node web_test.mjs BUILD_DIR [--keep] [--artifacts DIR]
//   BUILD_DIR holds cmd/ecgnet and cmd/ecgnetd. Exit 0 when every check passed, 1 otherwise.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bench, clickToDrawn, criticalToPage, launch, login, sleep, waitFor } from './harness.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const buildDir = args.find((a) => !a.startsWith('--'));
const keep = args.includes('--keep');
const artifacts = args.includes('--artifacts') ? args[args.indexOf('--artifacts') + 1] : path.join(HERE, 'artifacts');
if (!buildDir) {
  console.error('usage: node web_test.mjs BUILD_DIR [--keep] [--artifacts DIR]');
  process.exit(2);
}
let bench;
try {
  bench = new Bench(buildDir);
} catch (e) {
  console.error(`web_test: ${e.message}`);
  process.exit(2);
}

const SITE_A = '桥头镇卫生院';
const SITE_B = '河口村卫生室';
const PW_CARD = 'correct horse battery';
const PW_CLINIC = 'village clinic pw';
const PATIENT = 'PAT-0001';
const PATIENT_CRIT = 'PAT-0002';
const PW_CLINIC_A = 'township clinic pw';
const TOLD = 'N-0193 李娜'; // whom at the clinic the cardiologist told
const ACK_MIN = '0.02'; // after the restart: 1.2 s to acknowledge, so that an escalation is seen
const PPM = 4; // the page's calibration for this test: 4 px per mm, so 5 mm is 20 px
const CRITICAL_TO_PAGE_MS = 1000; // targets (issue #5)
const CLICK_TO_DRAWN_MS = 300;
const CJK = /[\u3400-\u9fff]/;

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

fs.mkdirSync(artifacts, { recursive: true });
const addDevice = (id, site) => bench.addDevice(id, site);
const addUser = (...a) => bench.addUser(...a);
const synth = (...a) => bench.synth(...a);
const replay = (...a) => bench.replay(...a);

let port, browser, page;
let serverDown = false;
let expectStatus = null; // a status the test provokes on purpose: its console line is no problem
const base = () => bench.base();

async function main() {
  const tokenA = addDevice('dev-a', SITE_A);
  const tokenB = addDevice('dev-b', SITE_B);
  addUser('card1', 'cardiologist', PW_CARD);
  addUser('clinicb', 'clinic', PW_CLINIC, SITE_B);
  addUser('clinica', 'clinic', PW_CLINIC_A, SITE_A);
  const ackFlag = bench.hasOption('--critical-ack-min');

  await bench.start();
  port = bench.port;

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
  // A critical recording that already waits when the cardiologist logs in: listed, never an alarm.
  const brady = synth('brady', ['--seconds', '10', '--hr', '25', '--seed', '9'], PATIENT_CRIT);
  replay(brady, 'dev-a', tokenA, 'a-critical-waiting');

  // ---- the browser ------------------------------------------------------------------------
  browser = await launch();
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, deviceScaleFactor: 1 });
  await context.addInitScript((ppm) => localStorage.setItem('ecgnet.pxPerMm', String(ppm)), PPM);
  page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    // While the server is down on purpose, the browser reports the failed connections itself.
    if (serverDown && /ERR_CONNECTION_REFUSED|WebSocket connection/.test(m.text())) return;
    if (expectStatus && m.text().includes(`status of ${expectStatus}`)) return;
    if (m.type() === 'error' && !/status of 40[134]/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  const signalRequests = [];
  page.on('request', (r) => {
    if (r.url().includes('/signal?')) signalRequests.push(new URL(r.url()));
  });
  const sockets = [];
  page.on('websocket', (ws) => sockets.push(ws.url()));

  await page.goto(base());
  await page.waitForSelector('#login-form', { state: 'visible' });
  check('the login form shows first', true);
  await page.fill('#login-name', 'card1');
  await page.fill('#login-password', 'not the password');
  await page.click('#login-form button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#login-error').textContent.length > 0);
  check('a wrong password is refused on the page (in Chinese, the default)',
    (await page.textContent('#login-error')).includes('用户名或密码错误'));
  await login(page, 'card1', PW_CARD);
  await page.waitForSelector('#worklist-body tr');

  // ---- the live worklist socket -------------------------------------------------------------
  const liveUp = await page.waitForSelector('#live-state[data-state="live"]', { timeout: 10000 }).then(() => true, () => false);
  check('the live socket connects after the login', liveUp, await page.getAttribute('#live-state', 'data-state'));
  check('it is ws://host/api/worklist/live', sockets.includes(`ws://127.0.0.1:${port}/api/worklist/live`), sockets.join(' '));
  check('the indicator says so', (await page.textContent('#live-state')).includes('实时'));
  await refusals(page);
  const recordingIds = () => page.evaluate(async () => {
    const r = await fetch('/api/worklist').then((x) => x.json());
    return Object.fromEntries(r.recordings.map((x) => [x.recording, x.id]));
  });
  const ids = await recordingIds();
  check('the worklist API lists the five recordings',
    ['a-before', 'a-now', 'b-other', 'a-holter', 'a-critical-waiting'].every((k) => ids[k]), JSON.stringify(ids));
  await sleep(500); // a refresh or two after the login: still no alarm for what waited
  check('no alarm for a critical recording already waiting at login', !(await page.isVisible('#banner')) &&
    (await worklistRows(page)).some((r) => r.id === String(ids['a-critical-waiting']) && r.cls.includes('critical')));
  const rows = await worklistRows(page);
  check('the cardiologist sees both sites', rows.some((r) => r.text.includes(SITE_A)) && rows.some((r) => r.text.includes(SITE_B)));
  check('the worklist is sorted by priority', sortedByPriority(rows), rows.map((r) => r.cls).join(','));
  await page.screenshot({ path: path.join(artifacts, 'worklist.png') });

  // A critical recording arrives while the page is open: through the live socket, the row and the
  // alarm (banner and beep) within a second of the flag being stored.
  const crit = await criticalToPage(page, () => replay(brady, 'dev-a', tokenA, 'a-critical'), 'a-critical').catch((e) => ({ error: e }));
  const banner = !crit.error && (await page.isVisible('#banner'));
  check('a new critical recording raises the banner', banner, crit.error ? crit.error.message : '');
  console.log(`     critical to page: ${crit.ms} ms (flag stored at ${crit.raisedMs}, alarm at ${crit.shownMs})`);
  check(`critical to page within ${CRITICAL_TO_PAGE_MS} ms (live socket, not polling)`,
    crit.ms >= 0 && crit.ms < CRITICAL_TO_PAGE_MS, `${crit.ms} ms`);
  const bannerText = banner ? await page.textContent('#banner-text') : '';
  check('the banner names the site and the flag (Chinese)', bannerText.includes(SITE_A) && bannerText.includes('平均心室率'), bannerText);
  check('the banner is red', (await page.evaluate(() => getComputedStyle(document.querySelector('#banner')).backgroundColor)) === 'rgb(176, 0, 32)');
  check('the banner sounded the beep (WebAudio)', crit.beeped === true);
  await waitFor('the critical row', async () => (await worklistRows(page)).some((r) => r.id === String(crit.id)));
  Object.assign(ids, await recordingIds());
  const rows2 = await worklistRows(page);
  check('the critical rows come first, red, with their reason', rows2[0].cls.includes('critical') && rows2[1].cls.includes('critical') &&
    rows2.find((r) => r.id === String(ids['a-critical'])).text.includes('平均心室率'), rows2.map((r) => r.text).join(' | '));
  check('still sorted by priority, then age', sortedByPriority(rows2));
  check('the critical row is drawn red', (await page.evaluate(() =>
    getComputedStyle(document.querySelector('#worklist-body tr.critical')).color)) === 'rgb(176, 0, 32)');
  await page.selectOption('#filter-priority', 'critical');
  await waitFor('the critical filter', async () => (await worklistRows(page)).every((r) => r.cls.includes('critical')));
  check('the priority filter keeps only critical rows', (await worklistRows(page)).length === 2);
  await page.selectOption('#filter-priority', '');
  await page.selectOption('#filter-review', 'signed');
  await waitFor('the review filter', async () => (await page.$$('#worklist-body tr')).length === 0);
  check('the review filter: nothing signed yet', await page.isVisible('#worklist-empty'));
  await page.selectOption('#filter-review', '');
  await waitFor('all rows again', async () => (await worklistRows(page)).length === 6);
  await page.screenshot({ path: path.join(artifacts, 'worklist-critical.png') });

  // ---- the language switch: English, remembered, and back ---------------------------------
  await languageSwitch(page, ids);

  // ---- the viewer: the standard 12-lead page, timed from the click ----------------------------
  const drawnMs = await clickToDrawn(page, base(), ids['a-now']);
  console.log(`     click to drawn 12-lead: ${drawnMs} ms`);
  check(`the 10-s 12-lead is drawn within ${CLICK_TO_DRAWN_MS} ms of the click`, drawnMs > 0 && drawnMs < CLICK_TO_DRAWN_MS, `${drawnMs} ms`);
  check('it is the standard page', (await page.getAttribute('#paper', 'data-mode')) === 'standard');
  check('no download links for a report not signed', !(await page.isVisible('#report-exports')));
  check('the critical-value form is offered, empty for a recording without a critical flag',
    (await page.isVisible('#critical-form')) && (await page.inputValue('#critical-finding')) === '' &&
    (await page.getAttribute('#critical-card', 'data-state')) === 'none');
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
  check('the machine measurements show heart rate and rhythm', /心率\s*9\d bpm/.test(meas) && meas.includes('窦性心律'), meas);
  check('the trigeminy flag is listed beside the tracing', (await page.textContent('#flag-list')).includes('室性早搏三联律'));
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
  check('calipers measure 1000 ms, 60 beats per minute and 1000 µV', readout.includes('Δt 1000 ms') && readout.includes('60 次/分') && readout.includes('Δ 1000 µV'), readout);
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
  await page.waitForFunction(() => document.querySelector('#report-state').textContent.includes('card1 已签名'));
  check('the report is signed', (await page.textContent('#report-readonly, #report-editor')) !== null);
  const signed = await page.evaluate(async (id) => (await fetch(`/api/recordings/${id}`).then((r) => r.json())).report, ids['a-now']);
  check('the server holds the signed report as written', signed.signed && signed.signer === 'card1' &&
    signed.statements.join('|') === '窦性心律 / Sinus rhythm|室性早搏三联律 / Ventricular trigeminy' &&
    signed.text === '建议随访 Follow-up advised.', JSON.stringify(signed));
  await page.waitForFunction(() => document.querySelector('#report-history').textContent.includes('v1'));
  check('the history lists version 1', true);
  await signedDownloads(page, ids['a-now']);

  // an amendment: a new signed version
  await page.fill('#statement-search', 'No significant change');
  await page.click('#statement-options button[data-code="NOCHANGE"]');
  await page.click('#btn-amend');
  await page.waitForSelector('#password-dialog[open]');
  await page.fill('#password-again', PW_CARD);
  await page.click('#password-ok');
  await page.waitForFunction(() => document.querySelector('#report-state').textContent.includes('第 2 版'));
  check('an amendment makes signed version 2', true);

  // serial comparison with the patient's earlier ECG
  await page.click('#compare-button');
  await page.waitForSelector('#compare-body .compare-grid');
  const cmp = await page.textContent('#compare-body');
  check('the comparison shows the heart-rate change', /6\d → 9\d bpm/.test(cmp), cmp);
  check('the comparison shows the rhythm change', cmp.includes('室性三联律'), cmp);
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

  // ---- a critical value: confirmed here, acknowledged by the clinic in a second browser ------
  await criticalValue(page, ids);

  // "repeat the ECG" on site B's recording
  await openRecording(page, ids['b-other'], 'standard');
  await page.click('#btn-claim');
  await page.waitForSelector('#btn-repeat', { state: 'visible' });
  await page.click('#btn-repeat');
  await page.waitForSelector('#repeat-dialog[open]');
  await page.fill('#repeat-reason', '基线漂移严重，请重做 Baseline wander: please record again');
  await page.click('#repeat-ok');
  await page.waitForFunction(() => document.querySelector('#report-state').textContent.includes('要求重做'));
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

  // ---- the live socket comes back after a server restart -------------------------------------
  await page.goto(`${base()}/#/worklist`);
  await page.waitForSelector('#live-state[data-state="live"]');
  serverDown = true;
  await bench.stop();
  const down = await page.waitForSelector('#live-state[data-state="offline"]', { timeout: 5000 }).then(() => true, () => false);
  check('the indicator says offline when the server goes away', down && (await page.textContent('#live-state')).includes('离线'));
  // The restart also shortens the clinic's time to acknowledge (when this ecgnetd has the option),
  // so that the critical value left open above escalates while the test watches.
  await bench.start(port, ackFlag ? ['--critical-ack-min', ACK_MIN] : []);
  const t0 = Date.now();
  const back = await page.waitForSelector('#live-state[data-state="live"]', { timeout: 20000 }).then(() => true, () => false);
  serverDown = false;
  check('the page reconnects by itself when the server is back', back, `${Date.now() - t0} ms`);
  console.log(`     reconnected ${Date.now() - t0} ms after the server was back`);
  const crit2 = await criticalToPage(page, () => replay(brady, 'dev-a', tokenA, 'a-critical-2'), 'a-critical-2').catch((e) => ({ error: e }));
  check('and alarms again through the new socket', !crit2.error && crit2.ms < CRITICAL_TO_PAGE_MS, crit2.error ? crit2.error.message : `${crit2.ms} ms`);
  await page.click('#banner-close');

  // ---- the critical value the clinic left open escalates to every cardiologist ---------------
  await escalation(page, ids, ackFlag);

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
  await sleep(300);
  check('and no critical-value notice of another site', !(await page.isVisible('#critical-notices')) &&
    (await page.evaluate(async () => (await fetch('/api/critical').then((r) => r.json())).critical.length)) === 0);
  await page.goto(`${base()}/#/recording/${ids['a-now']}`);
  await page.waitForFunction(() => document.querySelector('#viewer-error').textContent.length > 0);
  check('another site\'s recording is refused on the page', (await page.textContent('#viewer-error')).includes('无权查看'));
  check('and nothing of it is drawn', !(await page.isVisible('#paper')) && !(await page.isVisible('#measurements')));
  const apiStatus = await page.evaluate(async (id) => (await fetch(`/api/recordings/${id}/signal?count=10`)).status, ids['a-now']);
  check('the API refuses its signal too', apiStatus === 403 || apiStatus === 404, `${apiStatus}`);
  await page.screenshot({ path: path.join(artifacts, 'clinic-refused.png') });

  check('no script errors on the page', problems.length === 0, problems.join('; '));
}

/** The signed report's downloads in the viewer of recording ID (just signed): each link's href,
 * fetched from the page as the browser would when it is clicked. */
async function signedDownloads(page, id) {
  const shown = await page.waitForSelector('#report-exports', { state: 'visible', timeout: 5000 }).then(() => true, () => false);
  check('a signed report offers its downloads: PDF, HL7, FHIR', shown);
  const got = await page.evaluate(async () => {
    const out = {};
    for (const a of document.querySelectorAll('#report-exports a')) {
      if (!a.href) continue;
      const r = await fetch(a.href);
      const bytes = new Uint8Array(await r.arrayBuffer());
      out[a.dataset.format] = {
        href: a.getAttribute('href'),
        status: r.status,
        type: r.headers.get('content-type') || '',
        disposition: r.headers.get('content-disposition') || '',
        head: new TextDecoder().decode(bytes.slice(0, 120)),
        size: bytes.length,
      };
    }
    return out;
  });
  const brief = (x) => JSON.stringify(x && { ...x, head: x.head.slice(0, 40) });
  const pdf = got.pdf;
  check('the PDF link answers 200 application/pdf, a PDF file to save', pdf && pdf.href === `/api/recordings/${id}/export.pdf` &&
    pdf.status === 200 && pdf.type.startsWith('application/pdf') && pdf.head.startsWith('%PDF-') &&
    pdf.disposition.startsWith('attachment') && pdf.size > 1000, brief(pdf));
  const hl7 = got.hl7;
  check('the HL7 link answers an ORU^R01 message', hl7 && hl7.href === `/api/recordings/${id}/export.hl7` && hl7.status === 200 &&
    hl7.type.startsWith('text/plain') && hl7.head.startsWith('MSH|') && hl7.head.includes('ORU^R01'), brief(hl7));
  const fhir = got['fhir.json'];
  check('the FHIR link answers an Observation', fhir && fhir.href === `/api/recordings/${id}/export.fhir.json` &&
    fhir.status === 200 && fhir.type.startsWith('application/fhir+json') && fhir.head.includes('Observation'), brief(fhir));
}

/** Loads the page's module NAME (/js/NAME.js) and calls its export FN with ARGS, in PAGE. */
function pageCall(page, name, fn, ...args) {
  return page.evaluate(async ([name, fn, args]) => (await import(`/js/${name}.js`))[fn](...args), [name, fn, args]);
}

const visibleSoon = (page, sel, ms = 10000) => page.waitForSelector(sel, { timeout: ms }).then(() => true, () => false);
const goneSoon = (page, sel, ms = 10000) => page.waitForSelector(sel, { state: 'detached', timeout: ms }).then(() => true, () => false);
const noticeOf = (page, id) => page.evaluate(async (id) => (await fetch(`/api/recordings/${id}`).then((r) => r.json())).critical, id);

/** A page of its own (a second browser context) for the clinic user NAME, logged in. Returns
 * {page, problems, close}. */
async function clinicPage(name, password) {
  const ctx = await browser.newContext({ viewport: { width: 1366, height: 768 }, deviceScaleFactor: 1 });
  const p = await ctx.newPage();
  const problems = [];
  p.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  p.on('console', (m) => {
    if (m.type() === 'error' && !/status of 40[134]/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  await p.goto(base());
  await p.waitForSelector('#login-form', { state: 'visible' });
  await login(p, name, password);
  return { page: p, problems, close: () => ctx.close() };
}

/** PAGE (the cardiologist's) shows the critical recording a-critical: a critical value is confirmed
 * in its panel; site A's clinic user, in a second browser, is shown it and acknowledges it; the
 * cardiologist's panel follows. A second one, confirmed while the clinic's page is open, beeps
 * there and is left open (it escalates after the server's restart). */
async function criticalValue(page, ids) {
  const id = ids['a-critical'];
  check('the critical-value panel offers the form to the cardiologist',
    (await page.isVisible('#critical-form')) && (await page.getAttribute('#critical-card', 'data-state')) === 'none');
  const finding = await page.inputValue('#critical-finding');
  check('the finding is prefilled from the critical flag\'s reason, in Chinese', finding.includes('平均心室率'), finding);
  const timeMs = await pageCall(page, 'critical', 'fromLocalInput', await page.inputValue('#critical-time'));
  check('the time of the call defaults to now (local time)', Math.abs(timeMs - Date.now()) < 2 * 60000, `${timeMs}`);

  await page.click('#critical-confirm');
  await page.waitForFunction(() => document.querySelector('#critical-error').textContent.length > 0, null, { timeout: 5000 }).catch(() => {});
  check('confirming without whom the clinic was told is refused on the page',
    (await page.textContent('#critical-error')).includes('请填写已通知'), await page.textContent('#critical-error'));
  await page.fill('#critical-notified', TOLD);
  await page.fill('#critical-time', await pageCall(page, 'critical', 'toLocalInput', Date.now() + 86400000));
  expectStatus = 400;
  await page.click('#critical-confirm');
  const refused = await page.waitForFunction(() => /future/.test(document.querySelector('#critical-error').textContent), null,
    { timeout: 5000 }).then(() => true, () => false);
  expectStatus = null;
  check('the server\'s refusal (a call in the future) is shown', refused && (await page.isVisible('#critical-form')),
    await page.textContent('#critical-error'));

  const earlier = await pageCall(page, 'critical', 'toLocalInput', Date.now() - 5 * 60000);
  const earlierMs = await pageCall(page, 'critical', 'fromLocalInput', earlier);
  await page.fill('#critical-time', earlier);
  await page.click('#critical-confirm');
  const confirmed = await visibleSoon(page, '#critical-card[data-state="open"]', 5000);
  const n = await noticeOf(page, id);
  const due = n ? await pageCall(page, 'labels', 'shortTime', n.due_ms) : '';
  const panel = await page.textContent('#critical-card');
  check('the panel then shows who confirmed it, whom they told, and until when the clinic has to acknowledge',
    confirmed && !(await page.isVisible('#critical-form')) && panel.includes('card1') && panel.includes(TOLD) &&
    panel.includes(`等待基层确认收到，截止 ${due}`), panel);
  check('the server holds the notice as entered', n && n.finding === finding && n.notified === TOLD &&
    n.notified_ms === earlierMs && n.confirmed_by === 'card1' && n.acked_by === null && n.escalated_ms === null &&
    n.due_ms - n.confirmed_ms === 15 * 60000, JSON.stringify(n));
  check('no escalation notice while the clinic still has time', !(await page.isVisible('#critical-notices')));
  await page.screenshot({ path: path.join(artifacts, 'viewer-critical.png') });

  // The clinic's user logs in, in a browser of its own.
  const clinic = await clinicPage('clinica', PW_CLINIC_A);
  const item = `#critical-notices li[data-recording="${id}"]`;
  const shown = await visibleSoon(clinic.page, item);
  const text = shown ? await clinic.page.textContent(item) : '';
  const at = await pageCall(clinic.page, 'labels', 'shortTime', n.confirmed_ms);
  check('the clinic\'s user is shown the critical value at login: patient, finding, by whom, when',
    shown && text.includes(PATIENT_CRIT) && text.includes('平均心室率') && text.includes('card1') && text.includes(at) &&
    text.includes(TOLD), text);
  check('in a red banner', (await clinic.page.evaluate(() =>
    getComputedStyle(document.querySelector('#critical-notices')).backgroundColor)) === 'rgb(176, 0, 32)');
  check('without a beep for what waited at login', (await clinic.page.getAttribute('#critical-notices', 'data-beeped')) === null);

  // A second one, confirmed while the clinic's page is open, sounds the alarm there.
  const second = ids['a-critical-waiting'];
  const n2 = await page.evaluate(async (id) =>
    (await import('/js/api.js')).confirmCritical(id, '心室率 25 次/分 Ventricular rate 25/min', '王医生 W-12', null), second);
  const arrived = await clinic.page.waitForFunction((id) => document.querySelector('#critical-notices').dataset.newest === String(id),
    second, { timeout: 10000 }).then(() => true, () => false);
  check('a critical value confirmed while the clinic\'s page is open appears there, with the beep', n2 && arrived &&
    (await clinic.page.getAttribute('#critical-notices', 'data-beeped')) === 'true' &&
    (await clinic.page.isVisible(`#critical-notices li[data-recording="${second}"]`)));
  await clinic.page.screenshot({ path: path.join(artifacts, 'clinic-critical.png') });

  await clinic.page.click(`${item} button.crit-ack`);
  check('"acknowledge" takes it off the banner; the other stays', (await goneSoon(clinic.page, item, 5000)) &&
    (await clinic.page.isVisible(`#critical-notices li[data-recording="${second}"]`)));
  const acked = await noticeOf(clinic.page, id);
  check('the server records the acknowledgement', acked && acked.acked_by === 'clinica' && acked.acked_ms >= acked.confirmed_ms,
    JSON.stringify(acked));
  // The cardiologist's viewer follows through the live socket.
  const seen = await visibleSoon(page, '#critical-card[data-state="acked"]', 5000);
  const panel2 = await page.textContent('#critical-card');
  check('the cardiologist\'s view then shows "acknowledged by clinica"', seen && panel2.includes('clinica 已确认收到'), panel2);
  await page.screenshot({ path: path.join(artifacts, 'viewer-critical-acked.png') });
  check('no script errors on the clinic\'s page', clinic.problems.length === 0, clinic.problems.join('; '));
  await clinic.close();
}

/** The critical value of a-critical-waiting, left open by the clinic, escalates (the server was
 * restarted with ACK_MIN minutes to acknowledge): every cardiologist's page shows it in red with a
 * beep and a link to the recording; the clinic acknowledges it late, from the viewer's panel. */
async function escalation(page, ids, ackFlag) {
  const id = ids['a-critical-waiting'];
  if (!ackFlag) {
    console.log('     note: this ecgnetd has no --critical-ack-min: the escalation is checked in the API answer only');
    const open = await page.evaluate(async () => (await fetch('/api/critical?open=1').then((r) => r.json())).critical);
    const n = open.find((x) => x.recording === id);
    check('the open notice carries its due time (15 min) and is not escalated yet',
      n && n.escalated_ms === null && n.due_ms - n.confirmed_ms === 15 * 60000 && !(await page.isVisible('#critical-notices')),
      JSON.stringify(n));
    return;
  }
  const item = `#critical-notices li[data-recording="${id}"]`;
  // The server looks for overdue notices every second; the page hears of it through the live socket.
  const up = await visibleSoon(page, item, 30000);
  const text = up ? await page.textContent(item) : '';
  check('an unacknowledged critical value escalates: the cardiologist is shown site, patient, who confirmed it when, whom they told',
    up && (await page.getAttribute('#critical-notices', 'data-kind')) === 'escalated' && text.includes('未确认危急值') &&
    text.includes(SITE_A) && text.includes(PATIENT_CRIT) && text.includes('card1') && text.includes('王医生 W-12'), text);
  check('with the beep', (await page.getAttribute('#critical-notices', 'data-newest')) === String(id) &&
    (await page.getAttribute('#critical-notices', 'data-beeped')) === 'true');
  check('the acknowledged one is not shown again', (await page.$$('#critical-notices li')).length === 1);
  const n = await page.evaluate(async (id) =>
    (await fetch('/api/critical?open=1').then((r) => r.json())).critical.find((x) => x.recording === id), id);
  check('the server marked it escalated after its due time', n && n.escalated_ms >= n.due_ms && n.acked_ms === null, JSON.stringify(n));
  await page.screenshot({ path: path.join(artifacts, 'escalated.png') });

  await page.click(`${item} a.crit-open`);
  const opened = await page.waitForFunction((id) => {
    const c = document.querySelector('#critical-card');
    return c.dataset.recording === String(id) && c.dataset.state === 'escalated' && !c.hidden;
  }, id, { timeout: 10000 }).then(() => true, () => false);
  check('its link opens the recording, whose panel says "escalated", in red', opened &&
    (await page.textContent('#critical-card .crit-escalated')).includes('已升级') &&
    (await page.evaluate(() => getComputedStyle(document.querySelector('#critical-card .crit-escalated')).backgroundColor)) ===
      'rgb(176, 0, 32)');
  check('the banner stays while the clinic has not acknowledged', await page.isVisible(item));
  await page.click('#lang-switch');
  const english = await page.waitForFunction((sel) => document.querySelector(sel).textContent.includes('Unacknowledged critical value') &&
    document.querySelector('#critical-card .crit-escalated').textContent.startsWith('escalated'), item, { timeout: 5000 })
    .then(() => true, () => false);
  const labels = await page.$$eval('#critical-card h3, #critical-card dt', (es) => es.map((e) => e.textContent).join('|'));
  check('both speak English after a switch', english && labels.startsWith('Critical value|') && !CJK.test(labels),
    `${await page.textContent(item)} | ${await page.textContent('#critical-card')}`);
  await page.click('#lang-switch');
  await page.waitForFunction(() => document.querySelector('#critical-card .crit-escalated').textContent.startsWith('已升级'));

  // The clinic acknowledges late, from the recording's own panel.
  const clinic = await clinicPage('clinica', PW_CLINIC_A);
  check('the clinic is shown it too', await visibleSoon(clinic.page, item));
  await clinic.page.goto(`${base()}/#/recording/${id}`);
  const ackButton = await visibleSoon(clinic.page, '#critical-ack');
  check('the clinic\'s viewer offers "acknowledge" and no form', ackButton && !(await clinic.page.isVisible('#critical-form')));
  if (ackButton) await clinic.page.click('#critical-ack');
  check('the clinic acknowledges it from the viewer; its banner clears',
    (await visibleSoon(clinic.page, '#critical-card[data-state="acked"]', 5000)) && (await goneSoon(clinic.page, item, 5000)));
  const cleared = await goneSoon(page, item, 5000);
  const panel = await visibleSoon(page, '#critical-card[data-state="acked"]', 5000) ? await page.textContent('#critical-card') : '';
  check('the cardiologists\' banner clears, the panel shows the late acknowledgement and the escalation',
    cleared && !(await page.isVisible('#critical-notices')) && panel.includes('clinica 已确认收到') && panel.includes('升级'), panel);
  check('no script errors on the clinic\'s page', clinic.problems.length === 0, clinic.problems.join('; '));
  await clinic.close();
  await page.goto(`${base()}/#/worklist`);
}

/** The live socket's refusals, spoken to as a browser would but with what a browser would add
 * changed: no cookie (401), another site's Origin (403), another path (404). With the page's own
 * cookie and Origin the same request is let in (101), so the refusals are about what changed. */
async function refusals(page) {
  const cookie = (await page.context().cookies()).find((c) => c.name === 'ecgnet_session');
  const own = `http://127.0.0.1:${port}`;
  const ok = await rawUpgrade('/api/worklist/live', own, cookie && cookie.value);
  check('the live socket lets in the session with its own Origin (101)', ok.status === 101, ok.text.slice(0, 80));
  const none = await rawUpgrade('/api/worklist/live', own, null);
  check('an upgrade without the session cookie is refused (401)', none.status === 401, none.text.slice(0, 80));
  const forged = await rawUpgrade('/api/worklist/live', own, 'x'.repeat(43));
  check('an upgrade with a made-up session is refused (401)', forged.status === 401, forged.text.slice(0, 80));
  const foreign = await rawUpgrade('/api/worklist/live', 'http://evil.example', cookie && cookie.value);
  check('an upgrade from another site\'s page (Origin) is refused (403), cookie or not', foreign.status === 403, foreign.text.slice(0, 80));
  const elsewhere = await rawUpgrade('/api/worklist', own, cookie && cookie.value);
  check('the subprotocol on another path is refused (404)', elsewhere.status === 404, elsewhere.text.slice(0, 80));
  // And from a page of another origin in the browser itself: the socket never opens.
  const other = await page.context().newPage();
  await other.goto(`http://localhost:${port}/healthz`);
  const opened = await other.evaluate((port) => new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/api/worklist/live`, 'ecgnet.worklist.v1');
    ws.onopen = () => resolve(true);
    ws.onerror = ws.onclose = () => resolve(false);
  }), port);
  check('a page of another origin cannot open the live socket', opened === false);
  await other.close();
}

/** English, the worklist and viewer words, remembered across a reload, and back to Chinese. */
async function languageSwitch(page, ids) {
  const words = () => page.evaluate(() => ({
    title: document.querySelector('#worklist-title').textContent,
    heads: [...document.querySelectorAll('.worklist th')].map((e) => e.textContent).join('|'),
    toolbar: document.querySelector('#worklist-view .toolbar').textContent,
    live: document.querySelector('#live-state').textContent,
    nav: document.querySelector('#nav').textContent,
    lang: document.documentElement.lang,
  }));
  const zh = await words();
  check('Chinese by default', zh.title === '工作列表' && zh.heads.startsWith('优先级') && zh.lang === 'zh-CN', JSON.stringify(zh));
  const incomplete = await page.evaluate(async () => (await import('/js/i18n.js')).incomplete());
  check('every interface string has both a Chinese and an English text', incomplete.length === 0, incomplete.join(', '));
  await page.click('#lang-switch');
  await page.waitForFunction(() => document.querySelector('#worklist-title').textContent === 'Worklist');
  const en = await words();
  check('the switch turns the labels English', en.heads === 'Priority|Waiting|Site|Patient|Recording|Review|Flags' &&
    en.lang === 'en' && en.live.includes('Live'), JSON.stringify(en));
  check('no Chinese left in the English worklist\'s labels', !CJK.test(en.toolbar + en.heads + en.nav), en.toolbar + en.nav);
  const rows = await worklistRows(page);
  const crit = rows.find((r) => r.id === String(ids['a-critical']));
  check('the rows follow: priority and flag reason in English', crit && crit.text.includes('Critical') &&
    crit.text.includes('Mean ventricular rate') && !crit.text.includes('平均心室率'), crit && crit.text);
  check('so does the banner', (await page.textContent('#banner-text')).includes('Mean ventricular rate'));
  // the banner opens the recording it names
  await page.click('#banner-text');
  const opened = await page.waitForFunction((id) => document.querySelector('#paper').dataset.drawnFor === String(id), ids['a-critical'])
    .then(() => true, () => false);
  check('clicking the banner opens the critical recording', opened && !(await page.isVisible('#banner')) &&
    (await page.textContent('#viewer-title')).startsWith(`ECG #${ids['a-critical']}`));
  await page.goto(`${base()}/#/worklist`);
  await page.reload();
  await page.waitForSelector('#worklist-body tr');
  check('the choice is remembered across a reload', (await page.textContent('#worklist-title')) === 'Worklist' &&
    (await page.evaluate(() => localStorage.getItem('ecgnet.lang'))) === 'en');
  await page.waitForSelector('#live-state[data-state="live"]');
  // the viewer in English
  await page.goto(`${base()}/#/recording/${ids['a-now']}`);
  await page.waitForFunction((id) => document.querySelector('#paper').dataset.drawnFor === String(id), ids['a-now']);
  const meas = await page.textContent('#measurements');
  check('the viewer speaks English too', /Heart rate\s*9\d bpm/.test(meas) && meas.includes('Sinus rhythm') &&
    (await page.textContent('#flag-list')).includes('Ventricular trigeminy') &&
    (await page.textContent('#btn-claim')) === 'Claim', meas);
  await page.screenshot({ path: path.join(artifacts, 'viewer-english.png') });
  await page.click('#lang-switch');
  await page.waitForFunction(() => document.querySelector('#btn-claim').textContent === '认领');
  check('and back: the viewer redraws in Chinese', (await page.textContent('#measurements')).includes('窦性心律') &&
    (await page.textContent('#viewer-title')).startsWith('心电图'));
  await page.goto(`${base()}/#/worklist`);
  const back = await words();
  check('and back: the worklist in Chinese', back.title === '工作列表' && back.heads === zh.heads && back.lang === 'zh-CN' &&
    (await page.evaluate(() => localStorage.getItem('ecgnet.lang'))) === 'zh', JSON.stringify(back));
}

/** A WebSocket upgrade of PATH with ORIGIN and the session COOKIE (each null: not sent), read
 * until the server answers: {status, text}. */
function rawUpgrade(p, origin, cookie) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(
      `GET ${p} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n' +
      'Sec-WebSocket-Protocol: ecgnet.worklist.v1\r\n' +
      (origin ? `Origin: ${origin}\r\n` : '') + (cookie ? `Cookie: ecgnet_session=${cookie}\r\n` : '') + '\r\n'));
    let buf = '';
    const done = () => {
      s.destroy();
      resolve({ status: Number(buf.split(' ')[1]) || 0, text: buf });
    };
    s.on('data', (d) => {
      buf += d.toString('latin1');
      if (buf.includes('\r\n\r\n')) done();
    });
    s.on('end', done);
    s.on('error', reject);
    s.setTimeout(5000, done);
  });
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
  await bench.stop();
  if (failed) console.log(`ecgnetd's log and the records: ${bench.tmp}`);
  else if (!keep) bench.remove();
  console.log(`screenshots: ${artifacts}`);
  console.log(`${passed} passed, ${failed} failed`);
}
process.exit(failed ? 1 : code);
