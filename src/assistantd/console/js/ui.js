// Small DOM helpers: h() builds elements, and errors are shown where they belong.

export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2).toLowerCase(), value);
    else if (name === "class") el.className = value;
    else if (name in el && typeof value !== "string") el[name] = value;
    else el.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

// A control with a label of its own (`for`), so the label names only the control.
let ids = 0;
export function labeled(text, control) {
  control.id ||= `f${++ids}`;
  return h("div", { class: "field" }, h("label", { for: control.id }, text), control);
}

export function banner(message) {
  const el = document.getElementById("banner");
  el.textContent = message || "";
  el.hidden = !message;
}

// Show an API error next to the field its `param` names (the form's element with a
// matching data-param, or the closest prefix), else above the form.
export function showError(form, error) {
  clearErrors(form);
  const param = error.param || "";
  // `tools[0].function.name` → `tools[0].function` → `tools[0]` → `tools`.
  const parent = (p) => p.replace(/(\.[^.]*|\[[^\]]*\])$/, "");
  let field = null;
  for (let p = param; p && !field; p = parent(p) === p ? "" : parent(p)) {
    field = form.querySelector(`[data-param="${CSS.escape(p)}"]`);
  }
  const note = h("p", { class: "error", role: "alert", "data-error-for": param || "form" }, error.message);
  if (field) {
    field.classList.add("field-error");
    field.setAttribute("aria-invalid", "true");
    field.after(note);
    field.focus();
  } else {
    form.prepend(note);
  }
}

export function clearErrors(form) {
  form.querySelectorAll(".error[data-error-for]").forEach((el) => el.remove());
  form.querySelectorAll(".field-error").forEach((el) => {
    el.classList.remove("field-error");
    el.removeAttribute("aria-invalid");
  });
}

export function when(seconds) {
  return seconds ? new Date(seconds * 1000).toLocaleString() : "";
}

// Keyset paging: `history` holds the `after` cursor of each page before this one.
export function pager(page, history, load) {
  return h("div", { class: "row pager" },
    h("button", { type: "button", disabled: !history.length, onclick: () => load(history.slice(0, -1)) }, "← Previous"),
    h("button", { type: "button", disabled: !page.has_more, onclick: () => load([...history, page.last_id]) }, "Next →"));
}

export function cursor(history) {
  return history.length ? { after: history[history.length - 1] } : {};
}
