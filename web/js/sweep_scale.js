/*
 * sweep_scale.js - where a swept value sits on an axis, and its colour.
 *
 * Owns: one scale per sweep parameter (and for val_loss), built from the
 * sweep's own parameter spec (a list of values, or min/max with a
 * distribution) widened to the values the trials really have, and the
 * colour ramp the trial curves use.  Does not own: any DOM.
 *
 * Design: a log_uniform parameter (or a positive metric spanning more than
 * a factor of 20) is placed on a log axis, so a learning-rate search reads
 * as evenly spread; a list of values gets one evenly spaced position each,
 * in the given order.  pos() maps to [0, 1]; 0 is the axis' low end.
 */
import { PALETTE } from './chart.js';
import * as fmt from './format.js';

/** scaleFor(name, spec, values) -> {name, kind, pos(v), ticks: [[v, label]], label(v)} */
export function scaleFor(name, spec, values) {
    const nums = values.filter(v => typeof v === 'number' && Number.isFinite(v));
    if (spec && Array.isArray(spec.values)) {
        const list = [...spec.values];
        for (const v of values) if (v != null && !list.includes(v)) list.push(v);
        const n = list.length;
        return {
            name, kind: 'values',
            pos: v => { const i = list.indexOf(v); return i < 0 ? null : (n === 1 ? 0.5 : i / (n - 1)); },
            ticks: list.map(v => [v, fmt.setting(v)]),
            label: fmt.setting,
        };
    }
    let lo = spec && typeof spec.min === 'number' ? spec.min : Math.min(...nums);
    let hi = spec && typeof spec.max === 'number' ? spec.max : Math.max(...nums);
    if (nums.length) { lo = Math.min(lo, ...nums); hi = Math.max(hi, ...nums); }
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) { lo = 0; hi = 1; }
    const log = lo > 0 && ((spec && spec.distribution === 'log_uniform') || (!spec && hi / lo > 20));
    const f = log ? Math.log10 : (x => x);
    const a = f(lo), b = f(hi);
    const span = b - a;
    const pos = v => (typeof v !== 'number' || !Number.isFinite(v) || (log && v <= 0)) ? null
        : span === 0 ? 0.5 : (f(v) - a) / span;
    const label = name === 'val_loss' || name === 'loss' ? fmt.loss : fmt.setting;
    const ticks = [];
    if (log) {
        for (let e = Math.ceil(a); e <= Math.floor(b); e++) ticks.push([10 ** e, label(10 ** e)]);
        if (ticks.length < 2) { ticks.length = 0; ticks.push([lo, label(lo)], [hi, label(hi)]); }
    } else {
        const k = span === 0 ? 1 : 4;
        for (let i = 0; i <= k; i++) {
            let v = lo + (hi - lo) * i / k;
            if (spec && spec.distribution === 'int_uniform') v = Math.round(v);
            if (!ticks.some(t => t[0] === v)) ticks.push([v, label(v)]);
        }
    }
    return { name, kind: log ? 'log' : 'linear', pos, ticks, label, lo, hi };
}

// A perceptually even ramp (dark blue -> teal -> yellow-green), from a
// handful of stops; readable on white at both ends.
const RAMP = [[0.0, [68, 1, 84]], [0.25, [59, 82, 139]], [0.5, [33, 145, 140]], [0.75, [94, 201, 98]], [1.0, [200, 190, 20]]];

export function ramp(t) {
    if (t == null || !Number.isFinite(t)) return '#9ca3af';
    const x = Math.min(1, Math.max(0, t));
    for (let i = 1; i < RAMP.length; i++) {
        const [t1, c1] = RAMP[i];
        const [t0, c0] = RAMP[i - 1];
        if (x <= t1) {
            const u = (x - t0) / (t1 - t0);
            const c = c0.map((v, j) => Math.round(v + (c1[j] - v) * u));
            return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
        }
    }
    return 'rgb(200, 190, 20)';
}

/** The colour of value v on scale s: a palette entry per listed value,
 *  the ramp for a range. */
export function colourOf(s, v) {
    if (!s) return PALETTE[0];
    if (s.kind === 'values') {
        const i = s.ticks.findIndex(t => t[0] === v);
        return i < 0 ? '#9ca3af' : PALETTE[i % PALETTE.length];
    }
    return ramp(s.pos(v));
}

export const STATE_COLOURS = {
    queued: '#6e7781', running: '#0969da', succeeded: '#1a7f37',
    stopped: '#8250df', failed: '#cf222e', cancelled: '#9a6700',
};
