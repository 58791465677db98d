/*
 * jobs_page.js - #/jobs: the live jobs table, its filters, the new-job form.
 *
 * Owns: the table (one row per job, updated in place as the store
 * changes), the state and model filters (kept in the hash query so a
 * filtered view can be linked), and picking jobs to compare.  Does not
 * own: the data (live.js) or the form (job_form.js).
 *
 * Design: rows are keyed by job id and only their text changes on a
 * progress event; the DOM is re-ordered only when the set of rows changes.
 * Updates are coalesced to one per animation frame, so a job reporting
 * several times a second costs a few text writes, never a rebuild.
 */
import { store } from './live.js';
import { h, replace, setText, coalesce } from './dom.js';
import * as fmt from './format.js';
import * as jobForm from './job_form.js';

const STATE_FILTERS = [
    ['', 'all states'],
    ['queued,running', 'active (queued or running)'],
    ...fmt.STATES.map(s => [s, s]),
];

export function mount(main, route, ctx) {
    document.title = 'Jobs - aelab';
    const filter = { state: route.query.get('state') || '', model: route.query.get('model') || '' };
    const selected = new Set();

    const stateSel = h('select', { id: 'filter-state' },
        STATE_FILTERS.map(([v, label]) => h('option', { value: v }, label)));
    const modelSel = h('select', { id: 'filter-model' }, h('option', { value: '' }, 'all models'));
    stateSel.value = STATE_FILTERS.some(([v]) => v === filter.state) ? filter.state : '';
    const count = h('p', { class: 'count', 'aria-live': 'polite' });
    const compareBtn = h('button', { type: 'button', class: 'compare-btn', disabled: true, onclick: () => {
        location.hash = `#/compare?ids=${[...selected].sort((a, b) => a - b).join(',')}`;
    } }, 'Compare selected');
    const olderBtn = h('button', { type: 'button', hidden: true, onclick: async () => {
        olderBtn.disabled = true;
        try { await store.loadOlder(); } catch (e) { setText(count, `Could not load older jobs: ${e.message}`); }
        olderBtn.disabled = false;
    } }, 'Load older jobs');
    const tbody = h('tbody', {});
    const empty = h('p', { class: 'empty', hidden: true });
    const table = h('table', { class: 'jobs', id: 'jobs-table' },
        h('caption', { class: 'visually-hidden' }, 'Jobs, newest first'),
        h('thead', {}, h('tr', {},
            h('th', { scope: 'col', class: 'c-sel' }, h('span', { class: 'visually-hidden' }, 'Compare')),
            h('th', { scope: 'col', class: 'c-id num' }, 'id'),
            h('th', { scope: 'col', class: 'c-name' }, 'name'),
            h('th', { scope: 'col', class: 'c-model' }, 'model'),
            h('th', { scope: 'col', class: 'c-dataset' }, 'data set'),
            h('th', { scope: 'col', class: 'c-state' }, 'state'),
            h('th', { scope: 'col', class: 'c-epoch' }, 'epoch'),
            h('th', { scope: 'col', class: 'c-loss num' }, 'loss'),
            h('th', { scope: 'col', class: 'c-val num' }, 'val_loss'),
            h('th', { scope: 'col', class: 'c-dur num' }, 'duration'),
            h('th', { scope: 'col', class: 'c-eta num' }, 'ETA'))),
        tbody);

    const formHost = h('div', {});
    const jobsSection = h('section', { class: 'panel', 'aria-labelledby': 'jobs-title' },
        h('div', { class: 'panel-head' },
            h('h1', { id: 'jobs-title' }, 'Jobs'),
            h('div', { class: 'filters' },
                h('span', { class: 'filter' }, h('label', { for: 'filter-state' }, 'State'), stateSel),
                h('span', { class: 'filter' }, h('label', { for: 'filter-model' }, 'Model'), modelSel),
                compareBtn)),
        count,
        h('div', { class: 'table-scroll', tabindex: 0, 'aria-label': 'Jobs table (scrolls sideways)' }, table),
        empty,
        olderBtn);
    main.append(jobsSection, formHost);
    const unmountForm = jobForm.mount(formHost, ctx, { onCreated: job => store.upsert(job) });

    ctx.models().then(m => {
        for (const x of m.models) modelSel.appendChild(h('option', { value: x.name }, x.name));
        modelSel.value = filter.model;
        if (modelSel.value !== filter.model) { filter.model = ''; modelSel.value = ''; }
    }).catch(() => {});

    const rows = new Map();   // id -> {tr, cells}

    function matches(j) {
        if (filter.state && !filter.state.split(',').includes(j.state)) return false;
        if (filter.model && j.model !== filter.model) return false;
        return true;
    }

    function makeRow(j) {
        const check = h('input', { type: 'checkbox', 'aria-label': `Select job ${j.id} for comparison`,
            checked: selected.has(j.id),
            onchange: () => {
                if (check.checked) selected.add(j.id); else selected.delete(j.id);
                updateCompare();
            } });
        const c = {
            name: h('td', { class: 'c-name' }),
            model: h('td', { class: 'c-model' }),
            dataset: h('td', { class: 'c-dataset' }),
            state: h('span', { class: 'state' }),
            bar: h('progress', { max: 1, value: 0, 'aria-label': `Job ${j.id} progress` }),
            epochText: h('span', { class: 'epoch-text' }),
            loss: h('td', { class: 'c-loss num' }),
            val: h('td', { class: 'c-val num' }),
            dur: h('td', { class: 'c-dur num' }),
            eta: h('td', { class: 'c-eta num' }),
        };
        const tr = h('tr', { dataset: { jobId: j.id } },
            h('td', { class: 'c-sel' }, check),
            h('td', { class: 'c-id num' }, h('a', { href: `#/jobs/${j.id}` }, String(j.id))),
            c.name, c.model, c.dataset,
            h('td', { class: 'c-state' }, c.state),
            h('td', { class: 'c-epoch' }, h('div', { class: 'epoch-cell' }, c.bar, c.epochText)),
            c.loss, c.val, c.dur, c.eta);
        return { tr, c };
    }

    function fill({ tr, c }, j) {
        setText(c.name, j.name || fmt.NONE);
        if (j.name) c.name.title = j.name;      // the cell may be cut short
        setText(c.model, j.model);
        setText(c.dataset, j.dataset);
        const label = j.state === 'running' && j.cancel_requested ? 'cancelling' : j.state;
        setText(c.state, label);
        c.state.className = `state state-${j.state}`;
        tr.dataset.state = j.state;
        const p = typeof j.progress === 'number' ? j.progress : 0;
        if (c.bar.value !== p) c.bar.value = p;
        setText(c.epochText, `${j.epoch ?? 0}/${j.epochs ?? '?'}`);
        setText(c.loss, fmt.loss(j.loss));
        setText(c.val, fmt.loss(j.val_loss));
        setText(c.dur, fmt.duration(fmt.jobDuration(j)));
        let eta = fmt.NONE;
        if (j.state === 'running') eta = fmt.duration(j.eta_seconds);
        else if (j.state === 'queued' && j.queue_position) eta = `queue #${j.queue_position}`;
        setText(c.eta, eta);
    }

    function render() {
        const visible = store.list().filter(matches);
        const want = new Set(visible.map(j => j.id));
        for (const [id, row] of rows)
            if (!want.has(id)) { row.tr.remove(); rows.delete(id); }
        let prev = null;
        for (const j of visible) {
            let row = rows.get(j.id);
            if (!row) { row = makeRow(j); rows.set(j.id, row); }
            fill(row, j);
            // Keep DOM order = id order, moving only rows out of place.
            const want = prev ? prev.nextSibling : tbody.firstChild;
            if (want !== row.tr) tbody.insertBefore(row.tr, want);
            prev = row.tr;
        }
        for (const id of [...selected]) if (!store.get(id)) selected.delete(id);
        updateCompare();
        table.hidden = visible.length === 0;
        empty.hidden = visible.length !== 0;
        if (!visible.length) {
            setText(empty, store.lastError ? `Could not list jobs: ${store.lastError.message}`
                : store.jobs.size ? 'No job matches these filters.'
                : 'No jobs yet. Submit one with the form below.');
        }
        const filtered = !!(filter.state || filter.model);
        const n = visible.length, all = store.jobs.size;
        setText(count, filtered ? `${n} of ${all} job${all === 1 ? '' : 's'} match the filters`
            : store.next ? `the newest ${n} jobs; older ones below`
            : `${n} job${n === 1 ? '' : 's'}`);
        olderBtn.hidden = !store.next || !!(filter.state || filter.model);
        table.dataset.rows = String(visible.length);
    }
    const schedule = coalesce(render);

    function updateCompare() {
        compareBtn.disabled = selected.size < 1;
        setText(compareBtn, selected.size ? `Compare selected (${selected.size})` : 'Compare selected');
    }

    function onFilter() {
        filter.state = stateSel.value;
        filter.model = modelSel.value;
        const q = new URLSearchParams();
        if (filter.state) q.set('state', filter.state);
        if (filter.model) q.set('model', filter.model);
        const qs = q.toString();
        history.replaceState(null, '', `#/jobs${qs ? '?' + qs : ''}`);
        if (filter.state || filter.model)
            store.refresh({ state: filter.state || undefined, model: filter.model || undefined }).catch(() => {});
        render();
    }
    stateSel.addEventListener('change', onFilter);
    modelSel.addEventListener('change', onFilter);

    const onChange = () => schedule();
    // Running jobs' durations count up between events.
    const ticker = setInterval(() => {
        for (const [id, row] of rows) {
            const j = store.get(id);
            if (j && j.state === 'running') setText(row.c.dur, fmt.duration(fmt.jobDuration(j)));
        }
    }, 1000);
    store.addEventListener('change', onChange);
    render();
    if (filter.state || filter.model) onFilter();

    return () => {
        store.removeEventListener('change', onChange);
        clearInterval(ticker);
        unmountForm();
    };
}
