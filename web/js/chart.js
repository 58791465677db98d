/*
 * chart.js - per-epoch line charts (uPlot) with a data table beside them.
 *
 * Owns: the one place uPlot is configured (axes, colours, sizing on
 * resize), and an accessible <table> of the same numbers under a
 * <details>, since a canvas says nothing to a screen reader.  Does not own:
 * where the numbers come from.
 *
 * Design: uPlot is loaded from what npm installed under the web root
 * (node_modules/uplot, its minified build, by index.html), never from a
 * CDN.  The chart element carries
 * data-points and data-series read back from the uPlot instance itself, so
 * tests check what the chart really holds.
 */
// index.html loads uPlot's minified build before this module runs.
const uPlot = globalThis.uPlot;
import { h, replace } from './dom.js';
import * as fmt from './format.js';

// Distinguishable on white and for the common colour-vision deficiencies
// (Okabe-Ito order, darkened for contrast).
export const PALETTE = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#8a6d00', '#56b4e9', '#000000', '#e69f00'];

/**
 * lineChart(parent, {title, series: [{label, color?, dash?}], height?})
 * -> {setData(xs, ys), destroy()}.  xs are epochs; ys one array per series
 * (null for a gap).
 */
export function lineChart(parent, { title, series, height = 300, yLabel = 'loss' }) {
    const plotEl = h('div', { class: 'chart-plot', role: 'img', 'aria-label': title });
    const table = h('table', { class: 'chart-table' });
    const figure = h('figure', { class: 'chart' },
        h('figcaption', {}, title),
        plotEl,
        h('details', { class: 'chart-data' }, h('summary', {}, 'Data table'), h('div', { class: 'table-scroll' }, table)));
    parent.appendChild(figure);

    const opts = {
        width: Math.max(200, plotEl.clientWidth || parent.clientWidth || 600),
        height,
        scales: { x: { time: false } },
        legend: { live: true },
        cursor: { drag: { x: true, y: false } },
        axes: [
            { label: 'epoch', stroke: '#333', grid: { stroke: '#e5e7eb' }, ticks: { stroke: '#d1d5db' },
              incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000], values: (u, v) => v.map(x => String(x)) },
            { label: yLabel, stroke: '#333', grid: { stroke: '#e5e7eb' }, ticks: { stroke: '#d1d5db' },
              size: 60, values: (u, v) => v.map(x => x == null ? '' : Number(x.toPrecision(4)).toString()) },
        ],
        series: [
            // With no cursor on the chart (idx null) the legend shows the
            // latest point, so it reads as "the numbers now".
            { label: 'epoch', value: (u, v, si, idx) => show(u, v, si, idx, x => String(x)) },
            ...series.map((s, i) => ({
                label: s.label,
                stroke: s.color || PALETTE[i % PALETTE.length],
                width: 2,
                dash: s.dash,
                spanGaps: true,
                points: { show: true, size: 6 },
                value: (u, v, si, idx) => show(u, v, si, idx, fmt.loss),
            })),
        ],
    };
    function show(u, v, si, idx, f) {
        if (idx == null) {
            const col = u.data[si] || [];
            for (let i = col.length - 1; i >= 0; i--) if (col[i] != null) return f(col[i]);
            return fmt.NONE;
        }
        return v == null ? fmt.NONE : f(v);
    }
    const emptyNote = h('p', { class: 'chart-empty' }, 'The curve starts when the first epoch has finished.');
    plotEl.appendChild(emptyNote);
    let xs = [], ys = series.map(() => []);
    const u = new uPlot(opts, [xs, ...ys], plotEl);

    const ro = new ResizeObserver(() => {
        const w = plotEl.clientWidth;
        if (w > 0 && Math.abs(w - u.width) > 1) u.setSize({ width: w, height });
    });
    ro.observe(plotEl);

    function renderTable() {
        const head = h('tr', {}, h('th', { scope: 'col' }, 'epoch'),
                       series.map(s => h('th', { scope: 'col' }, s.label)));
        const rows = xs.map((x, i) => h('tr', {}, h('th', { scope: 'row' }, String(x)),
                                        ys.map(col => h('td', {}, fmt.loss(col[i])))));
        replace(table, h('thead', {}, head), h('tbody', {}, rows));
    }

    function setData(newXs, newYs) {
        xs = newXs;
        ys = newYs;
        u.setData([xs, ...ys]);
        plotEl.dataset.points = String(u.data[0].length);
        plotEl.dataset.series = String(u.series.length - 1);
        emptyNote.hidden = xs.length > 0;
        renderTable();
    }
    setData(xs, ys);

    return {
        setData,
        element: figure,
        destroy() { ro.disconnect(); u.destroy(); figure.remove(); },
    };
}
