/*
 * sweep_chart.js - every trial's val_loss per epoch on one uPlot chart.
 *
 * Owns: one line per trial, coloured by whatever the page says (a
 * parameter's value), the sweep's ASHA rungs as dashed vertical lines,
 * and a cross where each stopped trial stopped; the name of the trial
 * under the pointer.  Does not own: the data or the colours' meaning.
 *
 * Design: uPlot's options fix the series, so the chart is rebuilt when the
 * set of trials or their colours change and only fed new data otherwise.
 * Rungs and stop marks are drawn on uPlot's canvas in its draw hook.  The
 * plot element carries data-series, data-points, data-rungs and
 * data-stopped, read back from what was drawn, for the tests.
 */
const uPlot = globalThis.uPlot;
import { h, setText } from './dom.js';

const HEIGHT = 320;

/**
 * trialsChart(parent) -> {setData({epochs, trials: [{key, label, colour, ys, stoppedAt}], rungs}), destroy()}
 * epochs: x values; ys: val_loss per epoch (null where the trial has none).
 */
export function trialsChart(parent, { title }) {
    const plotEl = h('div', { class: 'chart-plot', id: 'trials-chart', role: 'img', 'aria-label': title });
    const hover = h('p', { class: 'note chart-hover', 'aria-live': 'off' }, '\u00a0');
    const empty = h('p', { class: 'chart-empty' }, 'The curves start when the first trial has finished an epoch.');
    const figure = h('figure', { class: 'chart' }, h('figcaption', {}, title), plotEl, hover);
    plotEl.appendChild(empty);
    parent.appendChild(figure);

    let u = null, shape = '', current = null;

    function drawMarks(chart) {
        const d = current;
        if (!d) return;
        const ctx = chart.ctx;
        const { left, top, width, height } = chart.bbox;
        const [xmin, xmax] = [chart.scales.x.min, chart.scales.x.max];
        let rungsDrawn = 0, stopsDrawn = 0;
        ctx.save();
        ctx.font = `${Math.round(11 * devicePixelRatio)}px system-ui, sans-serif`;
        for (const [k, r] of (d.rungs || []).entries()) {
            if (r < xmin || r > xmax) continue;
            const x = Math.round(chart.valToPos(r, 'x', true));
            ctx.strokeStyle = '#8c959f';
            ctx.setLineDash([5 * devicePixelRatio, 4 * devicePixelRatio]);
            ctx.lineWidth = devicePixelRatio;
            ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, top + height); ctx.stroke();
            ctx.setLineDash([]);
            ctx.fillStyle = '#57606a';
            ctx.textAlign = x > left + width - 60 * devicePixelRatio ? 'right' : 'left';
            ctx.fillText(`rung ${k}`, x + (ctx.textAlign === 'left' ? 4 : -4) * devicePixelRatio, top + 12 * devicePixelRatio);
            rungsDrawn++;
        }
        d.trials.forEach((t, i) => {
            if (t.stoppedAt == null) return;
            const k = d.epochs.indexOf(t.stoppedAt);
            const y = k < 0 ? null : t.ys[k];
            if (y == null || !chart.series[i + 1].show) return;
            const cx = chart.valToPos(t.stoppedAt, 'x', true), cy = chart.valToPos(y, 'y', true);
            const r = 6 * devicePixelRatio;
            ctx.lineCap = 'round';
            for (const [colour, w] of [['#ffffff', 5], [t.colour, 2.5]]) {
                ctx.strokeStyle = colour;
                ctx.lineWidth = w * devicePixelRatio;
                ctx.beginPath();
                ctx.moveTo(cx - r, cy - r); ctx.lineTo(cx + r, cy + r);
                ctx.moveTo(cx + r, cy - r); ctx.lineTo(cx - r, cy + r);
                ctx.stroke();
            }
            stopsDrawn++;
        });
        ctx.restore();
        plotEl.dataset.rungs = String(rungsDrawn);
        plotEl.dataset.stopped = String(stopsDrawn);
    }

    function build(d) {
        if (u) u.destroy();
        const w = Math.max(240, plotEl.clientWidth || parent.clientWidth || 600);
        u = new uPlot({
            width: w,
            height: HEIGHT,
            scales: { x: { time: false } },
            legend: { show: false },
            focus: { alpha: 0.25 },
            cursor: { focus: { prox: 24 }, drag: { x: true, y: false } },
            axes: [
                { label: 'epoch', stroke: '#333', grid: { stroke: '#e5e7eb' }, ticks: { stroke: '#d1d5db' },
                  incrs: [1, 2, 5, 10, 20, 50, 100], values: (_, v) => v.map(x => String(x)) },
                { label: 'val_loss', stroke: '#333', grid: { stroke: '#e5e7eb' }, ticks: { stroke: '#d1d5db' },
                  size: 60, values: (_, v) => v.map(x => x == null ? '' : Number(x.toPrecision(4)).toString()) },
            ],
            series: [
                { label: 'epoch' },
                ...d.trials.map(t => ({ label: t.label, stroke: t.colour, width: 2, spanGaps: false,
                                        points: { show: true, size: 5 } })),
            ],
            hooks: {
                draw: [drawMarks],
                setSeries: [(chart, i) => {
                    const t = i == null ? null : current.trials[i - 1];
                    setText(hover, t ? t.label : '\u00a0');
                }],
            },
        }, [d.epochs, ...d.trials.map(t => t.ys)], plotEl);
    }

    const ro = new ResizeObserver(() => {
        const w = plotEl.clientWidth;
        if (u && w > 0 && Math.abs(w - u.width) > 1) u.setSize({ width: w, height: HEIGHT });
    });
    ro.observe(plotEl);

    return {
        element: figure,
        setData(d) {
            current = d;
            const key = d.trials.map(t => `${t.key}:${t.colour}`).join('|');
            if (!u || key !== shape) { shape = key; build(d); }
            else u.setData([d.epochs, ...d.trials.map(t => t.ys)]);
            plotEl.dataset.series = String(u.series.length - 1);
            plotEl.dataset.points = String(d.trials.reduce((n, t) => n + t.ys.filter(y => y != null).length, 0));
            empty.hidden = d.epochs.length > 0;
        },
        destroy() { ro.disconnect(); if (u) u.destroy(); figure.remove(); },
    };
}
