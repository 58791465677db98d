/*
 * api.js - every request the dashboard makes to aelabd.
 *
 * Owns: the URLs of the API (only paths listed in server/openapi.json), the
 * bearer token (kept in localStorage when the daemon asks for one), and
 * turning error responses into ApiError carrying the RFC 9457 problem body.
 * Does not own: what the pages do with errors or data.
 *
 * Design: all paths are relative ("api/jobs", not "/api/jobs") so the
 * dashboard also works when aelabd sits behind a reverse proxy under a
 * prefix; the page itself is always "index.html" of the web root.
 */

const TOKEN_KEY = 'aelab.token';

export class ApiError extends Error {
    /** status 0 means the request never got an answer. problem is the parsed
     *  problem+json body (or a stand-in with title and detail). */
    constructor(status, problem, headers) {
        super(problem && problem.detail ? problem.detail : `HTTP ${status}`);
        this.status = status;
        this.problem = problem || {};
        this.headers = headers || null;
    }
}

export function token() {
    try { return localStorage.getItem(TOKEN_KEY) || ''; } catch { return ''; }
}

export function setToken(t) {
    try {
        if (t) localStorage.setItem(TOKEN_KEY, t);
        else localStorage.removeItem(TOKEN_KEY);
    } catch { /* storage disabled: the token lasts until reload */ }
}

async function request(method, path, { body, headers } = {}) {
    const hdrs = { Accept: 'application/json', ...(headers || {}) };
    if (body !== undefined) hdrs['Content-Type'] = 'application/json';
    const t = token();
    if (t && method !== 'GET') hdrs.Authorization = `Bearer ${t}`;
    let res;
    try {
        res = await fetch(path, {
            method,
            headers: hdrs,
            body: body === undefined ? undefined : JSON.stringify(body),
            cache: 'no-store',
        });
    } catch (e) {
        throw new ApiError(0, { title: 'No answer', detail: `aelabd did not answer (${e.message}).` });
    }
    if (!res.ok) {
        let problem;
        const type = res.headers.get('Content-Type') || '';
        try {
            problem = type.includes('json') ? await res.json()
                                            : { title: res.statusText, detail: (await res.text()).slice(0, 500) };
        } catch {
            problem = { title: res.statusText, detail: `HTTP ${res.status} ${res.statusText}` };
        }
        if (typeof problem !== 'object' || problem === null) problem = { detail: String(problem) };
        // The header shows its token field when the daemon asks for one.
        if (res.status === 401) window.dispatchEvent(new CustomEvent('aelab:token-needed'));
        throw new ApiError(res.status, problem, res.headers);
    }
    return res;
}

const json = async (method, path, opts) => (await request(method, path, opts)).json();

function query(params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {}))
        if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
    const s = q.toString();
    return s ? `?${s}` : '';
}

const jobPath = id => `api/jobs/${encodeURIComponent(id)}`;
const sweepPath = id => `api/sweeps/${encodeURIComponent(id)}`;

export const api = {
    health: () => json('GET', 'api/health'),
    models: () => json('GET', 'api/models'),
    /** {state, model, limit, before} -> JobList */
    jobs: (params) => json('GET', `api/jobs${query(params)}`),
    /** The `next` link of a JobList page, as the API gave it. */
    jobsPage: (next) => json('GET', next.replace(/^\//, '')),
    job: (id) => json('GET', jobPath(id)),
    create: (spec, idempotencyKey) =>
        json('POST', 'api/jobs', { body: spec, headers: idempotencyKey ? { 'Idempotency-Key': idempotencyKey } : {} }),
    cancel: (id) => json('POST', `${jobPath(id)}/cancel`),
    remove: (id, purge) => request('DELETE', `${jobPath(id)}${purge ? '?purge=true' : ''}`),
    /** -> {text, params} (params from X-Params, or null) */
    summary: async (id) => {
        const res = await request('GET', `${jobPath(id)}/summary`, { headers: { Accept: 'text/plain' } });
        const p = res.headers.get('X-Params');
        return { text: await res.text(), params: p === null ? null : Number(p) };
    },
    /** {state} -> SweepList */
    sweeps: (params) => json('GET', `api/sweeps${query(params)}`),
    sweep: (id) => json('GET', sweepPath(id)),
    /** -> [{trial, job, epoch, loss, val_loss, ...}], one row per trial and epoch */
    sweepMetrics: (id) => json('GET', `${sweepPath(id)}/metrics`),
    // POST api/sweeps takes no Idempotency-Key (not in openapi.json).
    createSweep: (spec) => json('POST', 'api/sweeps', { body: spec }),
    cancelSweep: (id) => json('POST', `${sweepPath(id)}/cancel`),
    removeSweep: (id, purge) => request('DELETE', `${sweepPath(id)}${purge ? '?purge=true' : ''}`),
};

export const urls = {
    events: () => 'api/events',
    jobEvents: (id) => `${jobPath(id)}/events`,
    sweepEvents: (id) => `${sweepPath(id)}/events`,
    sweepMetrics: (id, format) => `${sweepPath(id)}/metrics${query({ format })}`,
    reconstructions: (id, { n, epoch } = {}) => `${jobPath(id)}/reconstructions.png${query({ n, epoch })}`,
    latent: (id, { epoch } = {}) => `${jobPath(id)}/latent.png${query({ epoch })}`,
    manifold: (id, { epoch } = {}) => `${jobPath(id)}/manifold.png${query({ epoch })}`,
    samples: (id, { n, seed, epoch } = {}) => `${jobPath(id)}/samples.png${query({ n, seed, epoch })}`,
    metrics: (id, format) => `${jobPath(id)}/metrics${query({ format })}`,
    weights: (id, epoch) => `${jobPath(id)}/weights${query({ epoch })}`,
};

/** A random Idempotency-Key (crypto.randomUUID needs a secure context;
 *  getRandomValues does not). */
export function newKey() {
    const b = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(b, x => x.toString(16).padStart(2, '0')).join('');
}
