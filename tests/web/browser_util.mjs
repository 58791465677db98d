/*
 * browser_util.mjs - what the browser tests in tests/web/ share: their
 * command line, loading playwright-core from web/node_modules, the
 * watchdog, polling, the API client, starting and stopping aelabd on
 * 127.0.0.1 port 0, and launching headless Chromium with a page whose
 * off-site requests, uncaught errors, HTTP errors and console are recorded.
 *
 * Does not own: any expectation; each *.test.mjs asserts on what these
 * helpers record.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

/** The value after --name on the command line, or null. */
export function arg(name) {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : null;
}

/** --aelabd, --source-root and --build-dir (exit 2 with `usage` if one is
 *  missing) and the paths derived from them. */
export function commonArgs(usage) {
    const AELABD = arg('aelabd'), SOURCE = arg('source-root'), BUILD = arg('build-dir');
    if (!AELABD || !SOURCE || !BUILD) {
        console.error(`usage: ${usage}`);
        process.exit(2);
    }
    return {
        AELABD, SOURCE, BUILD,
        WEB_ROOT: path.join(SOURCE, 'web'),
        MNIST: path.join(SOURCE, 'data', 'mnist'),
        SHOTS: path.join(BUILD, 'screenshots'),
        CHROMIUM: process.env.AELAB_CHROMIUM || '/usr/bin/chromium',
    };
}

/** playwright-core's chromium from web/node_modules; exit 1 if absent. */
export function loadChromium(webRoot) {
    try {
        return createRequire(path.join(webRoot, 'package.json'))('playwright-core').chromium;
    } catch (e) {
        console.error(`playwright-core is not installed in web/node_modules (${e.message}); ` +
                      'run scripts/setup.sh (it runs `npm ci` in web/)');
        process.exit(1);
    }
}

/** Fail the whole run (after cleanup()) if it is still going after ms. */
export function startWatchdog(name, ms, cleanup) {
    const watchdog = setTimeout(() => {
        console.error(`${name}: still running after ${ms / 1000} s; giving up`);
        cleanup().finally(() => process.exit(1));
    }, ms);
    watchdog.unref();
}

export const sleep = ms => new Promise(r => setTimeout(r, ms));

/** Poll fn until it returns something truthy; throw after timeoutMs. */
export async function waitFor(what, fn, timeoutMs = 30_000, everyMs = 100) {
    const end = Date.now() + timeoutMs;
    let last;
    for (;;) {
        try {
            last = await fn();
            if (last) return last;
        } catch (e) { last = e; }
        if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last})`);
        await sleep(everyMs);
    }
}

/** fetch(base + p); the body parsed as JSON when it says it is JSON. */
export async function apiCall(base, p, opts = {}) {
    const res = await fetch(base + p, {
        ...opts,
        headers: { ...(opts.body ? { 'Content-Type': 'application/json' } : {}), ...(opts.headers || {}) },
    });
    const type = res.headers.get('content-type') || '';
    const body = type.includes('json') ? await res.json() : await res.text();
    return { status: res.status, body, headers: res.headers };
}

/** Start aelabd on 127.0.0.1 port 0 with its --db, --logdir, port file and
 *  log in dir; resolve {base, log, proc} once it has written its port. */
export async function startAelabd({ aelabd, dir, mnist, webRoot, extra = [], name = 'aelabd' }) {
    const portFile = path.join(dir, 'port');
    const logPath = path.join(dir, 'aelabd.log');
    const log = fs.openSync(logPath, 'w');
    const proc = spawn(aelabd, [
        '--listen', '127.0.0.1:0', '--port-file', portFile,
        '--db', path.join(dir, 'aelab.db'), '--logdir', path.join(dir, 'runs'),
        '--data-dir', mnist, '--web-root', webRoot,
        '--workers', '2', '--threads-per-job', '1',
        '--tensorboard-url', 'http://127.0.0.1:6006/',
        ...extra,
    ], { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    const port = await waitFor(`${name} to write its port`, () => {
        if (proc.exitCode !== null) throw new Error(`aelabd exited with ${proc.exitCode}: ${fs.readFileSync(logPath, 'utf8')}`);
        const txt = fs.existsSync(portFile) ? fs.readFileSync(portFile, 'utf8').trim() : '';
        return /^[0-9]+$/.test(txt) && Number(txt) > 0 ? Number(txt) : null;
    }, 20_000, 50);
    return { base: `http://127.0.0.1:${port}`, log: logPath, proc };
}

/** SIGTERM a child; SIGKILL it if it has not exited 8 s later. */
export async function stopProcess(proc) {
    if (!proc || proc.exitCode !== null) return;
    proc.kill('SIGTERM');
    const exited = await Promise.race([
        new Promise(r => proc.once('exit', () => r(true))),
        sleep(8000).then(() => false),
    ]);
    if (!exited) proc.kill('SIGKILL');
}

/** Headless Chromium on a fresh profile in tmp; resolve {context, page}. */
export async function launchBrowser(chromium, executablePath, tmp) {
    const context = await chromium.launchPersistentContext(fs.mkdtempSync(path.join(tmp, 'chromium-profile-')), {
        executablePath,
        headless: true,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
               '--disable-background-networking', '--disable-component-update',
               '--disable-sync', '--disable-quic'],
        viewport: { width: 1280, height: 800 },
        timeout: 30_000,
    });
    context.setDefaultTimeout(20_000);
    const page = context.pages()[0] || await context.newPage();
    return { context, page };
}

/** Record into rec.{offsite, pageErrors, badResponses, consoleLines} what
 *  the page does: requests that leave base (data: URLs, and with blobOk
 *  blob: URLs of base, stay), uncaught errors, HTTP >= 400, console lines. */
export function watchPage(page, base, rec, { blobOk = false } = {}) {
    page.on('pageerror', e => rec.pageErrors.push(String(e)));
    page.on('console', m => rec.consoleLines.push(`${m.type()}: ${m.text()}`));
    page.on('request', r => {
        const u = r.url();
        if (!u.startsWith(base + '/') && !u.startsWith('data:') &&
            !(blobOk && u.startsWith(`blob:${base}/`))) rec.offsite.push(u);
    });
    page.on('response', r => {
        if (r.status() >= 400) rec.badResponses.push(`${r.request().method()} ${r.url().slice(base.length)} ${r.status()}`);
    });
}

/** After a failed run: the page's console and the end of a log file. */
export function printOnFailure(consoleLines, logPath, logName = 'aelabd log') {
    if (!process.exitCode) return;
    if (consoleLines.length)
        console.error(`--- page console (last 40 lines) ---\n${consoleLines.slice(-40).join('\n')}`);
    if (logPath && fs.existsSync(logPath))
        console.error(`--- ${logName} (last 40 lines) ---\n${fs.readFileSync(logPath, 'utf8').split('\n').slice(-40).join('\n')}`);
}
