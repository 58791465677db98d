/*
 * dashboard.test.mjs - the dashboard end to end, in headless Chromium,
 * against a real aelabd.
 *
 * Owns: starting aelabd on 127.0.0.1 with port 0 (the port read back from
 * --port-file) on a fresh temp --db/--logdir, real MNIST subsets, and
 * driving the page like a person: submit through the form, watch the table
 * change without a reload, open a job, step through epochs, provoke an API
 * error, cancel a long job, compare several jobs.  Screenshots go to
 * <build dir>/screenshots/.  Does not own: the daemon's own API tests
 * (tests/integration/).
 *
 * Design: every expectation is computed from the API itself (metrics
 * count, problem details, image sizes from the reconstructions and latent
 * picture contracts),
 * never hard-coded, so the test follows the product.  Each step has a
 * timeout and a watchdog ends the whole run, so a hang becomes a failure.
 *
 * Usage (meson passes these):
 *   node dashboard.test.mjs --aelabd PATH --source-root DIR --build-dir DIR
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as fmt from '../../web/js/format.js';
import { commonArgs, loadChromium, startWatchdog, sleep, waitFor, apiCall, startAelabd, stopProcess,
         launchBrowser, watchPage, printOnFailure } from './browser_util.mjs';

// ---- arguments and environment ---------------------------------------------
const { AELABD, WEB_ROOT, MNIST, SHOTS, CHROMIUM } =
    commonArgs('node dashboard.test.mjs --aelabd PATH --source-root DIR --build-dir DIR');
const chromium = loadChromium(WEB_ROOT);

// The whole file must finish well inside meson's timeout: past this, fail.
startWatchdog('dashboard.test.mjs', 240_000, cleanup);

// ---- shared state ------------------------------------------------------------
let tmp, base, context, page, daemonLog;
const daemons = [];         // every aelabd started, stopped by cleanup()
const offsite = [];        // requests that left the daemon's origin
const pageErrors = [];     // uncaught exceptions in the page
const badResponses = [];   // HTTP >= 400 seen by the page
const expectedBad = [];    // ... of which these were provoked on purpose
const consoleLines = [];  // the page's console, printed when something failed
const figures = {};
const ids = {};            // named jobs created along the way

async function cleanup() {
    try { if (context) await context.close(); } catch { /* already gone */ }
    context = null;
    for (const d of daemons) await stopProcess(d);
}

const api = (p, opts) => apiCall(base, p, opts);

/** Skip (quickly) a test whose earlier step failed, instead of letting it
 *  wait out its timeouts on a job that was never made. */
function needs(t, ...names) {
    const missing = names.filter(n => !ids[n]);
    if (missing.length) t.skip(`needs the job(s) ${missing.join(', ')} from an earlier test, which failed`);
    return missing.length === 0;
}

async function submitViaApi(spec) {
    const r = await api('/api/jobs', { method: 'POST', body: JSON.stringify(spec) });
    assert.equal(r.status, 201, `POST /api/jobs ${JSON.stringify(spec)}: ${JSON.stringify(r.body)}`);
    return r.body;
}

async function waitState(id, states, timeoutMs = 90_000) {
    return waitFor(`job ${id} to reach ${states}`, async () => {
        const r = await api(`/api/jobs/${id}`);
        return states.includes(r.body.state) ? r.body : null;
    }, timeoutMs, 200);
}

async function shot(name) {
    const file = path.join(SHOTS, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    return file;
}

/** Wait until <img sel> has loaded; return its natural size. */
async function imageSize(sel, timeoutMs = 20_000) {
    await page.waitForFunction(s => {
        const i = document.querySelector(s);
        return i && !i.hidden && i.complete && i.naturalWidth > 0;
    }, sel, { timeout: timeoutMs });
    return page.$eval(sel, i => ({ w: i.naturalWidth, h: i.naturalHeight, src: i.getAttribute('src') }));
}

/** Start aelabd on 127.0.0.1 port 0 in tmp/<name>/; resolve {base, log, proc}
 *  once it has written its port. */
async function startDaemon(name, extra = []) {
    const dir = path.join(tmp, name);
    fs.mkdirSync(dir);
    const d = await startAelabd({ aelabd: AELABD, dir, mnist: MNIST, webRoot: WEB_ROOT, extra,
                                  name: `aelabd (${name})` });
    daemons.push(d.proc);
    return d;
}

// ---- set-up -----------------------------------------------------------------
before(async () => {
    for (const p of [AELABD, WEB_ROOT, CHROMIUM])
        assert.ok(fs.existsSync(p), `${p} does not exist`);
    assert.ok(fs.existsSync(path.join(MNIST, 't10k-images-idx3-ubyte.gz')) ||
              fs.existsSync(path.join(MNIST, 't10k-images-idx3-ubyte')),
              `MNIST not found in ${MNIST}`);
    assert.ok(fs.existsSync(path.join(WEB_ROOT, 'node_modules', 'uplot', 'dist', 'uPlot.esm.js')),
              'uPlot is not installed in web/node_modules: run scripts/setup.sh');
    fs.mkdirSync(SHOTS, { recursive: true });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'aelab-web-'));
    const main = await startDaemon('main');
    base = main.base;
    daemonLog = main.log;

    ({ context, page } = await launchBrowser(chromium, CHROMIUM, tmp));
    watchPage(page, base, { offsite, pageErrors, badResponses, consoleLines });
    if (process.env.AELAB_WEB_DEBUG) {
        page.on('console', m => console.error(`console ${m.type()}: ${m.text()}`));
        page.on('response', r => console.error(`response ${r.status()} ${r.request().method()} ${r.url()}`));
    }
});

after(async () => {
    await cleanup();
    printOnFailure(consoleLines, daemonLog);
    console.log(`# figures: ${JSON.stringify(figures)}`);
    try { fs.rmSync(tmp, { recursive: true, force: true }); } catch { /* best effort */ }
});

// ---- the tests ----------------------------------------------------------------
test('the dashboard opens, with its form built from /api/models and a live stream', { timeout: 60_000 }, async () => {
    const t0 = Date.now();
    const uplot = page.waitForResponse(r => r.url().includes('/node_modules/uplot/dist/uPlot.iife.min.js'));
    await page.goto(`${base}/`);
    await page.waitForSelector('form.job-form[data-ready="true"]');
    figures.ready_ms = Date.now() - t0;
    const uplotRes = await uplot;
    assert.equal(uplotRes.status(), 200);
    assert.match(uplotRes.headers()['content-type'], /^text\/javascript/);
    const css = await api('/node_modules/uplot/dist/uPlot.min.css');
    assert.equal(css.status, 200);
    assert.match(css.headers.get('content-type'), /^text\/css/);

    const models = (await api('/api/models')).body;
    const options = await page.$$eval('#f-model option', os => os.map(o => o.value));
    assert.deepEqual(options, models.models.map(m => m.name));
    // The settings fields of the selected model are exactly the API's, with its defaults and ranges.
    const first = models.models[0];
    const fields = await page.$$eval('.settings-fields input', is => is.map(i => ({ name: i.name, value: i.value, min: i.min, max: i.max })));
    assert.deepEqual(fields.map(f => f.name), first.settings.map(s => s.name));
    for (const s of first.settings) {
        const f = fields.find(x => x.name === s.name);
        assert.equal(Number(f.value), s.default, `${s.name} default`);
        assert.equal(Number(f.min), s.minimum, `${s.name} minimum`);
        assert.equal(Number(f.max), s.maximum, `${s.name} maximum`);
    }
    const datasets = await page.$$eval('#f-dataset option', os => os.map(o => o.value));
    assert.deepEqual(datasets, models.datasets.map(d => d.name));
    await page.waitForSelector('#conn[data-state="live"]');
    await page.evaluate(() => { window.__sameDocument = 'yes'; });
    figures.static_bytes = await page.evaluate(() => performance.getEntriesByType('resource')
        .filter(e => !e.name.includes('/api/')).reduce((s, e) => s + (e.encodedBodySize || 0), 0)
        + (performance.getEntriesByType('navigation')[0]?.encodedBodySize || 0));
});

test('a small job submitted through the form appears and reaches succeeded without a reload', { timeout: 120_000 }, async () => {
    await page.selectOption('#f-model', 'simple');
    await page.fill('#f-name', 'e2e simple');
    await page.fill('#f-epochs', '3');
    await page.fill('#f-train_size', '2000');
    await page.fill('#f-test_size', '200');
    await page.click('#submit-job');
    const link = await page.waitForSelector('.form-status.ok a');
    const id = Number(await link.textContent());
    assert.ok(id > 0);
    ids.simple = id;
    const job = (await api(`/api/jobs/${id}`)).body;
    assert.equal(job.name, 'e2e simple');
    assert.equal(job.settings.epochs, 3);
    assert.equal(job.settings.train_size, 2000);
    // Only what was changed was sent: the rest are the model's defaults.
    const simple = (await api('/api/models')).body.models.find(m => m.name === 'simple');
    assert.equal(job.settings.batch_size, simple.settings.find(s => s.name === 'batch_size').default);

    const row = `#jobs-table tr[data-job-id="${id}"]`;
    await page.waitForSelector(row);
    await page.waitForSelector(`${row}[data-state="succeeded"]`, { timeout: 90_000 });
    assert.equal(await page.evaluate(() => window.__sameDocument), 'yes', 'the page was reloaded');
    const done = (await api(`/api/jobs/${id}`)).body;
    assert.equal(done.state, 'succeeded');
    const cells = await page.$eval(row, tr => ({
        epoch: tr.querySelector('.epoch-text').textContent,
        loss: tr.querySelector('.c-loss').textContent,
        val: tr.querySelector('.c-val').textContent,
        progress: tr.querySelector('progress').value,
        state: tr.querySelector('.state').textContent,
    }));
    assert.equal(cells.state, 'succeeded');
    assert.equal(cells.epoch, `${done.epochs}/${done.epochs}`);
    assert.equal(cells.loss, done.loss.toFixed(4));
    assert.equal(cells.val, done.val_loss.toFixed(4));
    assert.equal(cells.progress, 1);
});

test('the job page: one chart point per epoch, the grid at its natural size, epochs by slider', { timeout: 60_000 }, async (t) => {
    if (!needs(t, 'simple')) return;
    const id = ids.simple;
    await page.click(`#jobs-table tr[data-job-id="${id}"] a`);
    await page.waitForFunction(i => location.hash === `#/jobs/${i}`, id);
    const job = (await api(`/api/jobs/${id}`)).body;
    const n = job.metrics.length;
    assert.equal(n, job.epochs);
    await page.waitForSelector(`#loss-chart[data-points="${n}"][data-series="2"]`);
    const tableRows = await page.$$eval('#loss-chart ~ details .chart-table tbody tr', rs => rs.map(r => [...r.children].map(c => c.textContent)));
    assert.deepEqual(tableRows, job.metrics.map(m => [String(m.epoch), m.loss.toFixed(4), m.val_loss.toFixed(4)]));
    // The canvas is drawn (not blank).
    const inked = await page.$eval('#loss-chart canvas', c => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
        return n;
    });
    assert.ok(inked > 500, `chart canvas nearly empty (${inked} pixels)`);

    // Grid: 28 px per image, n images wide, originals + reconstructions high.
    const size = await imageSize('#recon');
    const nImages = Number(new URL(size.src, base).searchParams.get('n'));
    assert.equal(size.w, 28 * nImages);
    assert.equal(size.h, 28 * 2);
    assert.match(size.src, new RegExp(`epoch=${job.epochs}`));
    // Step back to epoch 1 with the keyboard.
    await page.focus('#epoch-slider');
    await page.keyboard.press('Home');
    await page.waitForFunction(() => document.querySelector('#recon').dataset.epoch === '1');
    const size1 = await imageSize('#recon');
    assert.match(size1.src, /epoch=1\b/);
    assert.deepEqual([size1.w, size1.h], [size.w, size.h]);
    assert.match(await page.textContent('#epoch-out'), /^1 of 3/);
    // The latent scatter follows the slider, at its natural size (latent.png's contract).
    await page.waitForFunction(() => document.querySelector('#latent').dataset.epoch === '1');
    const latent = await imageSize('#latent');
    assert.deepEqual([latent.w, latent.h], [640, 480]);
    assert.match(latent.src, /latent\.png\?epoch=1\b/);
    assert.equal(await page.$('#manifold'), null, 'no manifold for a simple model');
    assert.equal(await page.$('#sample-btn'), null, 'no sample button for a simple model');

    // Summary, settings, links.
    const summary = await api(`/api/jobs/${id}/summary`);
    await page.waitForFunction(() => !document.querySelector('#model-summary').textContent.startsWith('Loading'));
    assert.equal((await page.textContent('#model-summary')).trim(), summary.body.trim());
    const settings = await page.$$eval('#job-settings tr', rs => Object.fromEntries(rs.map(r => [r.children[0].textContent, r.children[1].textContent])));
    for (const [k, v] of Object.entries(job.settings)) assert.equal(Number(settings[k]), v, `setting ${k}`);
    const hrefs = await page.$$eval('.job-head .links a', as => as.map(a => a.href));
    for (const h of hrefs.filter(h => h.startsWith(base))) {
        const r = await fetch(h);
        assert.equal(r.status, 200, `download link ${h}`);
    }
    const csv = await (await fetch(hrefs.find(h => h.includes('format=csv')))).text();
    assert.equal(csv.trim().split('\n').length, n + 1);
    const tb = new URL(await page.getAttribute('#tb-run-link', 'href'));
    assert.equal(tb.origin + tb.pathname, 'http://127.0.0.1:6006/');
    assert.equal(tb.searchParams.get('runFilter').replace(/\\(.)/g, '$1'), path.basename(job.run_dir));
    await page.keyboard.press('End');
    await page.waitForFunction(n => document.querySelector('#recon').dataset.epoch === String(n), job.epochs);
    await imageSize('#recon');
    await shot('job-page');
});

test('the vae job page: loss parts, latent scatter, manifold and prior samples', { timeout: 90_000 }, async () => {
    const job0 = await submitViaApi({ model: 'vae', epochs: 2, train_size: 1000, test_size: 300, name: 'e2e vae' });
    ids.vae = job0.id;
    const job = await waitState(job0.id, ['succeeded']);
    await page.goto(`${base}/#/jobs/${job.id}`);
    const n = job.metrics.length;
    await page.waitForSelector(`#loss-chart[data-points="${n}"][data-series="2"]`);
    for (const c of ['rec-chart', 'kl-chart'])
        await page.waitForSelector(`#${c}[data-points="${n}"][data-series="2"]`);
    const kl = await page.$$eval('#kl-chart ~ details .chart-table tbody tr', rs => rs.map(r => [...r.children].map(c => c.textContent)));
    assert.deepEqual(kl, job.metrics.map(m => [String(m.epoch), m.kl_loss.toFixed(4), m.val_kl_loss.toFixed(4)]));
    const latent = await imageSize('#latent');
    assert.deepEqual([latent.w, latent.h], [640, 480]);
    const manifold = await imageSize('#manifold');
    assert.deepEqual([manifold.w, manifold.h], [420, 420]);
    assert.match(manifold.src, new RegExp(`manifold\\.png\\?epoch=${n}\\b`));
    // The sample button decodes 20 prior draws with a seed it shows.
    await page.click('#sample-btn');
    const samples = await imageSize('#samples');
    assert.deepEqual([samples.w, samples.h], [280, 56]);
    const seed = new URL(samples.src, base).searchParams.get('seed');
    assert.match(seed, /^[0-9]+$/);
    assert.match(await page.textContent('#samples-note'), new RegExp(`seed ${seed}\\b`));
    await page.click('#sample-btn');
    await page.waitForFunction(s => new URL(document.querySelector('#samples').src).searchParams.get('seed') !== s, seed);
    await imageSize('#samples');
    await shot('job-page-vae');
});

test("a bad value shows the API's error next to its field", { timeout: 60_000 }, async () => {
    await page.goto(`${base}/#/jobs`);
    await page.waitForSelector('form.job-form[data-ready="true"]');
    await page.evaluate(() => { window.__sameDocument = 'yes'; });
    const before = (await api('/api/jobs')).body.total;
    await page.selectOption('#f-model', 'simple');
    await page.fill('#f-epochs', '0');
    await page.fill('#f-learning_rate', '5');
    const answer = page.waitForResponse(r => r.url().endsWith('/api/jobs') && r.request().method() === 'POST');
    await page.click('#submit-job');
    const res = await answer;
    assert.equal(res.status(), 400);
    expectedBad.push(`POST /api/jobs 400`);
    const problem = await res.json();
    assert.ok(Array.isArray(problem.errors) && problem.errors.length >= 2, JSON.stringify(problem));
    for (const field of ['epochs', 'learning_rate']) {
        const e = problem.errors.find(x => x.field === field);
        assert.ok(e, `the API names ${field}`);
        await page.waitForSelector(`#err-${field}:not([hidden])`);
        assert.equal(await page.textContent(`#err-${field}`), e.detail);
        assert.equal(await page.getAttribute(`#f-${field}`, 'aria-invalid'), 'true');
        // The message sits inside the field's own box, right under its input.
        assert.equal(await page.$eval(`#err-${field}`, p => p.closest('.field').dataset.field), field);
        assert.match(await page.getAttribute(`#f-${field}`, 'aria-describedby'), new RegExp(`err-${field}`));
    }
    assert.equal(await page.evaluate(() => document.activeElement.id), 'f-epochs');
    assert.equal(await page.isHidden('#err-batch_size'), true);
    assert.equal((await api('/api/jobs')).body.total, before, 'a rejected job was created');
    await shot('form-error');
    // Fixing the fields clears the errors on the next submission.
    await page.fill('#f-epochs', '1');
    await page.fill('#f-learning_rate', '0.001');
    await page.fill('#f-train_size', '500');
    await page.fill('#f-test_size', '100');
    await page.click('#submit-job');
    await page.waitForSelector('.form-status.ok a');
    assert.equal(await page.isHidden('#err-epochs'), true);
    ids.fixed = Number(await page.textContent('.form-status.ok a'));
});

test('cancel stops a long job', { timeout: 90_000 }, async () => {
    await page.selectOption('#f-model', 'simple');
    await page.fill('#f-name', 'long one');
    await page.fill('#f-epochs', '500');
    await page.fill('#f-train_size', '10000');
    await page.fill('#f-test_size', '1000');
    const created = page.waitForResponse(r => r.url().endsWith('/api/jobs') && r.request().method() === 'POST');
    await page.click('#submit-job');
    const res = await created;
    assert.equal(res.status(), 201);
    const id = (await res.json()).id;
    await page.waitForFunction(id => document.querySelector('.form-status.ok a')?.textContent === String(id), id);
    ids.long = id;
    // The table follows it live: running, and its progress bar moves.
    const row = `#jobs-table tr[data-job-id="${id}"]`;
    await page.waitForFunction(sel => {
        const tr = document.querySelector(sel);
        return tr && tr.dataset.state === 'running' && tr.querySelector('progress').value > 0;
    }, row, { timeout: 60_000 });
    const p1 = await page.$eval(`${row} progress`, p => p.value);
    await page.waitForFunction(([sel, p1]) => document.querySelector(`${sel} progress`).value > p1, [row, p1], { timeout: 60_000 });
    assert.match(await page.textContent(`${row} .epoch-text`), /^[0-9]+\/500$/);
    await page.evaluate(() => document.activeElement && document.activeElement.blur());
    await shot('jobs-table-live');
    await page.goto(`${base}/#/jobs/${id}`);
    await page.evaluate(() => { window.__sameDocument = 'yes'; });
    await page.waitForFunction(() => document.querySelector('#job-state').textContent === 'running', null, { timeout: 60_000 });
    // The chart grows while the job trains: one point, then two, no reload.
    for (const k of [1, 2])
        await page.waitForFunction(k => Number(document.querySelector('#loss-chart').dataset.points) >= k, k, { timeout: 60_000 });
    assert.equal(await page.evaluate(() => window.__sameDocument), 'yes', 'the page was reloaded');
    await imageSize('#recon');
    // One stream per tab: the job page's own, the shared one is closed meanwhile.
    await waitFor('one SSE client at aelabd', async () => /^aelab_sse_clients 1$/m.test((await api('/metrics')).body), 15_000, 200);
    // Its duration keeps counting between events.
    const d0 = await page.textContent('#job-duration');
    await page.waitForFunction(d0 => document.querySelector('#job-duration').textContent !== d0, d0, { timeout: 5_000 });
    await shot('job-page-running');
    assert.equal(await page.isEnabled('#cancel-job'), true);
    assert.equal(await page.isDisabled('#delete-job'), true);
    await page.click('#cancel-job');
    await page.waitForFunction(() => document.querySelector('#job-state').textContent === 'cancelled', null, { timeout: 30_000 });
    const job = (await api(`/api/jobs/${id}`)).body;
    assert.equal(job.state, 'cancelled');
    assert.ok(job.epoch < job.epochs);
    assert.equal(await page.isDisabled('#cancel-job'), true);
    assert.equal(await page.isEnabled('#delete-job'), true);
    // The table agrees, and the state filter narrows it to this job.
    await page.click('a[data-nav="jobs"]');
    await page.waitForSelector(`#jobs-table tr[data-job-id="${id}"][data-state="cancelled"]`);
    await page.selectOption('#filter-state', 'cancelled');
    await page.waitForFunction(() => document.querySelector('#jobs-table').dataset.rows === '1');
    assert.deepEqual(await page.$$eval('#jobs-table tbody tr', rs => rs.map(r => Number(r.dataset.jobId))), [id]);
    assert.match(page.url(), /#\/jobs\?state=cancelled$/);
    await page.selectOption('#filter-state', '');

    // Delete it with its run directory: gone from the API, the disk and the table.
    await page.goto(`${base}/#/jobs/${id}`);
    await page.waitForFunction(() => document.querySelector('#job-state').textContent === 'cancelled');
    await page.check('#purge');
    let asked = '';
    page.once('dialog', d => { asked = d.message(); d.accept(); });
    await page.click('#delete-job');
    await page.waitForFunction(() => location.hash === '#/jobs');
    assert.match(asked, new RegExp(`Delete job ${id} and its run directory`));
    assert.equal((await api(`/api/jobs/${id}`)).status, 404);
    assert.equal(fs.existsSync(job.run_dir), false, 'run directory still there after purge');
    await page.waitForSelector('#jobs-table tbody tr');
    assert.equal(await page.$(`#jobs-table tr[data-job-id="${id}"]`), null);
});

test('the compare page draws several jobs: the tutorial\'s five models', { timeout: 150_000 }, async (t) => {
    if (!needs(t, 'simple')) return;
    // Small enough for the sanitizer build too: the conv models are the slow ones.
    const small = { sparse: 512, deep: 512, conv: 128, denoise: 128 };
    const made = [ids.simple];
    for (const [model, n] of Object.entries(small))
        made.push((await submitViaApi({ model, epochs: 2, train_size: n, test_size: 50, name: `cmp ${model}` })).id);
    for (const id of made) await waitState(id, ['succeeded']);
    ids.denoise = made[made.length - 1];

    await page.goto(`${base}/#/jobs`);
    await page.waitForSelector(`#jobs-table tr[data-job-id="${ids.denoise}"][data-state="succeeded"]`);
    await page.click('a[data-nav="compare"]');
    await page.waitForSelector('.chooser .choice');
    await page.click('text=Latest succeeded job of each model');
    await page.waitForFunction(() => location.hash.startsWith('#/compare?ids='));
    const chosen = new URL(page.url().replace('#/compare', 'compare'), base).searchParams.get('ids').split(',').map(Number);
    // Newest succeeded job of each model, from the API.
    const all = (await api('/api/jobs?state=succeeded&limit=500')).body.jobs;
    const latest = new Map();
    for (const j of all) if (!latest.has(j.model)) latest.set(j.model, j.id);
    assert.deepEqual(new Set(chosen), new Set(latest.values()));

    await page.goto(`${base}/#/compare?ids=${made.join(',')}`);
    await page.waitForSelector(`#compare-chart[data-series="${made.length}"]`);
    await page.waitForSelector(`#compare-figures[data-jobs="${made.length}"]`);
    const maxEpochs = Math.max(...await Promise.all(made.map(async id => (await api(`/api/jobs/${id}`)).body.metrics.length)));
    assert.equal(await page.getAttribute('#compare-chart', 'data-points'), String(maxEpochs));
    const head = await page.$$eval('#compare-figures thead th a', as => as.map(a => a.textContent));
    assert.deepEqual(head, made.map(id => `job ${id}`));
    // Final val_loss of each column is the API's last epoch.
    const finals = await page.$$eval('#compare-figures tbody tr', rs => {
        const r = rs.find(x => x.children[0].textContent === 'final val_loss');
        return [...r.children].slice(1).map(c => c.textContent);
    });
    for (const [i, id] of made.entries()) {
        const m = (await api(`/api/jobs/${id}`)).body.metrics;
        assert.equal(finals[i], m[m.length - 1].val_loss.toFixed(4), `final val_loss of job ${id}`);
    }
    // Training time is the sum of the API's train_seconds (the metrics table's name).
    const times = await page.$$eval('#compare-figures tbody tr', rs => {
        const r = rs.find(x => x.children[0].textContent === 'training time');
        return [...r.children].slice(1).map(c => c.textContent);
    });
    for (const [i, id] of made.entries()) {
        const m = (await api(`/api/jobs/${id}`)).body.metrics;
        assert.ok(m.every(x => typeof x.train_seconds === 'number' && x.train_seconds > 0), `train_seconds of job ${id}`);
        assert.equal(times[i], fmt.duration(m.reduce((s, x) => s + x.train_seconds, 0)), `training time of job ${id}`);
    }
    for (const id of made) {
        const job = (await api(`/api/jobs/${id}`)).body;
        const size = await imageSize(`#compare-grids figure[data-job-id="${id}"] img`);
        const rows = job.model === 'denoise' ? 3 : 2;
        assert.deepEqual([size.w, size.h], [28 * 10, 28 * rows], `grid of job ${id} (${job.model})`);
    }
    await shot('compare');
});

test('keyboard and phone width: everything is reachable and nothing overflows', { timeout: 60_000 }, async (t) => {
    if (!needs(t, 'simple')) return;
    await page.goto(`${base}/#/jobs`);
    await page.waitForSelector('form.job-form[data-ready="true"]');
    await page.waitForSelector(`#jobs-table tr[data-job-id="${ids.simple}"]`);
    await shot('jobs-table');
    const reached = new Set();
    for (let i = 0; i < 120; i++) {
        await page.keyboard.press('Tab');
        const d = await page.evaluate(() => {
            const a = document.activeElement;
            return a ? `${a.tagName.toLowerCase()}#${a.id || ''}|${a.getAttribute('href') || ''}|${a.textContent.trim().slice(0, 20)}` : '';
        });
        reached.add(d);
    }
    const has = re => [...reached].some(x => re.test(x));
    assert.ok(has(/^a#\|#\/compare/), 'compare link');
    assert.ok(has(new RegExp(`^a#\\|#/jobs/${ids.simple}\\|`)), 'job link in the table');
    assert.ok(has(/^select#filter-state/), 'state filter');
    assert.ok(has(/^select#f-model/), 'model chooser');
    assert.ok(has(/^input#f-epochs/), 'epochs field');
    assert.ok(has(/^button#submit-job\|/), 'submit button');
    // A visible focus ring on the focused control.
    await page.focus('#f-epochs');
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Tab');
    const outline = await page.$eval('#f-epochs', el => getComputedStyle(el).outlineStyle);
    assert.notEqual(outline, 'none');

    await page.setViewportSize({ width: 390, height: 844 });
    for (const [name, hash, sel] of [
        ['phone-jobs', '#/jobs', `#jobs-table tr[data-job-id="${ids.simple}"]`],
        ['phone-job-page', `#/jobs/${ids.simple}`, '#loss-chart[data-points="3"]'],
    ]) {
        await page.goto(`${base}/${hash}`);
        await page.waitForSelector(sel);
        await page.evaluate(() => document.activeElement && document.activeElement.blur());
        await sleep(300);   // let the chart settle to the new width
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(overflow <= 0, `${name}: the page is ${overflow} px wider than a phone`);
        await shot(name);
    }
    await page.setViewportSize({ width: 1280, height: 800 });
});

test('with --token-file, a 401 brings up the token field and the token then works', { timeout: 60_000 }, async () => {
    const tokenFile = path.join(tmp, 'token');
    const token = `t-${process.pid}-${Date.now()}`;
    fs.writeFileSync(tokenFile, `${token}\n`);
    const guarded = await startDaemon('guarded', ['--token-file', tokenFile]);
    const p2 = await context.newPage();
    try {
        p2.on('pageerror', e => pageErrors.push(`(token page) ${e}`));
        p2.on('request', r => { if (!r.url().startsWith(guarded.base + '/') && !r.url().startsWith('data:')) offsite.push(r.url()); });
        await p2.goto(`${guarded.base}/#/jobs`);
        await p2.waitForSelector('form.job-form[data-ready="true"]');
        // The daemon says a token is needed, so the header offers the field.
        await p2.waitForSelector('#token-bar:not([hidden])');
        await p2.selectOption('#f-model', 'simple');
        await p2.fill('#f-epochs', '1');
        await p2.fill('#f-train_size', '256');
        await p2.fill('#f-test_size', '50');
        const denied = p2.waitForResponse(r => r.url().endsWith('/api/jobs') && r.request().method() === 'POST');
        await p2.click('#submit-job');
        assert.equal((await denied).status(), 401);
        await p2.waitForSelector('.form-status.error');
        assert.match(await p2.textContent('.form-status'), /401/);
        assert.equal(await p2.evaluate(() => document.activeElement.id), 'token-input');
        await p2.fill('#token-input', token);
        await p2.click('#token-bar button[type="submit"]');
        await p2.click('#submit-job');
        await p2.waitForSelector('.form-status.ok a');
        const id = Number(await p2.textContent('.form-status.ok a'));
        await p2.waitForSelector(`#jobs-table tr[data-job-id="${id}"][data-state="succeeded"]`, { timeout: 60_000 });
    } finally {
        await p2.close();
    }
});

test('nothing came from elsewhere, no script errors, no unexpected HTTP errors', () => {
    assert.deepEqual(offsite, [], 'requests that left aelabd');
    assert.deepEqual(pageErrors, [], 'uncaught errors in the page');
    assert.deepEqual(badResponses, expectedBad, 'HTTP errors the page met');
});
