/*
 * sweep_trials.js - the trials table of a sweep page.
 *
 * Owns: one row per trial (its job, state, epochs, highest rung, sampled
 * parameters, latest and best val_loss, where it stopped), sorting by any
 * column (click a header; again to reverse), and showing only the trials
 * that pass the page's filter (state and brushed band).  Does not own:
 * the data or the filter's rules.
 *
 * Design: the header cells hold real buttons with aria-sort on the th, so
 * sorting works from the keyboard and reads right in a screen reader.
 * Missing values sort last in either direction.
 */
import { h, replace, setText } from './dom.js';
import * as fmt from './format.js';

const STATE_ORDER = { running: 0, queued: 1, succeeded: 2, stopped: 3, failed: 4, cancelled: 5 };

export function trialsTable(parent) {
    const table = h('table', { class: 'jobs trials', id: 'trials-table' });
    const count = h('p', { class: 'count', id: 'trials-count', 'aria-live': 'polite' });
    parent.append(count, h('div', { class: 'table-scroll', tabindex: 0, 'aria-label': 'Trials table (scrolls sideways)' }, table));

    let sort = { key: 'best_val_loss', dir: 1 };
    let params = [];
    let last = { trials: [], keep: () => true, total: 0, best: null };

    function columns() {
        return [
            { key: 'trial', label: 'trial', num: true, get: t => t.trial, show: t => String(t.trial) },
            { key: 'job', label: 'job', num: true, get: t => t.job,
              show: t => t.job != null ? h('a', { href: `#/jobs/${t.job}` }, String(t.job)) : fmt.NONE },
            { key: 'state', label: 'state', get: t => STATE_ORDER[t.state] ?? 9,
              show: t => h('span', { class: `state state-${t.state}` }, t.state) },
            { key: 'epochs', label: 'epochs', num: true, get: t => t.epochs, show: t => fmt.int(t.epochs) },
            { key: 'rung', label: 'rung', num: true, get: t => t.rung, show: t => t.rung == null ? fmt.NONE : String(t.rung) },
            ...params.map(p => ({ key: `p:${p}`, label: p, num: true, get: t => t.params ? t.params[p] : null,
                                  show: t => fmt.setting(t.params ? t.params[p] : null) })),
            { key: 'val_loss', label: 'val_loss', num: true, get: t => t.val_loss, show: t => fmt.loss(t.val_loss) },
            { key: 'best_val_loss', label: 'best val_loss', num: true, get: t => t.best_val_loss, show: t => fmt.loss(t.best_val_loss) },
            { key: 'stopped_at', label: 'stopped at', num: true, get: t => t.stopped_at,
              show: t => t.stopped_at == null ? fmt.NONE : `epoch ${t.stopped_at}` },
        ];
    }

    function cmp(col) {
        return (a, b) => {
            const x = col.get(a), y = col.get(b);
            const xn = x == null || (typeof x === 'number' && !Number.isFinite(x));
            const yn = y == null || (typeof y === 'number' && !Number.isFinite(y));
            if (xn || yn) return xn === yn ? a.trial - b.trial : xn ? 1 : -1;
            if (x < y) return -sort.dir;
            if (x > y) return sort.dir;
            return a.trial - b.trial;
        };
    }

    function render() {
        const cols = columns();
        if (!cols.some(c => c.key === sort.key)) sort = { key: 'trial', dir: 1 };
        const col = cols.find(c => c.key === sort.key);
        const head = h('tr', {}, cols.map(c => {
            const on = c.key === sort.key;
            return h('th', { scope: 'col', class: c.num ? 'num' : null,
                             'aria-sort': on ? (sort.dir > 0 ? 'ascending' : 'descending') : null },
                h('button', { type: 'button', class: 'sort', dataset: { sort: c.key }, onclick: () => {
                    sort = { key: c.key, dir: sort.key === c.key ? -sort.dir : 1 };
                    render();
                } }, c.label, h('span', { class: 'sort-mark', 'aria-hidden': 'true' }, on ? (sort.dir > 0 ? ' \u25b2' : ' \u25bc') : '')));
        }));
        const shown = last.trials.filter(last.keep).sort(cmp(col));
        const best = last.best ? last.best.trial : null;
        const rows = shown.map(t => h('tr', { dataset: { trial: t.trial, state: t.state, job: t.job ?? '' },
                                              class: t.trial === best ? 'best' : null },
            cols.map(c => h(c.key === 'trial' ? 'th' : 'td', { class: c.num ? 'num' : null, scope: c.key === 'trial' ? 'row' : null },
                c.show(t), c.key === 'trial' && t.trial === best ? h('span', { class: 'best-mark' }, ' best') : null))));
        replace(table, h('caption', { class: 'visually-hidden' }, `Trials, sorted by ${col.label}`),
            h('thead', {}, head), h('tbody', {}, rows));
        table.dataset.rows = String(shown.length);
        table.dataset.sort = `${sort.key}:${sort.dir > 0 ? 'asc' : 'desc'}`;
        setText(count, shown.length === last.trials.length
            ? `${shown.length} trial${shown.length === 1 ? '' : 's'} of ${last.total}`
            : `${shown.length} of ${last.trials.length} trials shown (filtered)`);
    }

    return {
        /** trials: the sweep's; keep(t): whether the filters let t through. */
        setData({ trials, paramNames, keep, total, best }) {
            params = paramNames;
            last = { trials, keep: keep || (() => true), total, best };
            render();
        },
    };
}
