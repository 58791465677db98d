/*
 * live.js - the dashboard's picture of all jobs, kept live by /api/events.
 *
 * Owns: one EventSource on api/events for the whole page, the map of jobs
 * it maintains (id -> Job without metrics), the connection state shown in
 * the header, and a slow fallback poll (every POLL_MS) while the stream is
 * down.  Does not own: per-job streams (job_page.js opens its own) or any
 * rendering; pages listen for 'change' events.
 *
 * Design: the list fetched from api/jobs and the stream can race (an event
 * newer than the list may arrive before the list does), so events that
 * arrive while a list is being fetched are buffered and replayed on top of
 * it.  The browser's EventSource reconnects by itself and sends
 * Last-Event-ID; the daemon answers `resync` when it cannot continue, and
 * then we fetch the list again.  No polling happens while the stream is up.
 */
import { api, urls } from './api.js';
import { isStale } from './format.js';

const POLL_MS = 15000;        // fallback poll while the stream is down
const RETRY_MS = 20000;       // re-open a stream the browser gave up on
const PAGE = 100;             // jobs per list request

class JobStore extends EventTarget {
    constructor() {
        super();
        this.jobs = new Map();
        this.total = null;        // jobs on the server (last unfiltered list)
        this.next = null;         // next (older) page of the unfiltered list
        this.status = 'connecting';
        this.es = null;
        this.buffer = null;       // events held while a list is in flight
        this.pollTimer = null;
        this.retryTimer = null;
        this.loading = null;
        this.lastError = null;
        this.olderLoaded = false;
    }

    start() {
        if (this.es) return;
        this.open();
        this.refresh().catch(() => {});
    }

    /** Close the shared stream while a page follows one job on its own
     *  stream: browsers allow few HTTP/1.1 connections per host, so a tab
     *  holds one stream, not two.  The page reports its stream's status. */
    suspend() {
        this.suspended = true;
        if (this.es) this.es.close();
        this.es = null;
        this.stopPolling();
        clearTimeout(this.retryTimer);
    }

    /** Re-open the shared stream and re-read what was missed meanwhile. */
    resume() {
        if (!this.suspended) return;
        this.suspended = false;
        this.start();
    }

    /** Newest first. */
    list() {
        return [...this.jobs.values()].sort((a, b) => b.id - a.id);
    }

    get(id) { return this.jobs.get(Number(id)); }

    /** Put a job in (from the stream, a POST answer or a page's fetch). */
    upsert(job, { quiet = false } = {}) {
        if (!job || typeof job.id !== 'number') return;
        const old = this.jobs.get(job.id);
        if (isStale(old, job)) return;
        // Only a job's own page carries metrics; the table does not need them.
        const { metrics, ...rest } = job;
        if (typeof rest.duration_seconds === 'number') rest.received = performance.now();
        this.jobs.set(job.id, old ? { ...old, ...rest } : rest);
        if (!quiet) this.emit([job.id], !old);
    }

    remove(id) {
        if (this.jobs.delete(Number(id))) this.emit([Number(id)], true);
    }

    emit(ids, structural) {
        this.dispatchEvent(new CustomEvent('change', { detail: { ids, structural } }));
    }

    setStatus(s) {
        if (this.status === s) return;
        this.status = s;
        this.dispatchEvent(new CustomEvent('status', { detail: s }));
    }

    /** Fetch the newest page (or a filtered one) and merge it in. */
    async refresh(filter) {
        const own = !this.buffer;
        if (own) this.buffer = [];
        try {
            const params = { limit: PAGE, ...(filter || {}) };
            const page = await api.jobs(params);
            this.lastError = null;
            const seen = new Set();
            for (const j of page.jobs) { this.upsert(j, { quiet: true }); seen.add(j.id); }
            if (!filter) {
                // Jobs we hold in the range this page covers but that it
                // lacks were deleted while the stream was away.
                const oldest = page.next && page.jobs.length ? page.jobs[page.jobs.length - 1].id : 0;
                for (const id of [...this.jobs.keys()])
                    if (id >= oldest && !seen.has(id)) this.jobs.delete(id);
                this.total = page.total;
                if (!this.olderLoaded) this.next = page.next;
            }
            return page;
        } catch (e) {
            this.lastError = e;
            throw e;
        } finally {
            if (own) {
                const held = this.buffer;
                this.buffer = null;
                for (const ev of held) this.apply(ev.type, ev.data);
                this.emit([], true);
            }
        }
    }

    /** Load the next older page of the unfiltered list. */
    async loadOlder() {
        if (!this.next) return;
        const page = await api.jobsPage(this.next);
        for (const j of page.jobs) this.upsert(j, { quiet: true });
        this.next = page.next;
        this.olderLoaded = true;
        this.emit([], true);
    }

    apply(type, data) {
        if (type === 'job') this.upsert(data);
        else if (type === 'deleted') this.remove(data.id);
        else if (type === 'resync') this.refresh().catch(() => {});
    }

    onEvent(type, e) {
        let data = null;
        try { data = e.data ? JSON.parse(e.data) : null; } catch { return; }
        if (this.buffer) this.buffer.push({ type, data });
        else this.apply(type, data);
    }

    open() {
        clearTimeout(this.retryTimer);
        if (this.suspended) return;
        const es = new EventSource(urls.events());
        this.es = es;
        for (const type of ['job', 'deleted', 'resync'])
            es.addEventListener(type, e => this.onEvent(type, e));
        es.addEventListener('open', () => {
            const wasDown = this.status !== 'live' && this.status !== 'connecting';
            this.setStatus('live');
            this.stopPolling();
            // After a gap we cannot be sure Last-Event-ID covered: re-read.
            if (wasDown) this.refresh().catch(() => {});
        });
        es.addEventListener('error', () => {
            if (es.readyState === EventSource.CLOSED) {
                // The browser gave up (non-200, wrong type): poll slowly and
                // try a fresh stream now and then.
                this.es = null;
                this.setStatus('polling');
                this.startPolling();
                this.retryTimer = setTimeout(() => this.open(), RETRY_MS);
            } else {
                this.setStatus('reconnecting');
                this.startPolling();
            }
        });
    }

    startPolling() {
        if (this.pollTimer) return;
        this.pollTimer = setInterval(() => this.refresh().catch(() => {}), POLL_MS);
    }

    stopPolling() {
        clearInterval(this.pollTimer);
        this.pollTimer = null;
    }
}

export const store = new JobStore();
