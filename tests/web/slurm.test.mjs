/*
 * slurm.test.mjs - a Slurm job's page in headless Chromium, against a real
 * `aelabd --executor slurm` on a real private two-node Slurm cluster.
 *
 * Owns: that the job page says where a Slurm job runs - executor "slurm",
 * its Slurm job id and its node - while it runs (live, from the page's own
 * updates) and after it succeeded, each equal to what the API says.
 * Screenshot: <build dir>/screenshots/slurm-job-page.png.  Does not own: the
 * Slurm executor itself (tests/integration/test_slurm.py) or the rest of the
 * job page (dashboard.test.mjs).
 *
 * Design: tests/web/slurm_env.py starts the cluster and aelabd and prints
 * one JSON line with the base URL; closing its stdin (or SIGTERM) tears it
 * all down by pid.  The job is submitted while the partition is held
 * (slurm_env.py's `hold`: Slurm takes it but starts nothing) and released
 * once the page follows the job's stream, so the page is there when the job
 * starts however fast the cluster is.  A recorder in the page notes every (state, executor,
 * Slurm job, node) the page shows, so the "while running" check sees what a
 * person would have seen, not a later re-render.  Expectations come from
 * the API's answers.  Skips (exit 77) when not root or Slurm is missing.
 *
 * Usage (meson passes these):
 *   node slurm.test.mjs --aelabd PATH --source-root DIR --build-dir DIR [--python PATH]
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { arg, commonArgs, loadChromium, startWatchdog, waitFor, apiCall, launchBrowser, watchPage,
         printOnFailure } from './browser_util.mjs';

const { AELABD, SOURCE, WEB_ROOT, SHOTS, CHROMIUM } =
    commonArgs('node slurm.test.mjs --aelabd PATH --source-root DIR --build-dir DIR [--python PATH]');
const PYTHON = arg('python') || 'python3';

const haveCmd = c => spawnSync('sh', ['-c', `command -v ${c}`], { stdio: 'ignore' }).status === 0;
if (process.getuid() !== 0 || !haveCmd('slurmctld') || !haveCmd('munged')) {
    console.log('SKIP: needs root, munge and Slurm (scripts/setup.sh)');
    process.exit(77);
}

const FINAL = ['succeeded', 'failed', 'cancelled', 'stopped'];
// About 2 s of training (0.13 s an epoch on one core), so its start and end
// lines are read by aelabd in different 0.25 s ticks even on a machine
// several times faster, and the page has a running stretch to show.
const SPEC = { model: 'simple', epochs: 16, train_size: 12000, test_size: 200, batch_size: 10,
               threads: 1, name: 'on slurm' };

const chromium = loadChromium(WEB_ROOT);

startWatchdog('slurm.test.mjs', 200_000, cleanup);

let env, envInfo, envErr = '', lines, tmp, base, context, page;
const offsite = [], pageErrors = [], badResponses = [], consoleLines = [];

// A deadline for a race: unref'd, so a lost race does not hold the process.
const deadline = ms => new Promise(r => setTimeout(r, ms).unref());

async function cleanup() {
    try { if (context) await context.close(); } catch { /* gone */ }
    context = null;
    if (env && env.exitCode === null && env.signalCode === null) {
        const exited = new Promise(r => env.once('exit', () => r(true)));
        env.stdin.end();                    // slurm_env.py tears down on EOF
        if (!await Promise.race([exited, deadline(40_000).then(() => false)])) {
            env.kill('SIGTERM');            // its handler tears down too
            if (!await Promise.race([exited, deadline(30_000).then(() => false)])) env.kill('SIGKILL');
        }
    }
}

const api = (p, opts) => apiCall(base, p, opts);

/** One command to slurm_env.py (hold, release); fails the test unless done. */
async function envCommand(cmd) {
    const answer = new Promise(r => lines.once('line', l => {
        try { r(JSON.parse(l)); } catch { r({ error: `not JSON: ${l}` }); }
    }));
    env.stdin.write(`${cmd}\n`);
    const a = await Promise.race([answer, deadline(30_000).then(() => ({ error: 'no answer in 30 s' }))]);
    assert.equal(a.ok, cmd, `slurm_env.py ${cmd}: ${JSON.stringify(a)}`);
}

/** The end of aelabd's log, printed when the test fails. */
function daemonLogTail() {
    try { return fs.readFileSync(envInfo.log, 'utf8').split('\n').slice(-60).join('\n'); }
    catch (e) { return `(no log: ${e.message})`; }
}

/** The job page's facts (term -> text) and its state badge, as shown. */
async function shownFacts() {
    return page.evaluate(() => {
        const out = { state: document.querySelector('#job-state')?.textContent ?? '' };
        for (const div of document.querySelectorAll('.job-head dl.facts > div')) {
            const dt = div.querySelector('dt'), dd = div.querySelector('dd');
            if (dt && dd) out[dt.textContent.trim()] = dd.textContent.trim();
        }
        return out;
    });
}

before(async () => {
    for (const p of [AELABD, WEB_ROOT, CHROMIUM]) assert.ok(fs.existsSync(p), `${p} does not exist`);
    fs.mkdirSync(SHOTS, { recursive: true });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'aelab-slurmweb-'));
    env = spawn(PYTHON, [path.join(SOURCE, 'tests', 'web', 'slurm_env.py'),
        '--aelabd', AELABD, '--source-root', SOURCE], { stdio: ['pipe', 'pipe', 'pipe'] });
    env.stderr.on('data', d => { envErr += d; });
    lines = readline.createInterface({ input: env.stdout });
    envInfo = await Promise.race([
        new Promise((r, rej) => lines.once('line', l => { try { r(JSON.parse(l)); } catch { rej(new Error(`slurm_env.py said: ${l}`)); } })),
        new Promise((_, rej) => env.once('exit', c => rej(new Error(`slurm_env.py exited with ${c}: ${envErr}`)))),
        deadline(90_000).then(() => { throw new Error(`slurm_env.py printed nothing in 90 s: ${envErr}`); }),
    ]);
    if (envInfo.skip) { console.log(`SKIP: ${envInfo.skip}`); process.exit(77); }
    assert.ok(!envInfo.error, `slurm_env.py: ${envInfo.error}\n${envErr}`);
    base = envInfo.base;
    ({ context, page } = await launchBrowser(chromium, CHROMIUM, tmp));
    watchPage(page, base, { offsite, pageErrors, badResponses, consoleLines }, { blobOk: true });
});

after(async () => {
    await cleanup();
    printOnFailure(consoleLines, null);
    if (process.exitCode && envErr) console.error(`--- slurm_env.py ---\n${envErr.slice(-4000)}`);
    try { fs.rmSync(tmp, { recursive: true, force: true }); } catch { /* best effort */ }
});

test('a Slurm job page shows executor, Slurm job id and node, live and after success', { timeout: 150_000 }, async () => {
    try {
        await slurmJobPage();
    } catch (e) {
        console.error(`--- aelabd's log, last lines ---\n${daemonLogTail()}`);
        throw e;
    }
});

async function slurmJobPage() {
    const health = (await api('/api/health')).body;
    assert.equal(health.executor, 'slurm', 'aelabd runs the Slurm executor');
    await envCommand('hold');
    const r = await api('/api/jobs', { method: 'POST', body: JSON.stringify(SPEC) });
    assert.equal(r.status, 201, `submit: ${JSON.stringify(r.body)}`);
    const id = r.body.id;
    await page.goto(`${base}/#/jobs/${id}`);
    // Record every distinct view of the facts the page renders from now on.
    await page.evaluate(() => {
        const seen = window.__slurmViews = [];
        const grab = () => {
            const v = { state: document.querySelector('#job-state')?.textContent ?? '' };
            for (const div of document.querySelectorAll('.job-head dl.facts > div')) {
                const dt = div.querySelector('dt'), dd = div.querySelector('dd');
                if (dt && dd) v[dt.textContent.trim()] = dd.textContent.trim();
            }
            const k = JSON.stringify([v.state, v.executor, v['Slurm job'], v.node]);
            if (!seen.length || seen[seen.length - 1].k !== k) seen.push({ k, v });
        };
        grab();
        new MutationObserver(grab).observe(document.body, { subtree: true, childList: true, characterData: true });
    });

    // The page follows the job's event stream from here on, so it renders
    // every state change, however short the running stretch is.
    await page.waitForSelector('#conn[data-state="live"]');
    // Handed to Slurm, which holds it pending: the job is queued, not gone.
    const pending = await waitFor(`job ${id} to be handed to Slurm`, async () => {
        const j = (await api(`/api/jobs/${id}`)).body;
        return j.slurm_job_id || FINAL.includes(j.state) ? j : null;
    }, 30_000, 100);
    assert.equal(pending.state, 'queued', `the job waits while the partition is held: ${JSON.stringify(pending)}`);
    await envCommand('release');

    // The API's answers until the job ends; the running stretch may be too
    // short for this poll to catch, so the page is checked against the
    // final answer, which keeps the Slurm job id and node.
    let running = null;
    const done = await waitFor(`job ${id} to end`, async () => {
        const j = (await api(`/api/jobs/${id}`)).body;
        if (j.state === 'running' && j.node && !running) running = j;
        return FINAL.includes(j.state) ? j : null;
    }, 120_000, 50);
    assert.equal(done.state, 'succeeded', `the job: ${done.error}`);
    assert.equal(done.executor, 'slurm');
    assert.match(done.slurm_job_id ?? '', /^[0-9]+$/, 'the API gives the Slurm job id');
    assert.ok(envInfo.nodes.includes(done.node), `the API's node ${done.node} is one of ${envInfo.nodes}`);
    if (running) {
        assert.equal(running.slurm_job_id, done.slurm_job_id, 'the Slurm job id stays');
        assert.equal(running.node, done.node, 'the node stays');
    }

    // Live: while its badge said running, the page showed where it ran.
    const views = (await page.evaluate(() => window.__slurmViews)).map(x => x.v);
    const live = views.filter(v => v.state === 'running');
    assert.ok(live.length > 0, `the page showed the job running: ${JSON.stringify(views)}`);
    const placed = live.filter(v => v.node === done.node);
    assert.ok(placed.length > 0, `while running the page showed node ${done.node}: ${JSON.stringify(live)}`);
    for (const v of placed) {
        assert.equal(v.executor, 'slurm', 'executor while running');
        assert.equal(v['Slurm job'], done.slurm_job_id, 'Slurm job id while running');
    }

    // After success, on the page as it stands and on a fresh load of it.
    for (const fresh of [false, true]) {
        if (fresh) await page.reload();
        await page.waitForFunction(() => document.querySelector('#job-state')?.textContent === 'succeeded');
        const f = await shownFacts();
        const how = fresh ? 'reloaded page' : 'live page';
        assert.equal(f.executor, 'slurm', `${how}: executor`);
        assert.equal(f['Slurm job'], done.slurm_job_id, `${how}: Slurm job id`);
        assert.equal(f.node, done.node, `${how}: node`);
        assert.equal(await page.textContent('#job-slurm-id'), done.slurm_job_id, `${how}: #job-slurm-id`);
        assert.equal(await page.textContent('#job-node'), done.node, `${how}: #job-node`);
    }
    // The last epoch's reconstructions, so the screenshot shows a whole page.
    await page.waitForFunction(n => {
        const i = document.querySelector('#recon');
        return i && i.dataset.epoch === String(n) && i.complete && i.naturalWidth > 0;
    }, done.epochs);
    await page.evaluate(() => document.activeElement && document.activeElement.blur());
    await page.screenshot({ path: path.join(SHOTS, 'slurm-job-page.png'), fullPage: true });
}

test('nothing came from elsewhere, no script errors, no HTTP errors', () => {
    assert.deepEqual(offsite, [], 'requests that left aelabd');
    assert.deepEqual(pageErrors, [], 'uncaught errors in the page');
    assert.deepEqual(badResponses, [], 'HTTP errors the page met');
});
