/*
 * parcoords.js - a parallel-coordinates view in plain SVG, with brushing.
 *
 * Owns: drawing one vertical axis per swept parameter plus the metric, one
 * polyline per trial across them, and the brushes: drag along an axis to
 * keep only the trials inside that band (several axes combine with AND),
 * click an axis to clear its band.  Does not own: the data or what a
 * selection means; it calls onBrush(keys or null) and the page filters.
 *
 * Design: no library; npm has no parallel-coordinates package small and
 * well kept enough to be worth a dependency next to uPlot, and the view
 * is a few dozen SVG elements.  Brushes are kept in axis units (0..1), so
 * they survive a redraw as trials arrive.  The SVG carries data-lines and
 * data-selected so tests read what it really shows.
 */
import { h } from './dom.js';

const NS = 'http://www.w3.org/2000/svg';
const HEIGHT = 260;
const TOP = 34, BOTTOM = 18, SIDE = 56;

function s(tag, attrs, ...children) {
    const el = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
    for (const c of children) if (c) el.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    return el;
}

/**
 * parcoords(parent, {onBrush}) -> {setData(axes, rows), clear(), element, destroy()}
 * axes: [{name, scale}] (scale from sweep_scale.js); rows: [{key, values: {name: v}, colour, title}]
 */
export function parcoords(parent, { onBrush, label = 'Parallel coordinates' } = {}) {
    const svg = s('svg', { class: 'pc', role: 'img', 'aria-label': label, height: HEIGHT });
    const clearBtn = h('button', { type: 'button', class: 'pc-clear', disabled: true, onclick: () => clear() }, 'Clear brushes');
    const note = h('p', { class: 'note pc-note' }, 'Drag along an axis to keep the trials in that band; click an axis to clear its band.');
    const box = h('div', { class: 'pc-box' }, svg);
    const element = h('div', { class: 'pc-wrap' }, box, h('div', { class: 'pc-foot' }, note, clearBtn));
    parent.appendChild(element);

    const brushes = new Map();     // axis name -> [lo, hi] in 0..1
    let axes = [], rows = [];
    let drag = null;

    function width() { return Math.max(320, box.clientWidth || parent.clientWidth || 600); }
    function yOf(p, hgt) { return TOP + (1 - p) * (hgt - TOP - BOTTOM); }
    function pOf(y, hgt) { return 1 - (y - TOP) / (hgt - TOP - BOTTOM); }

    function inside(row) {
        for (const [name, [lo, hi]] of brushes) {
            const ax = axes.find(a => a.name === name);
            if (!ax) continue;
            const p = ax.scale.pos(row.values[name]);
            if (p == null || p < lo - 1e-9 || p > hi + 1e-9) return false;
        }
        return true;
    }

    function selection() {
        if (!brushes.size) return null;
        return new Set(rows.filter(inside).map(r => r.key));
    }

    function draw() {
        const w = width();
        svg.setAttribute('width', w);
        svg.setAttribute('viewBox', `0 0 ${w} ${HEIGHT}`);
        svg.replaceChildren();
        if (!axes.length) return;
        const xs = axes.map((_, i) => axes.length === 1 ? w / 2 : SIDE + i * (w - 2 * SIDE) / (axes.length - 1));
        const lines = s('g', { class: 'pc-lines' });
        let selected = 0;
        // Unselected first, so the kept lines are drawn on top.
        const ordered = [...rows].sort((a, b) => (inside(a) ? 1 : 0) - (inside(b) ? 1 : 0));
        for (const r of ordered) {
            const pts = [];
            axes.forEach((ax, i) => {
                const p = ax.scale.pos(r.values[ax.name]);
                if (p != null) pts.push(`${xs[i].toFixed(1)},${yOf(p, HEIGHT).toFixed(1)}`);
            });
            if (pts.length < 2) continue;
            const on = inside(r);
            if (on) selected++;
            const line = s('polyline', { points: pts.join(' '), fill: 'none',
                stroke: on ? r.colour : '#d0d7de', 'stroke-width': on ? 2 : 1, 'stroke-opacity': on ? 0.9 : 0.7,
                'data-key': r.key, class: on ? 'pc-line on' : 'pc-line' }, r.title ? s('title', {}, r.title) : null);
            lines.appendChild(line);
        }
        svg.appendChild(lines);
        axes.forEach((ax, i) => {
            const x = xs[i];
            const g = s('g', { class: 'pc-axis', 'data-axis': ax.name, transform: `translate(${x.toFixed(1)},0)` });
            g.appendChild(s('line', { x1: 0, x2: 0, y1: TOP, y2: HEIGHT - BOTTOM, stroke: '#57606a' }));
            for (const [v, text] of ax.scale.ticks) {
                const p = ax.scale.pos(v);
                if (p == null) continue;
                const y = yOf(p, HEIGHT);
                g.appendChild(s('line', { x1: -4, x2: 0, y1: y, y2: y, stroke: '#57606a' }));
                g.appendChild(s('text', { x: -6, y: y + 4, 'text-anchor': 'end', class: 'pc-tick' }, text));
            }
            g.appendChild(s('text', { x: 0, y: TOP - 14, 'text-anchor': 'middle', class: 'pc-name' }, ax.name));
            const b = brushes.get(ax.name);
            if (b) g.appendChild(s('rect', { x: -8, width: 16, y: yOf(b[1], HEIGHT), height: Math.max(2, yOf(b[0], HEIGHT) - yOf(b[1], HEIGHT)), class: 'pc-brush' }));
            // A wide transparent strip takes the pointer.
            g.appendChild(s('rect', { x: -14, width: 28, y: TOP - 4, height: HEIGHT - TOP - BOTTOM + 8, class: 'pc-hit', fill: 'transparent' }));
            svg.appendChild(g);
        });
        svg.dataset.lines = String(lines.childNodes.length);
        svg.dataset.selected = String(brushes.size ? selected : lines.childNodes.length);
        svg.dataset.brushes = String(brushes.size);
        clearBtn.disabled = brushes.size === 0;
    }

    function localY(e) {
        const r = svg.getBoundingClientRect();
        return (e.clientY - r.top) * (HEIGHT / r.height);
    }

    svg.addEventListener('pointerdown', e => {
        const g = e.target.closest && e.target.closest('.pc-axis');
        if (!g) return;
        e.preventDefault();
        drag = { name: g.dataset.axis, y0: localY(e), moved: false };
        svg.setPointerCapture(e.pointerId);
    });
    svg.addEventListener('pointermove', e => {
        if (!drag) return;
        const y = localY(e);
        if (Math.abs(y - drag.y0) < 3 && !drag.moved) return;
        drag.moved = true;
        const a = Math.min(1, Math.max(0, pOf(drag.y0, HEIGHT)));
        const b = Math.min(1, Math.max(0, pOf(y, HEIGHT)));
        brushes.set(drag.name, [Math.min(a, b), Math.max(a, b)]);
        draw();
    });
    const end = () => {
        if (!drag) return;
        if (!drag.moved) brushes.delete(drag.name);      // a click clears the axis
        drag = null;
        draw();
        if (onBrush) onBrush(selection());
    };
    svg.addEventListener('pointerup', end);
    svg.addEventListener('pointercancel', end);

    function clear() {
        brushes.clear();
        draw();
        if (onBrush) onBrush(null);
    }

    const ro = new ResizeObserver(() => { if (Math.abs(width() - Number(svg.getAttribute('width'))) > 1) draw(); });
    ro.observe(box);

    return {
        element,
        setData(newAxes, newRows) {
            axes = newAxes;
            rows = newRows;
            for (const name of [...brushes.keys()]) if (!axes.some(a => a.name === name)) brushes.delete(name);
            draw();
            return selection();
        },
        selection,
        clear,
        destroy() { ro.disconnect(); element.remove(); },
    };
}
