/*
 * sweep_page.js - #/sweeps/{id}: one sweep, live.
 *
 * Owns: the sweep's head (state, method, early stopping, the epochs it
 * trained against what a plain search would have cost, cancel, delete),
 * the best trial and its reconstructions, every trial's val_loss curve
 * coloured by a parameter the user picks, the parallel coordinates whose
 * brushes filter the trials table, and the table's state filter.  Does
 * not own: the jobs behind the trials (their own pages) or the pieces'
 * drawing (sweep_chart.js, parcoords.js, sweep_trials.js).
 *
 * Design: the sweep's event stream (api/sweeps/{id}/events) only says
 * *that* something changed; the page then re-reads the sweep, and its
 * metrics when a trial has finished another epoch, at most once per
 * REFRESH_MS.  So the page never depends on the events' exact payloads,
 * and a missed event costs nothing.  While the stream is down and the
 * sweep still runs, the page re-reads every POLL_MS.
 */
import { api, ApiError, urls } from './api.js';
import { store } from './live.js';
import { h, replace, setText } from './dom.js';
import { trialsChart } from './sweep_chart.js';
import { parcoords } from './parcoords.js';
import { trialsTable } from './sweep_trials.js';
import { scaleFor, colourOf, STATE_COLOURS } from './sweep_scale.js';
import * as fmt from './format.js';

const REFRESH_MS = 1000;
const POLL_MS = 2000;
const GRID_N = 10;
const STATE_FILTERS = [['', 'all states'], ['queued,running', 'active'], ['succeeded', 'succeeded'],
                       ['stopped', 'stopped'], ['failed,cancelled', 'failed or cancelled']];

export function sweepFinished(s) { return !!s && s.state !== 'running' && s.state !== 'queued'; }

/** How many trials the sweep will run: n_trials when the daemon says (a
 *  grid's size), else max_trials. */
export function plannedTrials(s) { return typeof s.n_trials === 'number' ? s.n_trials : s.max_trials; }

export function mount(main, route, ctx) {
    const id = route.id;
    document.title = `Sweep ${id} - aelab`;
    let alive = true;
    let sweep = null;
    let rows = [];                  // SweepMetrics rows
    let metricsEpochs = -1;         // sum of trial epochs when rows were read
    let brushed = null;             // Set of trial numbers, or null
    let es = null, pollTimer = null, refreshTimer = null, lastRefresh = 0, inFlight = false, again = false;
    let colourBy = route.query.get('colour') || '';
    let reconWant = '', reconUrl = null;    // what the best grid shows, its blob URL

    // ---- skeleton ---------------------------------------------------------
    const title = h('h1', { id: 'sweep-title' }, `Sweep ${id}`);
    const badge = h('span', { class: 'state', id: 'sweep-state' });
    const facts = h('dl', { class: 'facts' });
    const progress = h('progress', { max: 1, value: 0, id: 'sweep-progress', 'aria-label': 'Trials finished' });
    const actionStatus = h('p', { class: 'action-status', role: 'status', 'aria-live': 'polite' });
    const cancelBtn = h('button', { type: 'button', id: 'cancel-sweep', class: 'danger', disabled: true, onclick: onCancel }, 'Cancel sweep');
    const purgeBox = h('input', { type: 'checkbox', id: 'sweep-purge' });
    const deleteBtn = h('button', { type: 'button', id: 'delete-sweep', class: 'danger', disabled: true, onclick: onDelete }, 'Delete sweep');
    const links = h('ul', { class: 'links' });
    main.appendChild(h('section', { class: 'panel job-head', 'aria-labelledby': 'sweep-title' },
        h('p', { class: 'crumbs' }, h('a', { href: '#/sweeps' }, 'Sweeps'), ' / ', `sweep ${id}`),
        h('div', { class: 'job-title-row' }, title, badge),
        progress, facts,
        h('div', { class: 'actions' }, cancelBtn,
            h('span', { class: 'delete-group' }, deleteBtn,
                h('label', { for: 'sweep-purge', class: 'inline' }, purgeBox, ' also delete its run directories')),
            links),
        actionStatus));

    const bestBody = h('div', { id: 'best-trial' }, h('p', { class: 'note' }, 'No trial has a val_loss yet.'));
    const reconImg = h('img', { id: 'best-recon', class: 'recon', alt: '', decoding: 'async', hidden: true });
    const reconNote = h('p', { class: 'note', id: 'best-recon-note', hidden: true });
    const bestPanel = h('section', { class: 'panel', 'aria-labelledby': 'best-title' },
        h('h2', { id: 'best-title' }, 'Best trial'), bestBody,
        h('div', { class: 'recon-frame' }, reconImg), reconNote);

    const colourSel = h('select', { id: 'colour-by' });
    const legend = h('div', { class: 'colour-legend', id: 'colour-legend' });
    const chartPanel = h('section', { class: 'panel', 'aria-labelledby': 'curves-title' },
        h('div', { class: 'panel-head' }, h('h2', { id: 'curves-title' }, 'val_loss of every trial'),
            h('span', { class: 'filter' }, h('label', { for: 'colour-by' }, 'Colour by'), colourSel)),
        legend);
    const chart = trialsChart(chartPanel, { title: 'val_loss per epoch, one line per trial; dashed lines: ASHA rungs; \u00d7: where a trial was stopped' });

    const pcPanel = h('section', { class: 'panel', 'aria-labelledby': 'pc-title' },
        h('h2', { id: 'pc-title' }, 'Parameters against the final val_loss'));
    const pc = parcoords(pcPanel, { label: 'Parallel coordinates of the swept parameters and val_loss', onBrush: sel => { brushed = sel; renderTable(); } });
    pc.element.querySelector('svg').id = 'parcoords';

    const stateSel = h('select', { id: 'trial-state' }, STATE_FILTERS.map(([v, l]) => h('option', { value: v }, l)));
    stateSel.value = STATE_FILTERS.some(([v]) => v === route.query.get('state')) ? route.query.get('state') : '';
    const tablePanel = h('section', { class: 'panel', 'aria-labelledby': 'trials-title' },
        h('div', { class: 'panel-head' }, h('h2', { id: 'trials-title' }, 'Trials'),
            h('div', { class: 'filters' }, h('span', { class: 'filter' }, h('label', { for: 'trial-state' }, 'State'), stateSel))));
    const table = trialsTable(tablePanel);

    main.append(h('div', { class: 'grid-2' }, chartPanel, bestPanel), pcPanel, tablePanel);

    // ---- rendering --------------------------------------------------------
    function fact(term, value) { return h('div', {}, h('dt', {}, term), h('dd', {}, value)); }

    function paramNames() { return sweep && sweep.parameters ? Object.keys(sweep.parameters) : []; }
    function trials() { return sweep && Array.isArray(sweep.trials) ? sweep.trials : []; }

    function earlyText(es) {
        if (!es || !es.type || es.type === 'none') return 'none';
        if (es.type === 'asha') return `ASHA (min ${es.min_epochs}, max ${es.max_epochs} epochs, reduction ${es.reduction_factor ?? 3})`;
        if (es.type === 'median') return `median (grace ${es.grace_epochs ?? 0} epochs, min ${es.min_trials ?? '?'} trials)`;
        return es.type;
    }

    function renderHead() {
        replace(title, `Sweep ${sweep.id}`, sweep.name ? h('span', { class: 'job-name' }, ` ${sweep.name}`) : null);
        document.title = `Sweep ${sweep.id}${sweep.name ? ' ' + sweep.name : ''} - aelab`;
        setText(badge, sweep.state === 'running' && sweep.cancel_requested ? 'cancelling' : sweep.state);
        badge.className = `state state-${sweep.state}`;
        const ts = trials();
        const ended = ts.filter(t => fmt.FINISHED.has(t.state)).length;
        progress.value = plannedTrials(sweep) ? ended / plannedTrials(sweep) : 0;
        const job = sweep.job || {};
        const saved = sweep.epochs_without_early_stopping > 0
            ? ` of ${fmt.int(sweep.epochs_without_early_stopping)} without early stopping (${Math.round(100 * sweep.epochs_trained / sweep.epochs_without_early_stopping)}%)` : '';
        const counts = {};
        for (const t of ts) counts[t.state] = (counts[t.state] || 0) + 1;
        replace(facts,
            fact('model', job.model ?? fmt.NONE),
            fact('data set', job.dataset ?? 'default'),
            fact('method', `${sweep.method}${sweep.method === 'random' ? `, seed ${sweep.seed}` : ''}`),
            fact('early stopping', earlyText(sweep.early_stopping)),
            fact('trials', `${ts.length} of ${plannedTrials(sweep)}, ${sweep.max_concurrent} at a time`),
            fact('trial states', Object.entries(counts).map(([s, n]) => `${n} ${s}`).join(', ') || fmt.NONE),
            fact('epochs trained', h('span', { id: 'sweep-epochs' }, `${fmt.int(sweep.epochs_trained)}${saved}`)),
            fact('created', fmt.time(sweep.created_at)),
            sweep.finished_at ? fact('finished', fmt.time(sweep.finished_at)) : null,
            sweep.run_dir ? fact('run directory', h('code', {}, sweep.run_dir)) : null);
        const done = sweepFinished(sweep);
        cancelBtn.disabled = done || !!sweep.cancel_requested;
        deleteBtn.disabled = !done;
        const tb = new URL(ctx.tensorboardUrl(), location.href);
        if (sweep.run_dir) tb.searchParams.set('runFilter', sweep.run_dir.replace(/\/+$/, '').split('/').pop().replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
        tb.hash = 'hparams';
        replace(links,
            h('li', {}, h('a', { href: urls.sweepMetrics(id, 'csv'), download: `sweep-${id}-metrics.csv` }, 'metrics CSV')),
            h('li', {}, h('a', { href: urls.sweepMetrics(id), download: `sweep-${id}-metrics.json` }, 'metrics JSON')),
            h('li', {}, h('a', { href: tb.href, target: '_blank', rel: 'noopener' }, 'TensorBoard HParams')));
    }

    function renderBest() {
        const b = sweep.best;
        if (!b || b.job == null) { reconImg.hidden = true; return; }
        const t = trials().find(x => x.trial === b.trial) || {};
        replace(bestBody, h('p', {},
            'Trial ', h('strong', {}, String(b.trial)), ', job ', h('a', { href: `#/jobs/${b.job}`, id: 'best-job' }, String(b.job)),
            `: val_loss ${fmt.loss(b.val_loss)}`, t.state ? ' (' : '', t.state ? h('span', { class: `state state-${t.state}` }, t.state) : null,
            t.state ? `, ${t.epochs} epoch${t.epochs === 1 ? '' : 's'})` : ''),
            h('p', { class: 'best-params' }, Object.entries(b.params || {}).map(([k, v]) =>
                h('span', { class: 'param' }, h('code', {}, k), ` ${fmt.setting(v)}`))));
        // The latest epoch's grid, not a fixed epoch's: a trial with keep
        // "final" loses its earlier weights when it ends.  Fetched (not set
        // as the img's src) so a new epoch of the same job is not served
        // from the browser's image cache.
        const want = `${b.job}:${t.epochs ?? ''}:${t.state ?? ''}`;
        if (want !== reconWant) {
            reconWant = want;
            loadRecon(b, t);
        }
    }

    async function loadRecon(b, t) {
        const src = urls.reconstructions(b.job, { n: GRID_N });
        const mine = reconWant;
        try {
            const res = await fetch(src, { cache: 'no-store' });
            if (!res.ok) throw new Error(`HTTP ${res.status}`);
            const blob = await res.blob();
            if (!alive || mine !== reconWant) return;
            const epoch = res.headers.get('X-Epoch');
            if (reconUrl) URL.revokeObjectURL(reconUrl);
            reconUrl = URL.createObjectURL(blob);
            reconImg.hidden = false;
            reconImg.alt = `The first ${GRID_N} test images and the reconstructions of trial ${b.trial} (job ${b.job})${epoch ? ` after epoch ${epoch}` : ''}`;
            reconImg.dataset.job = String(b.job);
            reconImg.dataset.src = src;
            if (epoch) reconImg.dataset.epoch = epoch;
            reconImg.src = reconUrl;
        } catch (e) {
            if (!alive || mine !== reconWant) return;
            reconWant = '';             // try again on the next refresh
            reconNote.hidden = false;
            setText(reconNote, `Could not load the best trial\u2019s reconstructions (${e.message}).`);
        }
    }
    reconImg.addEventListener('load', () => { reconNote.hidden = true; });

    function scales() {
        const ts = trials();
        const out = {};
        for (const p of paramNames()) out[p] = scaleFor(p, sweep.parameters[p], ts.map(t => t.params ? t.params[p] : null));
        out.val_loss = scaleFor('val_loss', null, ts.map(t => t.val_loss));
        return out;
    }

    function renderColourChoices() {
        const names = [...paramNames(), 'val_loss', 'state'];
        const have = [...colourSel.options].map(o => o.value).join(',');
        if (have !== names.join(',')) replace(colourSel, names.map(n => h('option', { value: n }, n)));
        if (!names.includes(colourBy)) colourBy = names[0];
        colourSel.value = colourBy;
    }

    function colourFn(sc) {
        if (colourBy === 'state') return t => STATE_COLOURS[t.state] || '#9ca3af';
        const s = sc[colourBy];
        return t => colourOf(s, colourBy === 'val_loss' ? t.val_loss : (t.params ? t.params[colourBy] : null));
    }

    function renderLegend(sc) {
        if (colourBy === 'state') {
            replace(legend, Object.entries(STATE_COLOURS).map(([s, c]) =>
                h('span', { class: 'legend-item' }, h('span', { class: 'swatch', style: `background:${c}` }), s)));
            return;
        }
        const s = sc[colourBy];
        if (!s) { replace(legend); return; }
        if (s.kind === 'values') {
            replace(legend, h('span', { class: 'legend-name' }, colourBy), s.ticks.map(([v, text]) =>
                h('span', { class: 'legend-item' }, h('span', { class: 'swatch', style: `background:${colourOf(s, v)}` }), text)));
        } else {
            replace(legend, h('span', { class: 'legend-name' }, `${colourBy}${s.kind === 'log' ? ' (log scale)' : ''}`),
                h('span', { class: 'legend-item' }, s.label(s.lo)),
                h('span', { class: 'ramp', 'aria-hidden': 'true' }),
                h('span', { class: 'legend-item' }, s.label(s.hi)));
        }
    }

    function renderCurves(sc, colour) {
        const ts = trials();
        const byTrial = new Map();
        let maxEpoch = 0;
        for (const r of rows) {
            if (typeof r.epoch !== 'number') continue;
            if (!byTrial.has(r.trial)) byTrial.set(r.trial, new Map());
            byTrial.get(r.trial).set(r.epoch, r.val_loss ?? null);
            maxEpoch = Math.max(maxEpoch, r.epoch);
        }
        const epochs = Array.from({ length: maxEpoch }, (_, i) => i + 1);
        const shown = ts.filter(t => byTrial.has(t.trial));
        chart.setData({
            epochs,
            rungs: Array.isArray(sweep.rungs) ? sweep.rungs : [],
            trials: shown.map(t => {
                const m = byTrial.get(t.trial);
                const ps = Object.entries(t.params || {}).map(([k, v]) => `${k} ${fmt.setting(v)}`).join(', ');
                return {
                    key: t.trial,
                    label: `trial ${t.trial} (job ${t.job}, ${t.state}): ${ps}; val_loss ${fmt.loss(t.val_loss)}`,
                    colour: colour(t),
                    ys: epochs.map(e => m.has(e) ? m.get(e) : null),
                    stoppedAt: t.state === 'stopped' ? (t.stopped_at ?? t.epochs) : null,
                };
            }),
        });
    }

    function renderParcoords(sc, colour) {
        const axes = [...paramNames(), 'val_loss'].map(n => ({ name: n, scale: sc[n] }));
        brushed = pc.setData(axes, trials().map(t => ({
            key: t.trial,
            values: { ...(t.params || {}), val_loss: t.val_loss },
            colour: colour(t),
            title: `trial ${t.trial}: val_loss ${fmt.loss(t.val_loss)}`,
        })));
    }

    function renderTable() {
        const want = stateSel.value ? stateSel.value.split(',') : null;
        table.setData({
            trials: trials(),
            paramNames: paramNames(),
            total: plannedTrials(sweep),
            best: sweep.best,
            keep: t => (!want || want.includes(t.state)) && (!brushed || brushed.has(t.trial)),
        });
    }

    function renderAll() {
        if (!sweep || !alive) return;
        renderHead();
        renderBest();
        renderColourChoices();
        const sc = scales();
        const colour = colourFn(sc);
        renderLegend(sc);
        renderCurves(sc, colour);
        renderParcoords(sc, colour);
        renderTable();
    }

    colourSel.addEventListener('change', () => {
        colourBy = colourSel.value;
        history.replaceState(null, '', `#/sweeps/${id}?${new URLSearchParams({ colour: colourBy, ...(stateSel.value ? { state: stateSel.value } : {}) })}`);
        renderAll();
    });
    stateSel.addEventListener('change', () => {
        history.replaceState(null, '', `#/sweeps/${id}?${new URLSearchParams({ colour: colourBy, ...(stateSel.value ? { state: stateSel.value } : {}) })}`);
        renderTable();
    });

    // ---- data -------------------------------------------------------------
    async function refresh() {
        if (!alive) return;
        if (inFlight) { again = true; return; }
        inFlight = true;
        lastRefresh = performance.now();
        try {
            const s = await api.sweep(id);
            if (!alive) return;
            sweep = s;
            const epochs = trials().reduce((n, t) => n + (t.epochs || 0), 0);
            if (epochs !== metricsEpochs) {
                const m = await api.sweepMetrics(id);
                if (!alive) return;
                rows = Array.isArray(m) ? m : (m && Array.isArray(m.metrics) ? m.metrics : []);
                metricsEpochs = epochs;
            }
            renderAll();
            if (sweepFinished(sweep)) { stopPolling(); if (!es) store.setStatus('sweep-done'); }
        } catch (e) {
            if (!alive) return;
            if (e instanceof ApiError && e.status === 404) { notFound(); return; }
            setText(actionStatus, `Could not read the sweep: ${e.message}`);
        } finally {
            inFlight = false;
            if (again && alive) { again = false; schedule(); }
        }
    }

    /** Re-read soon, at most once per REFRESH_MS. */
    function schedule() {
        if (refreshTimer) return;
        const wait = Math.max(0, REFRESH_MS - (performance.now() - lastRefresh));
        refreshTimer = setTimeout(() => { refreshTimer = null; refresh(); }, wait);
    }

    function open() {
        const s = new EventSource(urls.sweepEvents(id));
        es = s;
        for (const type of ['snapshot', 'trial', 'epoch', 'state']) s.addEventListener(type, schedule);
        s.addEventListener('end', () => { s.close(); if (es === s) es = null; store.setStatus('sweep-done'); schedule(); });
        s.addEventListener('open', () => { stopPolling(); store.setStatus('live'); });
        s.addEventListener('error', () => {
            if (!alive) return;
            if (sweepFinished(sweep)) { s.close(); if (es === s) es = null; store.setStatus('sweep-done'); return; }
            if (s.readyState === EventSource.CLOSED) { if (es === s) es = null; }
            store.setStatus('sweep-polling');
            startPolling();
        });
    }

    function startPolling() {
        if (pollTimer) return;
        pollTimer = setInterval(schedule, POLL_MS);
    }
    function stopPolling() { clearInterval(pollTimer); pollTimer = null; }

    function notFound() {
        replace(main, h('section', { class: 'panel' }, h('h1', {}, `No sweep ${id}`),
            h('p', {}, 'It may have been deleted. ', h('a', { href: '#/sweeps' }, 'Back to the sweeps.'))));
        stop();
    }

    function stop() {
        if (alive) store.resume();
        alive = false;
        if (es) es.close();
        es = null;
        stopPolling();
        clearTimeout(refreshTimer);
        chart.destroy();
        pc.destroy();
        if (reconUrl) URL.revokeObjectURL(reconUrl);
    }

    // ---- actions ----------------------------------------------------------
    async function onCancel() {
        cancelBtn.disabled = true;
        setText(actionStatus, 'Cancelling\u2026');
        try {
            sweep = await api.cancelSweep(id);
            setText(actionStatus, 'Cancelled: its trials still queued or running are being cancelled.');
            renderAll();
            schedule();
        } catch (e) {
            setText(actionStatus, `Not cancelled: ${e.message}`);
            cancelBtn.disabled = sweepFinished(sweep);
        }
    }

    async function onDelete() {
        const purge = purgeBox.checked;
        if (!confirm(`Delete sweep ${id} and its trial jobs${purge ? ', and its run directories' : ''}? This cannot be undone.`)) return;
        deleteBtn.disabled = true;
        try {
            await api.removeSweep(id, purge);
            location.hash = '#/sweeps';
        } catch (e) {
            setText(actionStatus, `Not deleted: ${e.message}`);
            deleteBtn.disabled = !sweepFinished(sweep);
        }
    }

    // ---- start ------------------------------------------------------------
    store.suspend();
    open();
    refresh();
    return stop;
}
