/*
 * sweep_form.js - the new-sweep form.
 *
 * Owns: building the form from api/models (the model's settings, each one
 * fixed at a value, swept over a list of values, or swept over a range
 * with a distribution; the data sets), the search method and its budget,
 * early stopping (none, ASHA, median), submitting it as a sweep spec to
 * POST api/sweeps and showing the API's problem+json errors next to the
 * fields they name ("job.<setting>", "parameters.<setting>.min",
 * "early_stopping.max_epochs", ...).  Does not own: validation; the
 * daemon is the judge, as in job_form.js.
 *
 * Design: a fixed setting is sent in "job" only when it differs from the
 * model's default.  With early stopping the trials' budget is
 * max_epochs, so the epochs row is not offered for sweeping or fixing
 * then (the API refuses both).
 */
import { api, ApiError } from './api.js';
import { h, replace } from './dom.js';
import * as fmt from './format.js';
import { clearFormErrors, fillModelChoices } from './form_util.js';

function num(id, value, attrs = {}) {
    return h('input', { id, name: id, type: 'number', step: 'any', value: value === undefined ? '' : String(value), ...attrs });
}

export function mount(container, ctx, { onCreated } = {}) {
    const status = h('div', { class: 'form-status', role: 'status', 'aria-live': 'polite' });
    const modelSel = h('select', { id: 's-model' });
    const datasetSel = h('select', { id: 's-dataset' });
    const nameIn = h('input', { id: 's-name', type: 'text', maxlength: 64, autocomplete: 'off', placeholder: 'e.g. lr-search' });
    const methodSel = h('select', { id: 's-method' }, h('option', { value: 'random' }, 'random (seeded)'), h('option', { value: 'grid' }, 'grid (every combination)'));
    const maxTrials = num('s-max_trials', 8, { min: 1, max: 1000, step: 1 });
    const maxConc = num('s-max_concurrent', 2, { min: 1, max: 64, step: 1 });
    const seed = num('s-seed', 1, { min: 0, step: 1 });
    const stopSel = h('select', { id: 's-stopping' }, h('option', { value: 'asha' }, 'ASHA'),
        h('option', { value: 'median' }, 'median stopping'), h('option', { value: 'none' }, 'none'));
    const minEpochs = num('s-min_epochs', 1, { min: 1, step: 1 });
    const maxEpochs = num('s-max_epochs', 9, { min: 1, step: 1 });
    const factor = num('s-reduction_factor', 3, { min: 2, step: 1 });
    const grace = num('s-grace_epochs', 1, { min: 0, step: 1 });
    const minTrials = num('s-min_trials', 3, { min: 1, step: 1 });
    const keepAll = h('input', { type: 'checkbox', id: 's-keep' });
    const params = h('tbody', {});
    const submit = h('button', { type: 'submit', id: 'submit-sweep', class: 'primary' }, 'Start sweep');

    const f = (field, label, input, help) => h('div', { class: 'field', dataset: { field } },
        h('label', { for: input.id }, label), input,
        help ? h('small', { class: 'help' }, help) : null,
        h('p', { class: 'field-error', hidden: true }));
    const ashaBox = h('div', { class: 'fields' },
        f('early_stopping.min_epochs', 'min_epochs', minEpochs, 'the first rung'),
        f('early_stopping.reduction_factor', 'reduction_factor', factor, 'rungs at min_epochs \u00d7 factor^k; the top 1/factor go on'));
    const medianBox = h('div', { class: 'fields' },
        f('early_stopping.grace_epochs', 'grace_epochs', grace, 'no stopping before this epoch'),
        f('early_stopping.min_trials', 'min_trials', minTrials, 'other trials needed for a median'));
    const budgetBox = f('early_stopping.max_epochs', 'max_epochs', maxEpochs, 'every trial\u2019s budget');

    const form = h('form', { class: 'job-form sweep-form', novalidate: true, 'aria-labelledby': 'new-sweep-title' },
        h('div', { class: 'fields' },
            f('name', 'Name', nameIn), f('job.model', 'Model', modelSel), f('job.dataset', 'Data set', datasetSel),
            f('method', 'Method', methodSel), f('max_trials', 'max_trials', maxTrials, 'random: trials drawn; grid: at most'),
            f('max_concurrent', 'max_concurrent', maxConc, 'trials training at once'), f('seed', 'seed', seed, 'of the random draws')),
        h('fieldset', {}, h('legend', {}, 'Early stopping'),
            h('div', { class: 'fields' }, f('early_stopping.type', 'type', stopSel), budgetBox),
            ashaBox, medianBox),
        h('fieldset', {}, h('legend', {}, 'Settings: fixed, or swept over values or a range'),
            h('div', { class: 'table-scroll' }, h('table', { class: 'sweep-params' },
                h('thead', {}, h('tr', {}, ['setting', 'how', 'value(s)', 'min', 'max', 'distribution', ''].map(x => h('th', { scope: 'col' }, x)))),
                params))),
        h('div', { class: 'form-actions' }, submit,
            h('label', { for: 's-keep', class: 'inline' }, keepAll, ' keep every trial\u2019s checkpoints and per-epoch weights')),
        status);
    const section = h('section', { class: 'panel new-job', id: 'new-sweep' }, h('h2', { id: 'new-sweep-title' }, 'New sweep'), form);
    container.appendChild(section);

    let models = null, alive = true;

    function model() { return models && models.models.find(m => m.name === modelSel.value); }

    function renderStopping() {
        ashaBox.hidden = stopSel.value !== 'asha';
        medianBox.hidden = stopSel.value !== 'median';
        budgetBox.hidden = stopSel.value === 'none';
        const row = params.querySelector('tr[data-setting="epochs"]');
        if (row) row.hidden = stopSel.value !== 'none';
    }

    function renderParams() {
        const m = model();
        if (!m) { replace(params); return; }
        replace(params, m.settings.map(s => {
            const int = s.type === 'integer';
            const how = h('select', { id: `sp-${s.name}-how`, 'aria-label': `${s.name}: fixed or swept` },
                h('option', { value: 'fixed' }, 'fixed'), h('option', { value: 'values' }, 'values'), h('option', { value: 'range' }, 'range'));
            const value = h('input', { id: `sp-${s.name}-value`, type: 'text', value: String(s.default), 'aria-label': `${s.name} value or values`, inputmode: 'decimal' });
            // A range around the default (a decade each way for floats,
            // a factor of 4 for integers), inside the setting's own.
            const spread = int ? 4 : 10;
            const clamp = v => Math.min(s.maximum, Math.max(s.minimum, int ? Math.round(v) : Number(v.toPrecision(3))));
            const lo = num(`sp-${s.name}-min`, s.default > 0 ? clamp(s.default / spread) : s.minimum,
                           { 'aria-label': `${s.name} min`, min: s.minimum, max: s.maximum });
            const hi = num(`sp-${s.name}-max`, s.default > 0 ? clamp(s.default * spread) : s.maximum,
                           { 'aria-label': `${s.name} max`, min: s.minimum, max: s.maximum });
            const dist = h('select', { id: `sp-${s.name}-dist`, 'aria-label': `${s.name} distribution` },
                (int ? ['int_uniform'] : ['uniform', 'log_uniform']).map(d => h('option', { value: d }, d)));
            if (!int && s.minimum > 0 && s.maximum / s.minimum >= 100) dist.value = 'log_uniform';
            const err = h('p', { class: 'field-error', hidden: true });
            const tr = h('tr', { dataset: { setting: s.name, field: `parameters.${s.name}` },
                                 title: s.help || null },
                h('th', { scope: 'row' }, h('code', {}, s.name),
                    h('small', { class: 'help' }, ` ${fmt.setting(s.minimum)}\u2013${fmt.setting(s.maximum)}`)),
                h('td', {}, how), h('td', {}, value, err), h('td', {}, lo), h('td', {}, hi), h('td', {}, dist), h('td', {}));
            const sync = () => {
                const k = how.value;
                tr.dataset.how = k;
                value.disabled = k === 'range';
                lo.disabled = hi.disabled = dist.disabled = k !== 'range';
                if (k === 'values' && value.value === String(s.default)) value.value = '';
                if (k === 'values') value.placeholder = 'e.g. 64, 128, 256';
                if (k === 'fixed' && value.value === '') value.value = String(s.default);
            };
            how.addEventListener('change', sync);
            sync();
            return tr;
        }));
        renderStopping();
    }

    function clearErrors() { clearFormErrors(form, status); }

    /** The element a problem's field names: itself, or the nearest enclosing
     *  name ("parameters.lr.min" -> the lr row; "job.lr" -> the lr row). */
    function fieldError(name, message) {
        let cand = name || '';
        while (cand) {
            let box = form.querySelector(`[data-field="${CSS.escape(cand)}"]`);
            const m = /^(?:job|parameters)\.([A-Za-z0-9_]+)/.exec(cand);
            if (!box && m) box = params.querySelector(`tr[data-setting="${CSS.escape(m[1])}"]`);
            if (box && !box.hidden) {
                const p = box.querySelector('.field-error');
                p.textContent = p.textContent ? `${p.textContent} ${message}` : message;
                p.hidden = false;
                const input = box.querySelector('input:not(:disabled)') || box.querySelector('select');
                if (input) input.setAttribute('aria-invalid', 'true');
                return true;
            }
            const cut = cand.lastIndexOf('.');
            cand = cut > 0 ? cand.slice(0, cut) : '';
        }
        return false;
    }

    function showProblem(err) {
        const pb = err.problem || {};
        const entries = Array.isArray(pb.errors) && pb.errors.length ? pb.errors : [{ field: pb.field, detail: pb.detail }];
        const unplaced = [];
        let placed = 0;
        for (const e of entries) {
            const detail = e.detail || pb.detail || pb.title || `HTTP ${err.status}`;
            if (fieldError(e.field, detail)) placed++;
            else unplaced.push(detail);
        }
        status.className = 'form-status error';
        replace(status, h('strong', {}, err.status ? `Not started (${err.status} ${pb.title || ''}).` : 'Not started.'), ' ',
            placed ? `${placed === 1 ? 'One field needs' : `${placed} fields need`} a change. ` : '', unplaced.join(' '));
        const bad = form.querySelector('[aria-invalid="true"]');
        if (bad) bad.focus();
    }

    function parseList(text) {
        return text.split(/[\s,;]+/).filter(Boolean).map(x => Number(x));
    }

    function buildBody() {
        const m = model();
        const job = { model: modelSel.value };
        if (datasetSel.value) job.dataset = datasetSel.value;
        const parameters = {};
        const local = [];
        for (const s of m ? m.settings : []) {
            const tr = params.querySelector(`tr[data-setting="${CSS.escape(s.name)}"]`);
            if (!tr || tr.hidden) continue;
            const how = tr.dataset.how;
            const text = form.querySelector(`#sp-${CSS.escape(s.name)}-value`).value.trim();
            if (how === 'fixed') {
                if (text === '') continue;
                const v = Number(text);
                if (!Number.isFinite(v)) local.push([`job.${s.name}`, `${s.name} must be a number.`]);
                else if (v !== s.default) job[s.name] = v;
            } else if (how === 'values') {
                const vs = parseList(text);
                if (!vs.length || vs.some(v => !Number.isFinite(v))) local.push([`parameters.${s.name}`, 'Give numbers separated by commas.']);
                else parameters[s.name] = { values: vs };
            } else {
                const lo = form.querySelector(`#sp-${CSS.escape(s.name)}-min`).value;
                const hi = form.querySelector(`#sp-${CSS.escape(s.name)}-max`).value;
                if (lo === '' || hi === '' || !Number.isFinite(Number(lo)) || !Number.isFinite(Number(hi)))
                    local.push([`parameters.${s.name}`, 'Give a min and a max.']);
                else parameters[s.name] = { min: Number(lo), max: Number(hi),
                    distribution: form.querySelector(`#sp-${CSS.escape(s.name)}-dist`).value };
            }
        }
        const body = { job, parameters, method: methodSel.value, metric: 'val_loss' };
        const name = nameIn.value.trim();
        if (name) body.name = name;
        const intOf = (el, key) => {
            if (el.value === '') return;
            const v = Number(el.value);
            if (!Number.isFinite(v)) local.push([key, 'Give a number.']);
            return v;
        };
        const put = (obj, key, el, field) => { const v = intOf(el, field); if (v !== undefined) obj[key] = v; };
        put(body, 'max_trials', maxTrials, 'max_trials');
        put(body, 'max_concurrent', maxConc, 'max_concurrent');
        if (methodSel.value === 'random') put(body, 'seed', seed, 'seed');
        const es = { type: stopSel.value };
        if (es.type !== 'none') put(es, 'max_epochs', maxEpochs, 'early_stopping.max_epochs');
        if (es.type === 'asha') {
            put(es, 'min_epochs', minEpochs, 'early_stopping.min_epochs');
            put(es, 'reduction_factor', factor, 'early_stopping.reduction_factor');
        } else if (es.type === 'median') {
            put(es, 'grace_epochs', grace, 'early_stopping.grace_epochs');
            put(es, 'min_trials', minTrials, 'early_stopping.min_trials');
        }
        body.early_stopping = es;
        if (keepAll.checked) body.keep = 'all';
        return { body, local };
    }

    form.addEventListener('submit', async e => {
        e.preventDefault();
        clearErrors();
        const { body, local } = buildBody();
        if (local.length) {
            for (const [field, msg] of local) fieldError(field, msg);
            status.className = 'form-status error';
            replace(status, h('strong', {}, 'Not started.'), ' A field needs a change.');
            return;
        }
        submit.disabled = true;
        replace(status, 'Starting\u2026');
        try {
            const sw = await api.createSweep(body);
            if (!alive) return;
            status.className = 'form-status ok';
            replace(status, 'Sweep ', h('a', { href: `#/sweeps/${sw.id}`, id: 'new-sweep-link' }, String(sw.id)), ' started.');
            if (onCreated) onCreated(sw);
        } catch (err) {
            if (!alive) return;
            if (err instanceof ApiError) showProblem(err);
            else { status.className = 'form-status error'; replace(status, String(err)); }
        } finally {
            submit.disabled = false;
        }
    });

    modelSel.addEventListener('change', () => { clearErrors(); renderParams(); });
    stopSel.addEventListener('change', renderStopping);
    methodSel.addEventListener('change', () => { seed.disabled = methodSel.value !== 'random'; });

    ctx.models().then(m => {
        if (!alive) return;
        models = m;
        fillModelChoices(modelSel, datasetSel, m);
        renderParams();
        form.setAttribute('data-ready', 'true');
    }).catch(err => {
        if (!alive) return;
        status.className = 'form-status error';
        replace(status, `Could not load the models from api/models: ${err.message}`);
    });

    return () => { alive = false; section.remove(); };
}
