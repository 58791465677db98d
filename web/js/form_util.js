/*
 * form_util.js - what the new-job form (job_form.js) and the new-sweep form
 * (sweep_form.js) share: clearing the errors shown beside fields, and
 * filling the model and data set choices from an /api/models answer.
 */
import { h, replace } from './dom.js';

/** Hide every field error of form, drop aria-invalid, empty status. */
export function clearFormErrors(form, status) {
    for (const p of form.querySelectorAll('.field-error')) { p.hidden = true; p.textContent = ''; }
    for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
    replace(status);
    status.className = 'form-status';
}

/** One option per model (the first, in the API's order, chosen) and per
 *  data set (those not installed disabled; the default chosen). */
export function fillModelChoices(modelSel, datasetSel, m) {
    replace(modelSel, m.models.map(x => h('option', { value: x.name }, x.name)));
    if (m.models.length) modelSel.value = m.models[0].name;
    replace(datasetSel, m.datasets.map(d => h('option', { value: d.name, disabled: !d.installed },
                                              d.installed ? d.name : `${d.name} (not installed)`)));
    datasetSel.value = m.default_dataset;
}
