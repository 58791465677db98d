/*
 * app.js - start-up and hash routing of the dashboard.
 *
 * Owns: the routes (#/jobs, #/jobs/7, #/compare?ids=1,2,3, #/sweeps,
 * #/sweeps/3), mounting and
 * unmounting pages, the header (active link, live/polling indicator,
 * TensorBoard link, API token bar), and the shared look-ups every page may
 * need (api/health and api/models, fetched once).  Does not own: what any
 * page shows.
 *
 * Design: routing by the URL hash keeps aelabd's static handler trivial
 * (one index.html) and makes every view linkable and reloadable.  Each
 * page's mount() returns its own clean-up, which closes its streams and
 * observers, so moving between pages leaks nothing.
 */
import { api, setToken, token } from './api.js';
import { store } from './live.js';
import { h, replace } from './dom.js';
import * as jobsPage from './jobs_page.js';
import * as jobPage from './job_page.js';
import * as comparePage from './compare_page.js';
import * as sweepsPage from './sweeps_page.js';
import * as sweepPage from './sweep_page.js';

const main = document.getElementById('main');

/** Shared look-ups, fetched once (again after a failure). */
function once(fetcher) {
    let p = null;
    return () => {
        if (!p) {
            p = fetcher();
            p.catch(() => { p = null; });
        }
        return p;
    };
}

const ctx = {
    health: once(() => api.health()),
    models: once(() => api.models()),
    healthValue: null,
    /** The TensorBoard base URL: the daemon's setting, else <host>:6006. */
    tensorboardUrl() {
        const u = ctx.healthValue && ctx.healthValue.tensorboard_url;
        return u || `${location.protocol}//${location.hostname}:6006/`;
    },
};

function loadShared() {
    ctx.models().catch(() => {});
    return ctx.health().then(x => {
        ctx.healthValue = x;
        const tb = document.getElementById('tb-link');
        tb.href = ctx.tensorboardUrl();
        tb.hidden = false;
        document.getElementById('token-bar').hidden = !x.auth_required;
        document.getElementById('token-input').value = token();
        return x;
    });
}

export function parseRoute(hash) {
    const raw = (hash || '').replace(/^#\/?/, '');
    const [path, qs] = raw.split('?');
    const parts = path.split('/').filter(Boolean);
    const query = new URLSearchParams(qs || '');
    if (parts.length === 0 || (parts[0] === 'jobs' && parts.length === 1))
        return { page: 'jobs', query };
    if (parts[0] === 'jobs' && parts.length === 2 && /^[1-9][0-9]{0,15}$/.test(parts[1]))
        return { page: 'job', id: Number(parts[1]), query };
    if (parts[0] === 'sweeps' && parts.length === 1)
        return { page: 'sweeps', query };
    if (parts[0] === 'sweeps' && parts.length === 2 && /^[1-9][0-9]{0,15}$/.test(parts[1]))
        return { page: 'sweep', id: Number(parts[1]), query };
    if (parts[0] === 'compare' && parts.length === 1)
        return { page: 'compare', query };
    return { page: 'missing', query };
}

let unmount = null;
let first = true;

function route() {
    const r = parseRoute(location.hash);
    if (unmount) { try { unmount(); } catch (e) { console.error(e); } unmount = null; }
    replace(main);
    for (const a of document.querySelectorAll('[data-nav]')) {
        const section = { job: 'jobs', sweep: 'sweeps' }[r.page] || r.page;
        const on = a.dataset.nav === section;
        if (on) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
    }
    if (r.page === 'jobs') unmount = jobsPage.mount(main, r, ctx);
    else if (r.page === 'job') unmount = jobPage.mount(main, r, ctx);
    else if (r.page === 'compare') unmount = comparePage.mount(main, r, ctx);
    else if (r.page === 'sweeps') unmount = sweepsPage.mount(main, r, ctx);
    else if (r.page === 'sweep') unmount = sweepPage.mount(main, r, ctx);
    else {
        document.title = 'Not found - aelab';
        main.appendChild(h('section', { class: 'panel' }, h('h1', {}, 'No such page'),
            h('p', {}, 'Try the ', h('a', { href: '#/jobs' }, 'jobs'), ' or the ', h('a', { href: '#/compare' }, 'compare'), ' page.')));
    }
    // Move keyboard and screen-reader focus to the new page, but not on the
    // first load (the user may already be tabbing through the header).
    if (!first) main.focus({ preventScroll: false });
    first = false;
}

function showStatus(s) {
    const el = document.getElementById('conn');
    el.dataset.state = s;
    const text = {
        connecting: 'connecting',
        live: 'live',
        reconnecting: 'reconnecting',
        polling: 'stream down: refreshing every 15 s',
        done: 'job finished',
        'sweep-done': 'sweep finished',
        'sweep-polling': 'refreshing every 2 s',
    }[s] || s;
    el.querySelector('.conn-text').textContent = text;
}

function start() {
    store.addEventListener('status', e => showStatus(e.detail));
    showStatus(store.status);
    document.getElementById('token-bar').addEventListener('submit', e => {
        e.preventDefault();
        setToken(document.getElementById('token-input').value.trim());
    });
    window.addEventListener('aelab:token-needed', () => {
        const bar = document.getElementById('token-bar');
        bar.hidden = false;
        document.getElementById('token-input').focus();
    });
    loadShared().catch(() => {});
    store.start();
    window.addEventListener('hashchange', route);
    route();
}

start();
