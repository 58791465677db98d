/*
 * dom.js - the dashboard's only DOM helpers: build elements, clear them.
 *
 * Owns: h(), a tiny element builder (no virtual DOM, no templates), and
 * text-only updates.  Does not own: rendering policy; each page decides
 * what to rebuild and what to update in place.
 *
 * Design: text always goes in through text nodes / textContent, never
 * innerHTML, so job names, API details and model summaries (all outside
 * input) can never inject markup.
 */

// Properties that must be set as properties, not attributes, to take effect.
const PROPS = new Set(['value', 'checked', 'disabled', 'selected', 'hidden', 'indeterminate']);

/** h('a', {href: '#/jobs/1', class: 'x', onclick: fn}, 'text', child, [more]) */
export function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
        if (v === undefined || v === null || v === false) continue;
        if (k === 'class') el.className = v;
        else if (k === 'dataset') Object.assign(el.dataset, v);
        else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
        else if (PROPS.has(k)) el[k] = v;
        else el.setAttribute(k, v === true ? '' : String(v));
    }
    append(el, children);
    return el;
}

function append(el, children) {
    for (const c of children) {
        if (c === undefined || c === null || c === false) continue;
        if (Array.isArray(c)) append(el, c);
        else if (c instanceof Node) el.appendChild(c);
        else el.appendChild(document.createTextNode(String(c)));
    }
}

/** Replace all children of el. */
export function replace(el, ...children) {
    el.replaceChildren();
    append(el, children);
    return el;
}

/** Set text only when it changed (keeps selection and avoids layout work). */
export function setText(el, text) {
    const s = String(text);
    if (el.textContent !== s) el.textContent = s;
}

/** Run fn at most once per animation frame, however often it is asked for. */
export function coalesce(fn) {
    let pending = false;
    return () => {
        if (pending) return;
        pending = true;
        requestAnimationFrame(() => { pending = false; fn(); });
    };
}
