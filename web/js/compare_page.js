/*
 * compare_page.js - #/compare?ids=1,2,3: several jobs in one view.
 *
 * Owns: choosing jobs (checkboxes, or "latest of each model": the
 * tutorial's simple / sparse / deep / conv / denoise comparison in one
 * click), their val_loss curves on one chart, their final figures side by
 * side (one column per job), and their latest reconstruction grids.  Does
 * not own: the jobs' data beyond reading it; it follows the shared store
 * and re-reads a compared job when the store says it finished an epoch.
 *
 * Design: the chosen ids live in the hash, so a comparison is a link.
 * Jobs are read with one GET each (which carries the per-epoch metrics);
 * re-reads are throttled per job so a running job costs at most one
 * request every REREAD_MS.
 */
import { api, ApiError, urls } from './api.js';
import { store } from './live.js';
import { h, replace, setText } from './dom.js';
import { lineChart, PALETTE } from './chart.js';
import * as fmt from './format.js';

const MAX_JOBS = PALETTE.length;
const REREAD_MS = 2000;

export function parseIds(s) {
    const out = [];
    for (const part of String(s || '').split(',')) {
        const t = part.trim();
        if (!/^[1-9][0-9]{0,15}$/.test(t)) continue;
        const n = Number(t);
        if (!out.includes(n)) out.push(n);
    }
    return out.slice(0, MAX_JOBS);
}

export function mount(main, route, ctx) {
    document.title = 'Compare - aelab';
    const ids = parseIds(route.query.get('ids'));
    let alive = true;
    const data = new Map();        // id -> {job, params, error}
    const lastRead = new Map();    // id -> time of last GET
    const timers = new Map();

    // ---- chooser ----------------------------------------------------------
    const choices = h('div', { class: 'choices', role: 'group', 'aria-labelledby': 'choose-title' });
    const chooseNote = h('p', { class: 'note', role: 'status' });
    const chooser = h('form', { class: 'chooser', onsubmit: e => {
        e.preventDefault();
        const picked = [...choices.querySelectorAll('input:checked')].map(x => Number(x.value));
        if (picked.length > MAX_JOBS) { setText(chooseNote, `Pick at most ${MAX_JOBS} jobs.`); return; }
        location.hash = `#/compare?ids=${picked.join(',')}`;
    } },
        h('h2', { id: 'choose-title' }, 'Jobs to compare'),
        choices,
        h('div', { class: 'form-actions' },
            h('button', { type: 'submit', class: 'primary' }, 'Compare'),
            h('button', { type: 'button', onclick: latestPerModel }, 'Latest succeeded job of each model')),
        chooseNote);

    function renderChoices() {
        const jobs = store.list().filter(j => j.state !== 'queued');
        const chosen = new Set(ids);
        replace(choices, jobs.length ? jobs.map(j => h('label', { class: 'choice' },
            h('input', { type: 'checkbox', value: j.id, checked: chosen.has(j.id) }),
            ` #${j.id} ${j.model}`, j.name ? ` \u201c${j.name}\u201d` : '', h('span', { class: `state state-${j.state}` }, j.state)))
            : h('p', { class: 'note' }, 'No jobs have started yet.'));
    }

    function latestPerModel() {
        const seen = new Map();
        for (const j of store.list())
            if (j.state === 'succeeded' && !seen.has(j.model)) seen.set(j.model, j.id);
        if (!seen.size) { setText(chooseNote, 'No job has succeeded yet.'); return; }
        location.hash = `#/compare?ids=${[...seen.values()].slice(0, MAX_JOBS).sort((a, b) => a - b).join(',')}`;
    }

    main.appendChild(h('section', { class: 'panel' },
        h('h1', {}, 'Compare jobs'),
        h('p', { class: 'note' }, 'val_loss of the chosen jobs per epoch, their final figures side by side and what each reconstructs. ',
          'Pick jobs below or tick them in the ', h('a', { href: '#/jobs' }, 'jobs table'), '.'),
        chooser));

    const onStore = (e) => {
        if (e.detail.structural) renderChoices();
        for (const id of e.detail.ids) if (ids.includes(id)) maybeReread(id);
    };
    store.addEventListener('change', onStore);
    renderChoices();

    if (!ids.length) {
        setText(chooseNote, 'Choose two or more jobs.');
        return () => { alive = false; store.removeEventListener('change', onStore); };
    }

    // ---- chart, figures, grids -------------------------------------------
    const chartPanel = h('section', { class: 'panel', 'aria-labelledby': 'cmp-chart-title' },
        h('h2', { id: 'cmp-chart-title' }, 'val_loss per epoch'));
    const label = id => {
        const d = data.get(id);
        const j = d && d.job;
        return j ? `#${id} ${j.model}${j.name ? ' ' + j.name : ''}` : `#${id}`;
    };
    main.appendChild(chartPanel);
    const figTable = h('table', { class: 'figures', id: 'compare-figures' });
    main.appendChild(h('section', { class: 'panel', 'aria-labelledby': 'cmp-fig-title' },
        h('h2', { id: 'cmp-fig-title' }, 'Final figures'),
        h('div', { class: 'table-scroll', tabindex: 0, 'aria-label': 'Final figures (scrolls sideways)' }, figTable)));
    const grids = h('div', { class: 'grids', id: 'compare-grids' });
    main.appendChild(h('section', { class: 'panel', 'aria-labelledby': 'cmp-grid-title' },
        h('h2', { id: 'cmp-grid-title' }, 'Reconstructions after the latest epoch'),
        h('p', { class: 'note' }, 'Each grid: the first 10 test images above, the reconstructions below.'),
        grids));

    let chart = null;
    function renderChart() {
        if (!chart) {
            chart = lineChart(chartPanel, { title: 'val_loss per epoch of each job', series: ids.map(id => ({ label: label(id) })), height: 340, yLabel: 'val_loss' });
            chart.element.querySelector('.chart-plot').id = 'compare-chart';
        }
        let maxEpoch = 0;
        for (const id of ids) {
            const m = data.get(id)?.job?.metrics || [];
            for (const x of m) maxEpoch = Math.max(maxEpoch, x.epoch);
        }
        const xs = Array.from({ length: maxEpoch }, (_, i) => i + 1);
        const ys = ids.map(id => {
            const byEpoch = new Map((data.get(id)?.job?.metrics || []).map(m => [m.epoch, m.val_loss]));
            return xs.map(x => byEpoch.has(x) ? byEpoch.get(x) : null);
        });
        chart.setData(xs, ys);
    }

    function figures(d) {
        const j = d.job;
        const m = j.metrics || [];
        const last = m.length ? m[m.length - 1] : null;
        let best = null;
        for (const x of m) if (typeof x.val_loss === 'number' && (!best || x.val_loss < best.val_loss)) best = x;
        const train = m.reduce((s, x) => s + (typeof x.train_seconds === 'number' ? x.train_seconds : 0), 0);
        return {
            model: j.model,
            'data set': j.dataset,
            state: j.state,
            parameters: fmt.int(d.params),
            epochs: `${j.epoch ?? 0} of ${j.epochs}`,
            'final loss': fmt.loss(last && last.loss),
            'final val_loss': fmt.loss(last && last.val_loss),
            'best val_loss': best ? `${fmt.loss(best.val_loss)} (epoch ${best.epoch})` : fmt.NONE,
            'training time': m.length ? fmt.duration(train) : fmt.NONE,
            'time per epoch': m.length ? fmt.duration(train / m.length) : fmt.NONE,
        };
    }

    function renderFigures() {
        const cols = ids.map(id => data.get(id)).filter(d => d && d.job);
        const missing = ids.filter(id => data.get(id)?.error);
        if (!cols.length) {
            replace(figTable, h('caption', {}, missing.length ? `Could not read job ${missing.join(', ')}.` : 'Loading\u2026'));
            return;
        }
        const rows = Object.keys(figures(cols[0]));
        const per = cols.map(figures);
        replace(figTable,
            missing.length ? h('caption', {}, `Not shown: ${missing.map(id => `job ${id} (${data.get(id).error})`).join('; ')}.`) : null,
            h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'figure'),
                cols.map((d, i) => h('th', { scope: 'col' },
                    h('span', { class: 'swatch', style: `background:${PALETTE[ids.indexOf(d.job.id) % PALETTE.length]}`, 'aria-hidden': 'true' }),
                    h('a', { href: `#/jobs/${d.job.id}` }, `job ${d.job.id}`))))),
            h('tbody', {}, rows.map(r => h('tr', {}, h('th', { scope: 'row' }, r),
                per.map(f => h('td', { class: r === 'model' || r === 'data set' || r === 'state' ? '' : 'num' }, f[r]))))));
        figTable.dataset.jobs = String(cols.length);
    }

    const gridEls = new Map();
    function renderGrids() {
        for (const id of ids) {
            const d = data.get(id);
            if (!d || !d.job) continue;
            let g = gridEls.get(id);
            if (!g) {
                const img = h('img', { class: 'recon', alt: '', decoding: 'async' });
                const cap = h('figcaption', {});
                g = { fig: h('figure', { class: 'grid-fig', dataset: { jobId: id } }, cap, h('div', { class: 'recon-frame' }, img)), img, cap, epoch: 0 };
                gridEls.set(id, g);
                grids.appendChild(g.fig);
            }
            const e = d.job.epoch ?? 0;
            const m = d.job.metrics || [];
            const vl = m.length ? m[m.length - 1].val_loss : null;
            replace(g.cap, h('a', { href: `#/jobs/${id}` }, label(id)), ` \u2014 epoch ${e}, val_loss ${fmt.loss(vl)}`);
            if (e >= 1 && e !== g.epoch) {
                g.epoch = e;
                g.img.alt = `Job ${id}: test images and reconstructions after epoch ${e}`;
                g.img.src = urls.reconstructions(id, { n: 10, epoch: e });
            }
            g.img.hidden = e < 1;
        }
    }

    function renderAll() {
        if (!alive) return;
        renderChart();
        renderFigures();
        renderGrids();
    }

    async function read(id) {
        lastRead.set(id, Date.now());
        try {
            const job = await api.job(id);
            const d = data.get(id) || {};
            data.set(id, { ...d, job, error: null });
        } catch (e) {
            data.set(id, { error: e instanceof ApiError && e.status === 404 ? 'not found' : e.message });
        }
    }

    function maybeReread(id) {
        const j = store.get(id);
        const d = data.get(id);
        if (!j || !d || !d.job) return;
        if (j.epoch === d.job.epoch && j.state === d.job.state) return;
        if (timers.has(id)) return;
        const wait = Math.max(0, REREAD_MS - (Date.now() - (lastRead.get(id) || 0)));
        timers.set(id, setTimeout(async () => {
            timers.delete(id);
            if (!alive) return;
            await read(id);
            renderAll();
        }, wait));
    }

    Promise.all(ids.map(async id => {
        await read(id);
        try {
            const s = await api.summary(id);
            const d = data.get(id);
            if (d) d.params = s.params;
        } catch { /* parameters stay a dash */ }
    })).then(renderAll);

    return () => {
        alive = false;
        store.removeEventListener('change', onStore);
        for (const t of timers.values()) clearTimeout(t);
        if (chart) chart.destroy();
    };
}
