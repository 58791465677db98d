/*
 * sweeps.test.mjs - the dashboard's sweep pages end to end, in headless
 * Chromium, against a real aelabd.
 *
 * Owns: starting aelabd on 127.0.0.1 port 0 (read back from --port-file)
 * with a fresh temp --db/--logdir and real MNIST, then driving the sweep
 * pages like a person: a bad sweep from the form (errors beside the
 * fields), a tiny ASHA sweep started from the form and followed live to
 * its end, the trials table (sorting, the state filter), the curves chart
 * (one line per trial, rungs, stop marks), the parallel coordinates
 * (brushing filters the table), colouring by a parameter, the best trial's
 * reconstructions, a stopped trial's job page, and cancelling a sweep.
 * Screenshots go to <build dir>/screenshots/sweep-*.png.  Does not own:
 * the sweep API's own tests (tests/integration/test_sweeps.py).
 *
 * Design: every expectation is computed from the API's answers (trials,
 * states, metrics rows, rungs, the best trial), never hard-coded, so the
 * test follows the product.  Each step has a timeout and a watchdog ends
 * the run, so a hang is a failure.
 *
 * Usage (meson passes these):
 *   node sweeps.test.mjs --aelabd PATH --source-root DIR --build-dir DIR
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { commonArgs, loadChromium, startWatchdog, sleep, waitFor, apiCall, startAelabd, stopProcess,
         launchBrowser, watchPage, printOnFailure } from './browser_util.mjs';

const { AELABD, WEB_ROOT, MNIST, SHOTS, CHROMIUM } =
    commonArgs('node sweeps.test.mjs --aelabd PATH --source-root DIR --build-dir DIR');
const chromium = loadChromium(WEB_ROOT);

startWatchdog('sweeps.test.mjs', 240_000, cleanup);

let tmp, base, daemon, daemonLog, context, page;
const offsite = [], pageErrors = [], badResponses = [], expectedBad = [], consoleLines = [];
const state = {};          // what earlier tests made: sweep id, its final JSON

async function cleanup() {
    try { if (context) await context.close(); } catch { /* gone */ }
    context = null;
    await stopProcess(daemon);
}

const api = (p, opts) => apiCall(base, p, opts);

async function shot(name) {
    await page.evaluate(() => document.activeElement && document.activeElement.blur());
    await page.screenshot({ path: path.join(SHOTS, `sweep-${name}.png`), fullPage: true });
}

function needs(t, ...names) {
    const missing = names.filter(n => state[n] === undefined);
    if (missing.length) t.skip(`needs ${missing.join(', ')} from an earlier test, which failed`);
    return missing.length === 0;
}

before(async () => {
    for (const p of [AELABD, WEB_ROOT, CHROMIUM]) assert.ok(fs.existsSync(p), `${p} does not exist`);
    fs.mkdirSync(SHOTS, { recursive: true });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'aelab-sweepweb-'));
    const d = await startAelabd({ aelabd: AELABD, dir: tmp, mnist: MNIST, webRoot: WEB_ROOT });
    ({ base, proc: daemon, log: daemonLog } = d);
    ({ context, page } = await launchBrowser(chromium, CHROMIUM, tmp));
    // blob: URLs of the page's own origin are in-memory (the best grid).
    watchPage(page, base, { offsite, pageErrors, badResponses, consoleLines }, { blobOk: true });
    page.on('dialog', d => d.accept());
});

after(async () => {
    await cleanup();
    printOnFailure(consoleLines, daemonLog);
    try { fs.rmSync(tmp, { recursive: true, force: true }); } catch { /* best effort */ }
});

/** Fill the new-sweep form for a tiny ASHA search over the simple model. */
async function fillTinySweep({ lrMin, lrMax }) {
    await page.selectOption('#s-model', 'simple');
    await page.fill('#s-name', 'web-tiny');
    await page.selectOption('#s-method', 'random');
    await page.fill('#s-max_trials', '5');
    await page.fill('#s-max_concurrent', '2');
    await page.fill('#s-seed', '3');
    await page.selectOption('#s-stopping', 'asha');
    await page.fill('#s-max_epochs', '3');
    await page.fill('#s-min_epochs', '1');
    await page.fill('#s-reduction_factor', '3');
    await page.selectOption('#sp-learning_rate-how', 'range');
    await page.fill('#sp-learning_rate-min', String(lrMin));
    await page.fill('#sp-learning_rate-max', String(lrMax));
    await page.selectOption('#sp-learning_rate-dist', 'log_uniform');
    await page.selectOption('#sp-batch_size-how', 'values');
    await page.fill('#sp-batch_size-value', '64, 128');
    await page.fill('#sp-train_size-value', '600');
    await page.fill('#sp-test_size-value', '100');
}

test('the sweeps page opens with a form built from /api/models', { timeout: 60_000 }, async () => {
    await page.goto(`${base}/#/sweeps`);
    await page.waitForSelector('form.sweep-form[data-ready="true"]');
    await page.waitForSelector('#sweeps-table, .empty:not([hidden])', { state: 'attached' });
    const models = (await api('/api/models')).body;
    assert.deepEqual(await page.$$eval('#s-model option', os => os.map(o => o.value)), models.models.map(m => m.name));
    await page.selectOption('#s-model', 'simple');
    const simple = models.models.find(m => m.name === 'simple');
    const rows = await page.$$eval('table.sweep-params tbody tr', rs => rs.map(r => r.dataset.setting));
    assert.deepEqual(rows, simple.settings.map(s => s.name));
    // A fixed setting starts at the model's default.
    for (const s of simple.settings)
        assert.equal(Number(await page.inputValue(`#sp-${s.name}-value`)), s.default, `${s.name} default`);
    assert.deepEqual(await page.$$eval('#s-dataset option', os => os.map(o => o.value)), models.datasets.map(d => d.name));
    await page.waitForSelector('[data-nav="sweeps"][aria-current="page"]');
});

test('a bad sweep from the form: the API\'s errors appear beside the fields they name', { timeout: 60_000 }, async () => {
    await fillTinySweep({ lrMin: 0.01, lrMax: 0.0001 });          // min above max
    const answer = page.waitForResponse(r => r.url().endsWith('/api/sweeps') && r.request().method() === 'POST');
    await page.click('#submit-sweep');
    const res = await answer;
    assert.ok(res.status() >= 400 && res.status() < 500, `status ${res.status()}`);
    expectedBad.push(`POST /api/sweeps ${res.status()}`);
    const problem = await res.json();
    const fields = (problem.errors || [problem]).map(e => e.field);
    assert.ok(fields.some(f => /learning_rate/.test(f || '')), `the API names learning_rate: ${JSON.stringify(problem)}`);
    await page.waitForSelector('.sweep-form .form-status.error');
    const shown = await page.$eval('tr[data-setting="learning_rate"] .field-error', p => ({ hidden: p.hidden, text: p.textContent }));
    assert.equal(shown.hidden, false);
    const detail = (problem.errors || [problem]).find(e => /learning_rate/.test(e.field || '')).detail;
    assert.ok(shown.text.includes(detail), `"${shown.text}" shows "${detail}"`);
    assert.equal((await api('/api/sweeps')).status, 200);
    await shot('form-error');
});

test('a tiny ASHA sweep started from the form is followed live to its end', { timeout: 150_000 }, async () => {
    await page.fill('#sp-learning_rate-min', '0.0001');
    await page.fill('#sp-learning_rate-max', '0.01');
    await page.click('#submit-sweep');
    const link = await page.waitForSelector('#new-sweep-link');
    const id = Number(await link.textContent());
    assert.ok(id > 0);
    const sw = (await api(`/api/sweeps/${id}`)).body;
    assert.equal(sw.name, 'web-tiny');
    assert.equal(sw.method, 'random');
    assert.equal(sw.max_trials, 5);
    assert.equal(sw.early_stopping.type, 'asha');
    assert.equal(sw.early_stopping.max_epochs, 3);
    assert.deepEqual(sw.parameters.batch_size.values, [64, 128]);
    assert.equal(sw.parameters.learning_rate.distribution, 'log_uniform');
    assert.equal(sw.job.train_size, 600);
    // The list shows it without a reload.
    await page.waitForSelector(`#sweeps-table tr[data-sweep-id="${id}"]`);
    await page.evaluate(() => { window.__same = 'yes'; });
    await page.click(`#sweeps-table tr[data-sweep-id="${id}"] a`);
    await page.waitForSelector('#trials-table');
    // Mid-way: some trial is shown before the sweep ends (the page is live).
    await page.waitForSelector('#trials-table tbody tr');
    const final = await waitFor(`sweep ${id} to finish`, async () => {
        const r = (await api(`/api/sweeps/${id}`)).body;
        return r.state !== 'running' ? r : null;
    }, 120_000, 500);
    assert.equal(final.state, 'succeeded');
    await page.waitForSelector('#sweep-state.state-succeeded', { timeout: 15_000 });
    assert.equal(await page.evaluate(() => window.__same), 'yes', 'the page was reloaded');
    state.id = id;
    state.sweep = final;
});

test('the sweep page: trials table, curves with rungs and stop marks, best reconstructions', { timeout: 60_000 }, async (t) => {
    if (!needs(t, 'sweep')) return;
    const id = state.id;
    const sw = (await api(`/api/sweeps/${id}`)).body;
    state.sweep = sw;
    const metrics = (await api(`/api/sweeps/${id}/metrics`)).body;
    const rows = Array.isArray(metrics) ? metrics : metrics.metrics;
    assert.ok(rows.length > 0, 'the sweep has metrics');
    await page.waitForSelector(`#trials-table[data-rows="${sw.trials.length}"]`);
    const table = await page.$$eval('#trials-table tbody tr', rs => rs.map(r => ({ trial: Number(r.dataset.trial), state: r.dataset.state })));
    assert.deepEqual(table.map(r => r.trial).sort((a, b) => a - b), sw.trials.map(t => t.trial).sort((a, b) => a - b));
    for (const r of table) assert.equal(r.state, sw.trials.find(x => x.trial === r.trial).state, `trial ${r.trial} state`);
    // Epochs trained as the API counts them.
    assert.match(await page.textContent('#sweep-epochs'), new RegExp(`^${sw.epochs_trained}\\b`));

    // One line per trial with metrics, one point per metrics row.
    const withMetrics = new Set(rows.map(r => r.trial));
    await page.waitForSelector(`#trials-chart[data-series="${withMetrics.size}"][data-points="${rows.filter(r => r.val_loss != null).length}"]`);
    const maxEpoch = Math.max(...rows.map(r => r.epoch));
    const rungsShown = (sw.rungs || []).filter(r => r <= maxEpoch).length;
    const stopped = sw.trials.filter(x => x.state === 'stopped');
    const chart = await page.$eval('#trials-chart', e => ({ rungs: Number(e.dataset.rungs), stopped: Number(e.dataset.stopped) }));
    assert.equal(chart.rungs, rungsShown, 'rungs drawn');
    assert.equal(chart.stopped, stopped.length, 'stop marks drawn');
    for (const s of stopped) assert.ok((sw.rungs || []).includes(s.epochs), `stopped trial ${s.trial} ended at a rung`);
    const inked = await page.$eval('#trials-chart canvas', c => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
        return n;
    });
    assert.ok(inked > 500, `chart canvas nearly empty (${inked})`);

    // The best trial's reconstructions: 10 test images over their reconstructions.
    assert.ok(sw.best, 'the sweep has a best trial');
    await page.waitForFunction(() => { const i = document.querySelector('#best-recon'); return i && i.complete && i.naturalWidth > 0; });
    const img = await page.$eval('#best-recon', i => ({ w: i.naturalWidth, h: i.naturalHeight, job: i.dataset.job, src: i.dataset.src, epoch: i.dataset.epoch }));
    assert.equal(Number(img.job), sw.best.job);
    // The latest epoch of the best trial (its earlier weights may be pruned).
    assert.equal(Number(img.epoch), sw.trials.find(x => x.trial === sw.best.trial).epochs);
    assert.match(img.src, new RegExp(`api/jobs/${sw.best.job}/reconstructions\\.png`));
    assert.equal(img.w, 28 * Number(new URL(img.src, base).searchParams.get('n')));
    assert.equal(img.h, 56);
    assert.equal(await page.textContent('#best-job'), String(sw.best.job));
    await shot('page');
});

test('sorting and the state filter of the trials table', { timeout: 30_000 }, async (t) => {
    if (!needs(t, 'sweep')) return;
    const sw = state.sweep;
    const order = async () => page.$$eval('#trials-table tbody tr', rs => rs.map(r => Number(r.dataset.trial)));
    const byVal = [...sw.trials].sort((a, b) => (a.val_loss ?? Infinity) - (b.val_loss ?? Infinity) || a.trial - b.trial).map(x => x.trial);
    await page.click('#trials-table button[data-sort="val_loss"]');
    await page.waitForSelector('#trials-table[data-sort="val_loss:asc"]');
    assert.deepEqual(await order(), byVal);
    await page.click('#trials-table button[data-sort="val_loss"]');
    await page.waitForSelector('#trials-table[data-sort="val_loss:desc"]');
    const withVal = sw.trials.filter(x => x.val_loss != null);
    const desc = [...withVal].sort((a, b) => b.val_loss - a.val_loss || a.trial - b.trial).map(x => x.trial);
    assert.deepEqual((await order()).slice(0, desc.length), desc);
    assert.equal(await page.getAttribute('#trials-table th[aria-sort]', 'aria-sort'), 'descending');
    for (const s of ['stopped', 'succeeded']) {
        await page.selectOption('#trial-state', s);
        const want = sw.trials.filter(x => x.state === s).map(x => x.trial).sort((a, b) => a - b);
        await page.waitForSelector(`#trials-table[data-rows="${want.length}"]`);
        assert.deepEqual((await order()).sort((a, b) => a - b), want, `state ${s}`);
    }
    await page.selectOption('#trial-state', '');
    await page.waitForSelector(`#trials-table[data-rows="${sw.trials.length}"]`);
});

test('brushing the parallel coordinates filters the table; colouring by a parameter', { timeout: 30_000 }, async (t) => {
    if (!needs(t, 'sweep')) return;
    const sw = state.sweep;
    const named = sw.trials.filter(x => x.val_loss != null);
    const axes = await page.$$eval('#parcoords .pc-axis', gs => gs.map(g => g.dataset.axis));
    assert.deepEqual(axes, [...Object.keys(sw.parameters), 'val_loss']);
    assert.equal(Number(await page.getAttribute('#parcoords', 'data-lines')), named.length);
    // Drag over the lower half of the val_loss axis: the better trials.
    const hit = await page.$('#parcoords .pc-axis[data-axis="val_loss"] .pc-hit');
    await hit.scrollIntoViewIfNeeded();
    const bb = await hit.boundingBox();
    const x = bb.x + bb.width / 2;
    await page.mouse.move(x, bb.y + bb.height * 0.55);
    await page.mouse.down();
    await page.mouse.move(x, bb.y + bb.height - 2, { steps: 6 });
    await page.mouse.up();
    await page.waitForSelector('#parcoords[data-brushes="1"]');
    const selected = Number(await page.getAttribute('#parcoords', 'data-selected'));
    const shown = await page.$$eval('#trials-table tbody tr', rs => rs.map(r => Number(r.dataset.trial)));
    assert.equal(shown.length, selected, 'the table shows what the brush keeps');
    const vals = named.map(x => x.val_loss);
    const lo = Math.min(...vals), hi = Math.max(...vals);
    const best = named.find(x => x.val_loss === lo), worst = named.find(x => x.val_loss === hi);
    assert.ok(shown.includes(best.trial), 'the best trial is in the lower band');
    if (hi > lo) assert.ok(!shown.includes(worst.trial), 'the worst trial is not');
    for (const tr of shown) assert.ok(named.find(x => x.trial === tr).val_loss <= lo + 0.5 * (hi - lo) + 1e-9, `trial ${tr} in band`);
    await shot('brushed');
    await page.click('.pc-clear');
    await page.waitForSelector(`#trials-table[data-rows="${sw.trials.length}"]`);

    // Colour by batch_size: one legend swatch per listed value.
    await page.selectOption('#colour-by', 'batch_size');
    await page.waitForFunction(n => document.querySelectorAll('#colour-legend .swatch').length === n, sw.parameters.batch_size.values.length);
    const colours = await page.$$eval('#parcoords polyline', ls => new Set(ls.map(l => l.getAttribute('stroke'))).size);
    const distinct = new Set(named.map(x => x.params.batch_size)).size;
    assert.equal(colours, distinct, 'one colour per batch_size value');
    await page.selectOption('#colour-by', 'learning_rate');
    await page.waitForSelector('#colour-legend .ramp');
});

test('a stopped trial\'s job page: the stopped badge and a link back to its sweep', { timeout: 30_000 }, async (t) => {
    if (!needs(t, 'sweep')) return;
    const sw = state.sweep;
    const trial = sw.trials.find(x => x.state === 'stopped') || sw.trials[0];
    await page.click(`#trials-table tr[data-trial="${trial.trial}"] td a`);
    await page.waitForSelector(`#job-state.state-${trial.state}`);
    assert.equal(await page.textContent('#job-state'), trial.state);
    const job = (await api(`/api/jobs/${trial.job}`)).body;
    assert.equal(job.sweep, sw.id);
    assert.equal(job.state, trial.state);
    assert.equal(await page.getAttribute('#job-sweep', 'href'), `#/sweeps/${sw.id}`);
    if (trial.state === 'stopped') {
        const bg = await page.$eval('#job-state', e => getComputedStyle(e).backgroundColor);
        assert.notEqual(bg, 'rgba(0, 0, 0, 0)', 'the stopped badge has a colour');
    }
    await shot('stopped-job');
    await page.click('#job-sweep');
    await page.waitForSelector('#trials-table tbody tr');
    // The jobs table lists the trial with its state, and filters on stopped.
    await page.goto(`${base}/#/jobs?state=${trial.state}`);
    await page.waitForSelector(`#jobs-table tr[data-job-id="${trial.job}"][data-state="${trial.state}"]`);
});

test('cancelling a running sweep from its page', { timeout: 60_000 }, async () => {
    const r = await api('/api/sweeps', { method: 'POST', body: JSON.stringify({
        name: 'web-cancel', job: { model: 'simple', train_size: 3000, test_size: 100, epochs: 20 },
        parameters: { learning_rate: { values: [0.001, 0.002, 0.003, 0.004] } },
        method: 'grid', max_concurrent: 1 }) });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    await page.goto(`${base}/#/sweeps/${r.body.id}`);
    await page.waitForSelector('#sweep-state.state-running');
    await page.waitForSelector('#cancel-sweep:not([disabled])');
    await page.click('#cancel-sweep');
    await page.waitForSelector('#sweep-state.state-cancelled', { timeout: 30_000 });
    const after = (await api(`/api/sweeps/${r.body.id}`)).body;
    assert.equal(after.state, 'cancelled');
    for (const x of after.trials) assert.ok(['cancelled', 'succeeded', 'stopped', 'failed'].includes(x.state), `trial ${x.trial} ${x.state}`);
    await page.waitForSelector('#delete-sweep:not([disabled])');
    await shot('cancelled');
    await page.click('#delete-sweep');
    await page.waitForFunction(() => location.hash === '#/sweeps');
    assert.equal((await api(`/api/sweeps/${r.body.id}`)).status, 404);
    await page.waitForSelector(`#sweeps-table tr[data-sweep-id="${state.id ?? 0}"], .empty:not([hidden])`);
    assert.equal(await page.$(`#sweeps-table tr[data-sweep-id="${r.body.id}"]`), null);
    await shot('list');
});

test('a phone-wide sweep page does not scroll sideways', { timeout: 30_000 }, async (t) => {
    if (!needs(t, 'sweep')) return;
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${base}/#/sweeps/${state.id}`);
    await page.waitForSelector('#trials-table tbody tr');
    await sleep(300);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow} px wider than a phone`);
    await shot('phone');
    await page.setViewportSize({ width: 1280, height: 800 });
});

test('nothing came from elsewhere, no script errors, no unexpected HTTP errors', () => {
    assert.deepEqual(offsite, [], 'requests that left aelabd');
    assert.deepEqual(pageErrors, [], 'uncaught errors in the page');
    assert.deepEqual(badResponses, expectedBad, 'HTTP errors the page met');
});
