/*
 * job_form.js - the new-job form.
 *
 * Owns: building the form from api/models (models, data sets, and each
 * model's settings with their defaults, ranges and help; nothing is
 * hard-coded here), submitting it as a JobSpec, and showing the API's
 * problem+json errors next to the fields they name.  Does not own:
 * validation rules; the daemon is the one judge (the form is novalidate,
 * min/max only drive the spinners), so the page can never disagree with
 * the API about what is allowed.
 *
 * Design: only settings the user changed from the model's default are
 * sent, so the daemon's defaults stay authoritative.  One Idempotency-Key
 * per distinct body makes a retry after a network failure safe.
 */
import { api, ApiError, newKey } from './api.js';
import { h, replace } from './dom.js';
import * as fmt from './format.js';
import { clearFormErrors, fillModelChoices } from './form_util.js';

/**
 * mount(container, ctx, {onCreated(job)}) -> clean-up function.
 */
export function mount(container, ctx, { onCreated } = {}) {
    const status = h('div', { class: 'form-status', role: 'status', 'aria-live': 'polite' });
    const fields = h('div', { class: 'fields settings-fields' });
    const modelSel = h('select', { id: 'f-model', name: 'model', 'aria-describedby': 'err-model' });
    const datasetSel = h('select', { id: 'f-dataset', name: 'dataset', 'aria-describedby': 'err-dataset' });
    const nameIn = h('input', { id: 'f-name', name: 'name', type: 'text', maxlength: 100,
                                autocomplete: 'off', placeholder: 'optional label',
                                'aria-describedby': 'err-name' });
    const submit = h('button', { type: 'submit', id: 'submit-job', class: 'primary' }, 'Submit job');
    const reset = h('button', { type: 'button', onclick: () => { edited.clear(); renderSettings(); clearErrors(); } },
                    'Reset to defaults');
    const modelInfo = h('p', { class: 'model-info', id: 'model-info' });
    const form = h('form', { class: 'job-form', novalidate: true, 'aria-labelledby': 'new-job-title' },
        h('div', { class: 'fields' },
            field('model', 'Model', modelSel, null),
            field('dataset', 'Data set', datasetSel, null),
            field('name', 'Name', nameIn, null)),
        modelInfo,
        h('fieldset', {}, h('legend', {}, 'Settings'), fields),
        h('div', { class: 'form-actions' }, submit, reset),
        status);
    const section = h('section', { class: 'panel new-job', id: 'new-job' },
        h('h2', { id: 'new-job-title' }, 'New job'), form);
    container.appendChild(section);

    let models = null;
    const edited = new Map();       // setting name -> text the user typed
    let last = { body: null, key: null };
    let alive = true;

    function field(name, label, input, help) {
        const helpId = `help-${name}`;
        if (help) input.setAttribute('aria-describedby', `${helpId} err-${name}`);
        return h('div', { class: 'field', dataset: { field: name } },
            h('label', { for: input.id }, label),
            input,
            help ? h('small', { id: helpId, class: 'help' }, help) : null,
            h('p', { class: 'field-error', id: `err-${name}`, hidden: true }));
    }

    function currentModel() {
        return models && models.models.find(m => m.name === modelSel.value);
    }

    function renderSettings() {
        const m = currentModel();
        if (!m) { replace(fields); replace(modelInfo); return; }
        replace(modelInfo, `${m.name}: ${fmt.int(m.params)} trainable parameters with these defaults`,
                m.code_dim ? `, code size ${m.code_dim}` : '', '.');
        replace(fields, m.settings.map(s => {
            const step = s.type === 'integer' ? '1' : 'any';
            const input = h('input', {
                id: `f-${s.name}`, name: s.name, type: 'number', inputmode: s.type === 'integer' ? 'numeric' : 'decimal',
                min: s.minimum, max: s.maximum, step,
                value: edited.has(s.name) ? edited.get(s.name) : String(s.default),
                oninput: () => edited.set(s.name, input.value),
            });
            const help = `${s.help ? s.help + ' ' : ''}(${fmt.setting(s.minimum)} to ${fmt.setting(s.maximum)}, default ${fmt.setting(s.default)})`;
            return field(s.name, s.name, input, help);
        }));
    }

    function clearErrors() { clearFormErrors(form, status); }

    /** Put message next to the field named name; false if there is none. */
    function fieldError(name, message) {
        if (!name) return false;
        const box = form.querySelector(`.field[data-field="${CSS.escape(name)}"]`);
        if (!box) return false;
        const p = box.querySelector('.field-error');
        p.textContent = p.textContent ? `${p.textContent} ${message}` : message;
        p.hidden = false;
        const input = box.querySelector('input, select');
        if (input) input.setAttribute('aria-invalid', 'true');
        return true;
    }

    function showProblem(err) {
        const pb = err.problem || {};
        const entries = Array.isArray(pb.errors) && pb.errors.length ? pb.errors
                      : [{ field: pb.field, detail: pb.detail, code: pb.code }];
        const unplaced = [];
        let placed = 0;
        for (const e of entries) {
            let detail = e.detail || pb.detail || pb.title || `HTTP ${err.status}`;
            if (fieldError(e.field, detail)) placed++;
            else unplaced.push(detail);
        }
        const valid = Array.isArray(pb.valid) && pb.valid.length ? ` Valid: ${pb.valid.join(', ')}.` : '';
        status.className = 'form-status error';
        const retry = err.headers && err.headers.get && err.headers.get('Retry-After');
        replace(status,
            h('strong', {}, err.status ? `Not submitted (${err.status} ${pb.title || ''}).` : 'Not submitted.'),
            ' ',
            placed ? `${placed === 1 ? 'One field needs' : `${placed} fields need`} a change: see below the field${placed === 1 ? '' : 's'}. ` : '',
            unplaced.join(' '), valid,
            retry ? ` Try again in ${retry} s.` : '');
        const bad = form.querySelector('[aria-invalid="true"]');
        if (bad) bad.focus();
    }

    function buildBody() {
        const m = currentModel();
        const body = { model: modelSel.value };
        if (datasetSel.value) body.dataset = datasetSel.value;
        const name = nameIn.value.trim();
        if (name) body.name = name;
        const local = [];
        for (const s of m ? m.settings : []) {
            const input = form.querySelector(`#f-${CSS.escape(s.name)}`);
            if (!input) continue;
            if (input.validity.badInput) { local.push([s.name, `${s.name} must be a number.`]); continue; }
            if (input.value === '') continue;          // the default
            const v = Number(input.value);
            if (v !== s.default) body[s.name] = v;
        }
        return { body, local };
    }

    form.addEventListener('submit', async (e) => {
        e.preventDefault();
        clearErrors();
        const { body, local } = buildBody();
        if (local.length) {
            for (const [name, msg] of local) fieldError(name, msg);
            status.className = 'form-status error';
            replace(status, h('strong', {}, 'Not submitted.'), ' A field is not a number.');
            return;
        }
        const text = JSON.stringify(body);
        if (last.body !== text) last = { body: text, key: newKey() };
        submit.disabled = true;
        replace(status, 'Submitting\u2026');
        try {
            const job = await api.create(body, last.key);
            if (!alive) return;
            last = { body: null, key: null };
            status.className = 'form-status ok';
            replace(status, 'Job ', h('a', { href: `#/jobs/${job.id}` }, `${job.id}`), ` (${job.model}) submitted; the table follows it.`);
            if (onCreated) onCreated(job);
        } catch (err) {
            if (!alive) return;
            if (err instanceof ApiError) showProblem(err);
            else { status.className = 'form-status error'; replace(status, String(err)); }
        } finally {
            submit.disabled = false;
        }
    });

    modelSel.addEventListener('change', () => { clearErrors(); renderSettings(); });

    ctx.models().then(m => {
        if (!alive) return;
        models = m;
        fillModelChoices(modelSel, datasetSel, m);
        renderSettings();
        // Not form.dataset: the form's "dataset" field shadows that property.
        form.setAttribute('data-ready', 'true');
    }).catch(err => {
        if (!alive) return;
        status.className = 'form-status error';
        replace(status, `Could not load the models from api/models: ${err.message}`);
    });

    return () => { alive = false; section.remove(); };
}
