/*
 * format.js - how numbers, durations and times read on the dashboard.
 *
 * Owns: every number-to-text conversion, so the table, the job page and the
 * compare page agree.  Does not own: any DOM.  Missing values (null, from
 * the API's nullable fields) read as an em dash everywhere.
 */

export const NONE = '\u2014';

export function loss(x) {
    return typeof x === 'number' && Number.isFinite(x) ? x.toFixed(4) : NONE;
}

export function int(x) {
    return typeof x === 'number' && Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : NONE;
}

/** Seconds as "350 ms", "4.2 s", "3 min 05 s", "2 h 07 min". */
export function duration(s) {
    if (typeof s !== 'number' || !Number.isFinite(s) || s < 0) return NONE;
    if (s < 1) return `${Math.round(s * 1000)} ms`;
    if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m} min ${String(Math.round(s - 60 * m)).padStart(2, '0')} s`;
    const hours = Math.floor(m / 60);
    return `${hours} h ${String(m - 60 * hours).padStart(2, '0')} min`;
}

/** An ISO date-time as local "2026-11-28 14:03:07" (or a dash). */
export function time(iso) {
    if (!iso) return NONE;
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return String(iso);
    const p = n => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ` +
           `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** A setting's value: integers plain, small floats in exponent form. */
export function setting(x) {
    if (typeof x !== 'number' || !Number.isFinite(x)) return x === undefined || x === null ? NONE : String(x);
    if (Number.isInteger(x)) return String(x);
    if (Math.abs(x) < 1e-3) return x.toExponential(1);
    return String(Number(x.toPrecision(6)));
}

// "stopped": a sweep's early stopping ended the trial (not a cancel).
export const FINISHED = new Set(['succeeded', 'failed', 'cancelled', 'stopped']);
export const STATES = ['queued', 'running', 'succeeded', 'stopped', 'failed', 'cancelled'];

const RANK = { queued: 0, running: 1, succeeded: 2, failed: 2, cancelled: 2, stopped: 2 };

/** True when incoming is older news than old: a job never goes back from
 *  finished to running or from running to queued, and never loses epochs.
 *  (A POST answer can arrive after the stream already told us more.) */
export function isStale(old, incoming) {
    if (!old || !incoming) return false;
    if (incoming.state in RANK && old.state in RANK && RANK[incoming.state] < RANK[old.state]) return true;
    if (typeof incoming.epoch === 'number' && typeof old.epoch === 'number' && incoming.epoch < old.epoch) return true;
    return false;
}

/** A job's duration now.  The API's duration_seconds of a running job is
 *  as of the moment it was sent; `received` (performance.now() then, put
 *  there by whoever stored the job) lets it keep counting without trusting
 *  the browser's clock against the server's. */
export function jobDuration(job) {
    const d = job && job.duration_seconds;
    if (typeof d !== 'number') return null;
    if (job.state === 'running' && typeof job.received === 'number')
        return d + Math.max(0, performance.now() - job.received) / 1000;
    return d;
}
