/*
 * sweeps_page.js - #/sweeps: every sweep, newest first, and the new-sweep form.
 *
 * Owns: the sweeps table (state, model, method, early stopping, trials by
 * state, best val_loss, epochs trained against a plain search) and its
 * state filter, re-read every POLL_MS while the page is open and a sweep
 * is running.  Does not own: a sweep's page (sweep_page.js) or the form
 * (sweep_form.js).
 */
import { api } from './api.js';
import { h, replace, setText } from './dom.js';
import * as fmt from './format.js';
import * as sweepForm from './sweep_form.js';
import { sweepFinished, plannedTrials } from './sweep_page.js';

const POLL_MS = 2000;

export function mount(main, route, ctx) {
    document.title = 'Sweeps - aelab';
    let alive = true, timer = null, sweeps = [], error = null;
    const stateSel = h('select', { id: 'sweep-filter-state' },
        [['', 'all states'], ['running', 'running'], ['succeeded', 'succeeded'], ['cancelled', 'cancelled']]
            .map(([v, l]) => h('option', { value: v }, l)));
    stateSel.value = route.query.get('state') || '';
    const count = h('p', { class: 'count', 'aria-live': 'polite' });
    const tbody = h('tbody', {});
    const empty = h('p', { class: 'empty', hidden: true });
    const table = h('table', { class: 'jobs', id: 'sweeps-table' },
        h('caption', { class: 'visually-hidden' }, 'Sweeps, newest first'),
        h('thead', {}, h('tr', {}, ['id', 'name', 'model', 'state', 'method', 'early stopping', 'trials', 'best val_loss', 'epochs trained', 'created']
            .map(x => h('th', { scope: 'col', class: ['id', 'best val_loss', 'epochs trained'].includes(x) ? 'num' : null }, x)))),
        tbody);
    main.appendChild(h('section', { class: 'panel', 'aria-labelledby': 'sweeps-title' },
        h('div', { class: 'panel-head' }, h('h1', { id: 'sweeps-title' }, 'Sweeps'),
            h('div', { class: 'filters' }, h('span', { class: 'filter' }, h('label', { for: 'sweep-filter-state' }, 'State'), stateSel))),
        h('p', { class: 'note' }, 'A sweep trains one job per trial over sampled settings and stops poor trials early.'),
        count,
        h('div', { class: 'table-scroll', tabindex: 0, 'aria-label': 'Sweeps table (scrolls sideways)' }, table),
        empty));
    const formHost = h('div', {});
    main.appendChild(formHost);
    const unmountForm = sweepForm.mount(formHost, ctx, { onCreated: () => refresh() });

    function trialsText(s) {
        const ts = Array.isArray(s.trials) ? s.trials : [];
        const c = {};
        for (const t of ts) c[t.state] = (c[t.state] || 0) + 1;
        const parts = Object.entries(c).map(([k, n]) => `${n} ${k}`);
        return `${ts.length}/${plannedTrials(s)}${parts.length ? ` (${parts.join(', ')})` : ''}`;
    }

    function render() {
        const shown = sweeps.filter(s => !stateSel.value || s.state === stateSel.value);
        replace(tbody, shown.map(s => h('tr', { dataset: { sweepId: s.id, state: s.state } },
            h('td', { class: 'num' }, h('a', { href: `#/sweeps/${s.id}` }, String(s.id))),
            h('td', { class: 'c-name' }, s.name || fmt.NONE),
            h('td', {}, (s.job && s.job.model) || fmt.NONE),
            h('td', {}, h('span', { class: `state state-${s.state}` }, s.state)),
            h('td', {}, s.method),
            h('td', {}, (s.early_stopping && s.early_stopping.type) || 'none'),
            h('td', { class: 'c-trials' }, trialsText(s)),
            h('td', { class: 'num' }, fmt.loss(s.best ? s.best.val_loss : null)),
            h('td', { class: 'num' }, `${fmt.int(s.epochs_trained)} / ${fmt.int(s.epochs_without_early_stopping)}`),
            h('td', {}, fmt.time(s.created_at)))));
        table.hidden = shown.length === 0;
        empty.hidden = shown.length !== 0;
        setText(empty, error ? `Could not list sweeps: ${error.message}` : sweeps.length ? 'No sweep matches this filter.' : 'No sweeps yet. Start one with the form below.');
        setText(count, `${shown.length} sweep${shown.length === 1 ? '' : 's'}`);
        table.dataset.rows = String(shown.length);
    }

    async function refresh() {
        try {
            const r = await api.sweeps();
            if (!alive) return;
            sweeps = Array.isArray(r) ? r : (r.sweeps || []);
            sweeps.sort((a, b) => b.id - a.id);
            error = null;
        } catch (e) {
            if (!alive) return;
            error = e;
        }
        render();
        clearTimeout(timer);
        // Poll while something runs (or the list could not be read).
        if (error || sweeps.some(s => !sweepFinished(s))) timer = setTimeout(refresh, POLL_MS);
    }

    stateSel.addEventListener('change', () => {
        history.replaceState(null, '', `#/sweeps${stateSel.value ? `?state=${stateSel.value}` : ''}`);
        render();
    });
    refresh();
    return () => { alive = false; clearTimeout(timer); unmountForm(); };
}
