/*
 * job_page.js - #/jobs/{id}: one job, live.
 *
 * Owns: the job's own event stream (api/jobs/{id}/events: snapshot,
 * progress, epoch, state, end, deleted), the loss/val_loss chart growing
 * one point per finished epoch, the reconstruction grid with a slider over
 * the epochs, the latent-space scatter for the same epoch (and for a vae
 * the manifold, a button that decodes fresh prior samples, and the
 * reconstruction and KL parts of the loss on their own charts), the model
 * summary, the settings, cancel and delete, and the download and
 * TensorBoard links.  Does not own: the jobs table or the
 * shared store (it only tells the store what it learns).
 *
 * Design: the stream's snapshot is the truth; a plain GET runs beside it
 * only to answer fast (and to report 404), and is ignored once a snapshot
 * has arrived.  The server closes the stream after `end`; we close our
 * EventSource then too, or the browser would reconnect forever.  While the
 * stream is down and the job is not finished, the page re-reads the job
 * slowly (POLL_MS), never faster.
 */
import { api, ApiError, urls } from './api.js';
import { store } from './live.js';
import { h, replace, setText } from './dom.js';
import { lineChart } from './chart.js';
import * as fmt from './format.js';

const POLL_MS = 15000;
const RETRY_MS = 20000;
const GRID_N = 10;           // images per row of the reconstruction grid
const SAMPLES_N = 20;        // prior samples per click (two rows of 10)

export function mount(main, route, ctx) {
    const id = route.id;
    document.title = `Job ${id} - aelab`;
    let alive = true;
    let job = null;
    let metrics = [];               // EpochMetrics, sorted by epoch
    let haveSnapshot = false;
    let es = null, pollTimer = null, retryTimer = null;
    let following = true;           // slider tracks the latest epoch
    let shownEpoch = 0;
    let imgTimer = null;

    // ---- skeleton ---------------------------------------------------------
    const title = h('h1', {}, `Job ${id}`);
    const stateBadge = h('span', { class: 'state', id: 'job-state' });
    const facts = h('dl', { class: 'facts' });
    const errorBox = h('p', { class: 'job-error', hidden: true, role: 'alert' });
    const actionStatus = h('p', { class: 'action-status', role: 'status', 'aria-live': 'polite' });
    const cancelBtn = h('button', { type: 'button', id: 'cancel-job', class: 'danger', disabled: true, onclick: onCancel }, 'Cancel job');
    const purgeBox = h('input', { type: 'checkbox', id: 'purge' });
    const deleteBtn = h('button', { type: 'button', id: 'delete-job', class: 'danger', disabled: true, onclick: onDelete }, 'Delete job');
    const links = h('ul', { class: 'links' });
    const progressBar = h('progress', { max: 1, value: 0, id: 'job-progress', 'aria-label': 'Progress of all epochs' });

    const head = h('section', { class: 'panel job-head', 'aria-labelledby': 'job-title' },
        h('p', { class: 'crumbs' }, h('a', { href: '#/jobs' }, 'Jobs'), ' / ', `job ${id}`),
        h('div', { class: 'job-title-row' }, Object.assign(title, { id: 'job-title' }), stateBadge),
        progressBar,
        facts,
        errorBox,
        h('div', { class: 'actions' },
            cancelBtn,
            h('span', { class: 'delete-group' }, deleteBtn,
                h('label', { for: 'purge', class: 'inline' }, purgeBox, ' also delete its run directory')),
            links),
        actionStatus);

    const chartPanel = h('section', { class: 'panel', 'aria-labelledby': 'loss-title' },
        h('h2', { id: 'loss-title' }, 'Loss per epoch'));
    const chart = lineChart(chartPanel, {
        title: 'loss and val_loss per epoch (binary cross-entropy)',
        series: [{ label: 'loss' }, { label: 'val_loss' }],
    });
    chart.element.querySelector('.chart-plot').id = 'loss-chart';

    const slider = h('input', { type: 'range', id: 'epoch-slider', min: 1, max: 1, step: 1, value: 1, disabled: true });
    const sliderOut = h('output', { for: 'epoch-slider', id: 'epoch-out' });
    const img = h('img', { id: 'recon', class: 'recon', alt: '', decoding: 'async' });
    const imgNote = h('p', { class: 'note', id: 'recon-note' }, 'The grid appears once the first epoch has finished.');
    const epochWeights = h('a', { hidden: true, download: '' }, 'weights after this epoch');
    const reconPanel = h('section', { class: 'panel', 'aria-labelledby': 'recon-title' },
        h('h2', { id: 'recon-title' }, 'Reconstructions'),
        h('p', { class: 'note' }, `The first ${GRID_N} test images (top row) and the model's reconstructions (bottom row; the denoise model shows its noisy inputs in between).`),
        h('div', { class: 'recon-frame' }, img),
        imgNote,
        h('div', { class: 'slider-row' }, h('label', { for: 'epoch-slider' }, 'Epoch'), slider, sliderOut),
        h('p', {}, epochWeights));

    // Latent space: the scatter for every model; the vae's extras are added
    // once the job's model is known (vaeExtras).
    const latentImg = h('img', { id: 'latent', class: 'latent', alt: '', decoding: 'async', hidden: true });
    const latentNote = h('p', { class: 'note', id: 'latent-note' }, 'The scatter appears once the first epoch has finished.');
    const latentCaption = h('p', { class: 'note', id: 'latent-caption' },
        'The first 5,000 test images, one dot each, coloured by label, after the epoch chosen under Reconstructions.');
    const latentPanel = h('section', { class: 'panel', 'aria-labelledby': 'latent-title' },
        h('h2', { id: 'latent-title' }, 'Latent space'), latentCaption,
        h('div', { class: 'latent-frame' }, latentImg), latentNote);
    const vaeSlot = h('div', { class: 'vae-slot' });
    const partsRow = h('div', { class: 'grid-2', hidden: true });
    let vae = null;                 // {manifoldImg, samplesImg, recChart, klChart, ...} for a vae

    const summaryPre = h('pre', { class: 'summary', id: 'model-summary', tabindex: 0 }, 'Loading\u2026');
    const paramsNote = h('p', { class: 'note' });
    const summaryPanel = h('section', { class: 'panel', 'aria-labelledby': 'summary-title' },
        h('h2', { id: 'summary-title' }, 'Model summary'), paramsNote, summaryPre);
    const settingsTable = h('table', { class: 'settings', id: 'job-settings' });
    const settingsPanel = h('section', { class: 'panel', 'aria-labelledby': 'settings-title' },
        h('h2', { id: 'settings-title' }, 'Settings'), settingsTable);

    main.append(head,
        h('div', { class: 'grid-2' }, chartPanel, reconPanel),
        h('div', { class: 'grid-2' }, latentPanel, vaeSlot),
        partsRow,
        h('div', { class: 'grid-2' }, summaryPanel, settingsPanel));

    // ---- rendering --------------------------------------------------------
    function fact(term, value) { return h('div', {}, h('dt', {}, term), h('dd', {}, value)); }

    function renderHead() {
        if (!job) return;
        replace(title, `Job ${job.id}`, job.name ? h('span', { class: 'job-name' }, ` ${job.name}`) : null);
        document.title = `Job ${job.id}${job.name ? ' ' + job.name : ''} - aelab`;
        const label = job.state === 'running' && job.cancel_requested ? 'cancelling' : job.state;
        setText(stateBadge, label);
        stateBadge.className = `state state-${job.state}`;
        progressBar.value = typeof job.progress === 'number' ? job.progress : 0;
        const running = job.state === 'running';
        replace(facts,
            job.sweep != null ? fact('sweep', h('a', { href: `#/sweeps/${job.sweep}`, id: 'job-sweep' }, `sweep ${job.sweep}`)) : null,
            fact('model', job.model),
            fact('data set', job.dataset),
            fact('epoch', `${job.epoch ?? 0} of ${job.epochs ?? '?'}`),
            running && job.batches ? fact(`epoch ${job.current_epoch ?? (job.epoch ?? 0) + 1}`,
                `batch ${job.batch ?? 0} of ${job.batches}, running loss ${fmt.loss(job.batch_loss)}`) : null,
            fact('loss', fmt.loss(job.loss)),
            fact('val_loss', fmt.loss(job.val_loss)),
            // 0 until the daemon has measured a stretch of batches.
            running ? fact('samples/s', job.samples_per_second > 0 ? fmt.int(job.samples_per_second) : fmt.NONE) : null,
            fact('duration', h('span', { id: 'job-duration' }, fmt.duration(fmt.jobDuration(job)))),
            running ? fact('ETA', fmt.duration(job.eta_seconds)) : null,
            job.state === 'queued' && job.queue_position ? fact('queue position', String(job.queue_position)) : null,
            // Where it runs: shown for Slurm jobs (a local job runs inside aelabd).
            job.executor === 'slurm' ? fact('executor', 'slurm') : null,
            job.executor === 'slurm' ? fact('Slurm job', job.slurm_job_id ? h('code', { id: 'job-slurm-id' }, job.slurm_job_id) : 'not submitted yet') : null,
            job.executor === 'slurm' ? fact('node', job.node ? h('code', { id: 'job-node' }, job.node) : fmt.NONE) : null,
            fact('created', fmt.time(job.created_at)),
            job.started_at ? fact('started', fmt.time(job.started_at)) : null,
            job.finished_at ? fact('finished', fmt.time(job.finished_at)) : null,
            job.run_dir ? fact('run directory', h('code', {}, job.run_dir)) : null);
        errorBox.hidden = !job.error;
        setText(errorBox, job.error ? `Failed: ${job.error}` : '');
        const finished = fmt.FINISHED.has(job.state);
        cancelBtn.disabled = finished || !!job.cancel_requested;
        deleteBtn.disabled = !finished;
        renderLinks();
    }

    function renderLinks() {
        const runName = job.run_dir ? job.run_dir.replace(/\/+$/, '').split('/').pop() : '';
        const tb = new URL(ctx.tensorboardUrl(), location.href);
        if (runName) tb.searchParams.set('runFilter', runName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
        tb.hash = 'timeseries';
        replace(links,
            h('li', {}, h('a', { href: urls.metrics(job.id, 'csv'), download: `job-${job.id}-metrics.csv` }, 'metrics CSV')),
            h('li', {}, h('a', { href: urls.metrics(job.id, 'json'), download: `job-${job.id}-metrics.json` }, 'metrics JSON')),
            (job.epoch ?? 0) >= 1 ? h('li', {}, h('a', { href: urls.weights(job.id), download: '' }, 'checkpoint')) : null,
            h('li', {}, h('a', { href: tb.href, target: '_blank', rel: 'noopener', id: 'tb-run-link' }, 'TensorBoard run')));
    }

    function renderChart() {
        const xs = metrics.map(m => m.epoch);
        chart.setData(xs, [metrics.map(m => m.loss ?? null), metrics.map(m => m.val_loss ?? null)]);
        if (vae) {
            vae.recChart.setData(xs, [metrics.map(m => m.reconstruction_loss ?? null),
                                      metrics.map(m => m.val_reconstruction_loss ?? null)]);
            vae.klChart.setData(xs, [metrics.map(m => m.kl_loss ?? null), metrics.map(m => m.val_kl_loss ?? null)]);
        }
    }

    // ---- the vae's extras ---------------------------------------------------
    // Built once, when the job turns out to be a vae: the loss parts, the
    // manifold (latent_dim 2) and the prior samples with their button.
    function vaeExtras() {
        if (vae !== null || !job || !job.model) return;
        const latentDim = job.settings ? job.settings.latent_dim : undefined;
        if (job.model !== 'vae') {
            setText(latentCaption, 'The first 5,000 test images, one dot each, coloured by label, at the first two principal components of the code, after the epoch chosen under Reconstructions.');
            vae = false;
            return;
        }
        setText(latentCaption, latentDim === 2 || latentDim === undefined
            ? 'The first 5,000 test images at their encoded means, one dot each, coloured by label, after the epoch chosen under Reconstructions.'
            : 'The first 5,000 test images at the first two principal components of their encoded means, coloured by label.');
        const caption = chart.element.querySelector('figcaption');
        if (caption) setText(caption, 'loss and val_loss per epoch (784 \u00d7 binary cross-entropy + KL divergence)');

        const v = {};
        const partsPanel = h('section', { class: 'panel', 'aria-labelledby': 'parts-title' },
            h('h2', { id: 'parts-title' }, 'Loss parts'));
        v.recChart = lineChart(partsPanel, {
            title: 'reconstruction part (784 \u00d7 binary cross-entropy) per epoch',
            series: [{ label: 'reconstruction_loss' }, { label: 'val_reconstruction_loss' }],
            height: 220,
        });
        v.recChart.element.querySelector('.chart-plot').id = 'rec-chart';
        const klPanel = h('section', { class: 'panel', 'aria-labelledby': 'kl-title' },
            h('h2', { id: 'kl-title' }, 'KL divergence'));
        v.klChart = lineChart(klPanel, {
            title: 'KL(q(z|x) \u2016 N(0, I)) per epoch',
            series: [{ label: 'kl_loss' }, { label: 'val_kl_loss' }],
            height: 220,
        });
        v.klChart.element.querySelector('.chart-plot').id = 'kl-chart';
        replace(partsRow, partsPanel, klPanel);
        partsRow.hidden = false;

        v.manifoldImg = null;
        if (latentDim === 2) {
            v.manifoldImg = h('img', { id: 'manifold', class: 'manifold', alt: '', decoding: 'async', hidden: true });
        }
        v.samplesImg = h('img', { id: 'samples', class: 'manifold', alt: '', decoding: 'async', hidden: true });
        v.samplesNote = h('p', { class: 'note', id: 'samples-note', role: 'status' },
            'Press the button to decode fresh draws from the prior N(0, I).');
        v.sampleBtn = h('button', { type: 'button', id: 'sample-btn', disabled: true, onclick: drawSamples },
            `Sample ${SAMPLES_N} images`);
        v.samplesImg.addEventListener('error', () => { if (alive) setText(v.samplesNote, 'Could not load the samples.'); });
        replace(vaeSlot, h('section', { class: 'panel', 'aria-labelledby': 'vae-title' },
            h('h2', { id: 'vae-title' }, 'Decoder'),
            v.manifoldImg ? h('p', { class: 'note' },
                'The latent manifold: decoder outputs on a 15\u00d715 grid of latent points at the Gaussian quantiles of 5% to 95%; z[0] grows to the right, z[1] upwards.') : null,
            v.manifoldImg ? h('div', { class: 'recon-frame' }, v.manifoldImg) : null,
            h('div', { class: 'sample-row' }, v.sampleBtn),
            h('div', { class: 'recon-frame' }, v.samplesImg),
            v.samplesNote));
        vae = v;
        if (shownEpoch >= 1) loadImage(shownEpoch); // the extras join the epoch already shown
    }

    function drawSamples() {
        if (!vae || shownEpoch < 1) return;
        const seed = crypto.getRandomValues(new Uint32Array(1))[0];
        vae.samplesImg.hidden = false;
        vae.samplesImg.alt = `${SAMPLES_N} images decoded from random latent points, seed ${seed}, epoch ${shownEpoch}`;
        vae.samplesImg.src = urls.samples(id, { n: SAMPLES_N, seed, epoch: shownEpoch });
        setText(vae.samplesNote, `${SAMPLES_N} draws from N(0, I) with seed ${seed}, decoded by the weights of epoch ${shownEpoch}.`);
    }

    function renderSettings() {
        if (!job || !job.settings) return;
        const rows = Object.entries(job.settings).map(([k, v]) =>
            h('tr', {}, h('th', { scope: 'row' }, k), h('td', { class: 'num' }, fmt.setting(v))));
        replace(settingsTable, h('caption', { class: 'visually-hidden' }, 'Settings of this job'),
            h('tbody', {}, h('tr', {}, h('th', { scope: 'row' }, 'model'), h('td', { class: 'num' }, job.model)),
                h('tr', {}, h('th', { scope: 'row' }, 'dataset'), h('td', { class: 'num' }, job.dataset)), rows));
    }

    function latestEpoch() {
        const fromMetrics = metrics.length ? metrics[metrics.length - 1].epoch : 0;
        return Math.max(fromMetrics, job ? job.epoch ?? 0 : 0);
    }

    function renderRecon() {
        const latest = latestEpoch();
        if (latest < 1) {
            slider.disabled = true;
            img.hidden = true;
            imgNote.hidden = false;
            epochWeights.hidden = true;
            setText(sliderOut, '');
            return;
        }
        // A job with keep "final" (a sweep's trial) has only its last
        // epoch's weights once it has ended: no slider then.
        const onlyLast = job && job.keep === 'final' && fmt.FINISHED.has(job.state);
        if (onlyLast) following = true;
        slider.disabled = latest < 2 || onlyLast;
        slider.max = String(latest);
        if (following || Number(slider.value) > latest) slider.value = String(latest);
        const k = Number(slider.value);
        setText(sliderOut, `${k} of ${latest}${k === latest ? ' (latest)' : ''}`);
        epochWeights.href = urls.weights(job.id, k);
        epochWeights.hidden = false;
        setText(epochWeights, `weights after epoch ${k}`);
        if (k !== shownEpoch) {
            clearTimeout(imgTimer);
            // Debounced so dragging the slider does not fire a request per step.
            imgTimer = setTimeout(() => loadImage(k), shownEpoch ? 120 : 0);
        }
    }

    function loadImage(k) {
        shownEpoch = k;
        imgNote.hidden = true;
        img.hidden = false;
        img.alt = `Test images and their reconstructions after epoch ${k}`;
        img.dataset.epoch = String(k);
        img.src = urls.reconstructions(id, { n: GRID_N, epoch: k });
        latentImg.hidden = false;
        latentImg.alt = `Scatter plot of the test images in the latent space after epoch ${k}, coloured by label`;
        latentImg.dataset.epoch = String(k);
        latentImg.src = urls.latent(id, { epoch: k });
        if (vae && vae.manifoldImg) {
            vae.manifoldImg.hidden = false;
            vae.manifoldImg.alt = `Decoder outputs on a 15 by 15 grid of latent points after epoch ${k}`;
            vae.manifoldImg.src = urls.manifold(id, { epoch: k });
        }
        if (vae) vae.sampleBtn.disabled = false;
    }
    latentImg.addEventListener('error', () => {
        if (!alive) return;
        latentNote.hidden = false;
        setText(latentNote, `Could not load the latent scatter of epoch ${latentImg.dataset.epoch}.`);
    });
    latentImg.addEventListener('load', () => { latentNote.hidden = true; });
    img.addEventListener('error', () => {
        if (!alive) return;
        imgNote.hidden = false;
        setText(imgNote, `Could not load the reconstructions of epoch ${img.dataset.epoch}.`);
    });
    img.addEventListener('load', () => { imgNote.hidden = true; });

    slider.addEventListener('input', () => {
        following = Number(slider.value) >= latestEpoch();
        renderRecon();
    });

    function renderAll() {
        renderHead();
        vaeExtras();
        renderChart();
        renderSettings();
        renderRecon();
    }

    // ---- data -------------------------------------------------------------
    function setJob(j) {
        if (!j || fmt.isStale(job, j)) return;
        const { metrics: m, ...rest } = j;
        if (typeof rest.duration_seconds === 'number') rest.received = performance.now();
        job = { ...(job || {}), ...rest };
        if (Array.isArray(m)) metrics = [...m].sort((a, b) => a.epoch - b.epoch);
        store.upsert(job);
    }

    function addEpoch(m) {
        if (!m || typeof m.epoch !== 'number') return;
        metrics = metrics.filter(x => x.epoch !== m.epoch);
        metrics.push(m);
        metrics.sort((a, b) => a.epoch - b.epoch);
        if (job) {
            job.epoch = Math.max(job.epoch ?? 0, m.epoch);
            job.loss = m.loss;
            job.val_loss = m.val_loss;
        }
    }

    function notFound() {
        replace(main, h('section', { class: 'panel' }, h('h1', {}, `No job ${id}`),
            h('p', {}, 'It may have been deleted. ', h('a', { href: '#/jobs' }, 'Back to the jobs.'))));
        stop();
    }

    async function fetchOnce() {
        try {
            const j = await api.job(id);
            if (!alive || (haveSnapshot && es && es.readyState === EventSource.OPEN)) return;
            setJob(j);
            renderAll();
            if (fmt.FINISHED.has(j.state)) stopPolling();
        } catch (e) {
            if (!alive) return;
            if (e instanceof ApiError && e.status === 404) notFound();
            else setText(actionStatus, `Could not read the job: ${e.message}`);
        }
    }

    function parse(e) { try { return JSON.parse(e.data); } catch { return null; } }

    function open() {
        clearTimeout(retryTimer);
        const s = new EventSource(urls.jobEvents(id));
        es = s;
        s.addEventListener('snapshot', e => { haveSnapshot = true; setJob(parse(e)); renderAll(); });
        s.addEventListener('progress', e => { const p = parse(e); if (p && job) { setJob(p); renderHead(); } });
        s.addEventListener('epoch', e => { addEpoch(parse(e)); renderHead(); renderChart(); renderRecon(); });
        s.addEventListener('state', e => { setJob(parse(e)); renderAll(); });
        s.addEventListener('end', () => { s.close(); if (es === s) es = null; stopPolling(); store.setStatus('done'); });
        s.addEventListener('deleted', () => {
            s.close();
            store.remove(id);
            replace(main, h('section', { class: 'panel' }, h('h1', {}, `Job ${id} was deleted`),
                h('p', {}, h('a', { href: '#/jobs' }, 'Back to the jobs.'))));
            stop();
        });
        s.addEventListener('open', () => { stopPolling(); store.setStatus('live'); });
        s.addEventListener('error', () => {
            if (!alive) return;
            if (job && fmt.FINISHED.has(job.state)) { s.close(); store.setStatus('done'); return; }
            // Down: re-read slowly until the stream is back.
            store.setStatus(s.readyState === EventSource.CLOSED ? 'polling' : 'reconnecting');
            startPolling();
            if (s.readyState === EventSource.CLOSED) {
                if (es === s) es = null;
                retryTimer = setTimeout(() => { if (alive) open(); }, RETRY_MS);
            }
        });
    }

    function startPolling() {
        if (pollTimer) return;
        fetchOnce();
        pollTimer = setInterval(fetchOnce, POLL_MS);
    }
    function stopPolling() { clearInterval(pollTimer); pollTimer = null; }

    function stop() {
        if (alive) store.resume();
        alive = false;
        if (es) es.close();
        es = null;
        stopPolling();
        clearTimeout(retryTimer);
        clearTimeout(imgTimer);
        clearInterval(ticker);
    }

    // ---- actions ----------------------------------------------------------
    async function onCancel() {
        cancelBtn.disabled = true;
        setText(actionStatus, 'Cancelling\u2026');
        try {
            const j = await api.cancel(id);
            setJob(j);
            renderHead();
            setText(actionStatus, job.state === 'cancelled' ? 'Cancelled.'
                : 'Cancel requested: the job stops after its current batch.');
        } catch (e) {
            setText(actionStatus, `Not cancelled: ${e.message}`);
            renderHead();
        }
    }

    async function onDelete() {
        const purge = purgeBox.checked;
        if (!confirm(`Delete job ${id}${purge ? ' and its run directory (event files, checkpoints, weights)' : ''}? This cannot be undone.`)) return;
        deleteBtn.disabled = true;
        try {
            await api.remove(id, purge);
            store.remove(id);
            location.hash = '#/jobs';
        } catch (e) {
            setText(actionStatus, `Not deleted: ${e.message}`);
            renderHead();
        }
    }

    // A running job's duration keeps counting between events.
    const ticker = setInterval(() => {
        const el = document.getElementById('job-duration');
        if (el && job && job.state === 'running') setText(el, fmt.duration(fmt.jobDuration(job)));
    }, 1000);

    // ---- start ------------------------------------------------------------
    store.suspend();
    open();
    fetchOnce();
    api.summary(id).then(s => {
        if (!alive) return;
        setText(summaryPre, s.text);
        setText(paramsNote, s.params !== null ? `${fmt.int(s.params)} trainable parameters.` : '');
    }).catch(e => { if (alive) setText(summaryPre, `Could not load the summary: ${e.message}`); });
    ctx.health().then(() => { if (alive && job) renderLinks(); }).catch(() => {});

    return stop;
}
