// Assistants: list, create, edit every field, delete.
import { del, get, post } from "./api.js";
import { clearErrors, cursor, h, labeled, pager, showError } from "./ui.js";

function json(text, param, fallback) {
  if (!text.trim()) return fallback;
  try {
    return JSON.parse(text);
  } catch (e) {
    const error = new Error(`Invalid JSON: ${e.message}`);
    error.param = param;
    throw error;
  }
}

function ids(text) {
  return text.split(/[\s,]+/).filter(Boolean);
}

// The API counts tools across the whole list, built-in ones first; the form has the
// functions in a box of their own. `tools[2].function.name` with two built-ins ticked is
// the first function's name: say so, at that box.
function inFunctions(error, builtins) {
  const at = /^tools\[(\d+)\](.*)$/.exec(error.param || "");
  if (!at || Number(at[1]) < builtins) return error;
  const n = Number(at[1]) - builtins;
  const where = at[2].replace(/^\.function\.?/, "") || "definition";
  // The API's message names the param too ("Invalid 'tools[2]...': why"): keep the why.
  const why = error.message.replace(`Invalid '${error.param}': `, "");
  const named = new Error(`Function ${n + 1}, ${where}: ${why}`);
  named.param = "tools.functions";
  return named;
}

// The form for one assistant (`a` null: a new one); resolves with the saved assistant.
export async function assistantForm(a, onSaved) {
  const models = (await get("/models")).data.map((m) => m.id);
  const tools = a?.tools || [];
  const has = (type) => tools.some((t) => t.type === type);
  const functions = tools.filter((t) => t.type === "function").map((t) => t.function);
  const format = a?.response_format;
  const formatType = typeof format === "object" && format ? format.type : "auto";
  const field = (label, param, input) => labeled(label, input(param));
  const text = (name, value, extra = {}) => (param) =>
    h("input", { name, value: value ?? "", "data-param": param, ...extra });
  const area = (name, value) => (param) => h("textarea", { name, "data-param": param }, value ?? "");
  const modelInput = (param) => h("select", { name: "model", "data-param": param },
    [...new Set([...(a ? [a.model] : []), ...models])].map((m) => h("option", { value: m, selected: a?.model === m }, m)));
  // novalidate: the server checks every field, and its 400 names the one at fault.
  const form = h("form", { class: "card", novalidate: true, "aria-label": a ? `Edit ${a.id}` : "New assistant" },
    h("h2", {}, a ? `Edit ${a.name || a.id}` : "New assistant"),
    field("Name", "name", text("name", a?.name)),
    field("Model", "model", modelInput),
    field("Instructions", "instructions", area("instructions", a?.instructions)),
    field("Description", "description", text("description", a?.description)),
    h("fieldset", { "data-param": "tools" }, h("legend", {}, "Tools"),
      h("label", { class: "check" }, h("input", { type: "checkbox", name: "code_interpreter", checked: has("code_interpreter") }), " code_interpreter"),
      h("label", { class: "check" }, h("input", { type: "checkbox", name: "file_search", checked: has("file_search") }), " file_search"),
      field("Functions (JSON array of {name, description, parameters})", "tools.functions",
        area("functions", functions.length ? JSON.stringify(functions, null, 2) : ""))),
    field("code_interpreter file ids", "tool_resources.code_interpreter",
      text("ci_files", (a?.tool_resources?.code_interpreter?.file_ids || []).join(", "))),
    field("file_search vector store ids", "tool_resources.file_search",
      text("vs_ids", (a?.tool_resources?.file_search?.vector_store_ids || []).join(", "))),
    field("Response format", "response_format", (param) => h("select", { name: "format", "data-param": param },
      ["auto", "text", "json_object", "json_schema"].map((t) => h("option", { value: t, selected: t === formatType }, t)))),
    field("JSON schema (for json_schema: {name, schema, strict})", "response_format.json_schema",
      area("schema", formatType === "json_schema" ? JSON.stringify(format.json_schema, null, 2) : "")),
    h("div", { class: "row" },
      field("Temperature", "temperature", text("temperature", a?.temperature, { type: "number", step: "0.1", min: "0", max: "2" })),
      field("top_p", "top_p", text("top_p", a?.top_p, { type: "number", step: "0.05", min: "0", max: "1" }))),
    field("Metadata (JSON object)", "metadata", area("metadata", a && Object.keys(a.metadata || {}).length ? JSON.stringify(a.metadata, null, 2) : "")),
    h("div", { class: "row" }, h("button", { type: "submit", class: "primary" }, a ? "Save" : "Create")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const f = form.elements;
    try {
      const body = {
        name: f.name.value || null,
        model: f.model.value,
        instructions: f.instructions.value || null,
        description: f.description.value || null,
        tools: [
          ...(f.code_interpreter.checked ? [{ type: "code_interpreter" }] : []),
          ...(f.file_search.checked ? [{ type: "file_search" }] : []),
          ...json(f.functions.value, "tools.functions", []).map((fn) => ({ type: "function", function: fn })),
        ],
        tool_resources: {
          code_interpreter: { file_ids: ids(f.ci_files.value) },
          file_search: { vector_store_ids: ids(f.vs_ids.value) },
        },
        metadata: json(f.metadata.value, "metadata", {}),
      };
      if (f.temperature.value !== "") body.temperature = Number(f.temperature.value);
      if (f.top_p.value !== "") body.top_p = Number(f.top_p.value);
      const type = f.format.value;
      if (type === "json_schema") body.response_format = { type, json_schema: json(f.schema.value, "response_format.json_schema", {}) };
      else body.response_format = type === "auto" ? "auto" : { type };
      const saved = await post(a ? `/assistants/${a.id}` : "/assistants", body);
      onSaved(saved);
    } catch (error) {
      showError(form, inFunctions(error, f.code_interpreter.checked + f.file_search.checked));
    }
  });
  return form;
}

export async function assistantsPage(main, [selected]) {
  main.append(h("h1", {}, "Assistants"));
  const list = h("div");
  const side = h("div");
  main.append(h("div", { class: "grid" }, h("div", {}, h("button", { type: "button", class: "primary", onclick: () => edit(null) }, "New assistant"), list), side));

  async function edit(a) {
    side.replaceChildren(await assistantForm(a, (saved) => { load([]); edit(saved); }));
    side.querySelector("input, select, textarea")?.focus();
  }

  async function load(history) {
    const page = await get("/assistants", { limit: 20, ...cursor(history) });
    list.replaceChildren(
      h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "Name"), h("th", {}, "Model"), h("th", {}))),
        h("tbody", {}, page.data.map((a) => h("tr", {},
          h("td", {}, h("button", { type: "button", class: "link", onclick: () => edit(a) }, a.name || a.id)),
          h("td", { class: "mono" }, a.model),
          h("td", {}, h("button", { type: "button", class: "danger", "aria-label": `Delete ${a.name || a.id}`,
            onclick: async () => { if (confirm(`Delete ${a.name || a.id}?`)) { await del(`/assistants/${a.id}`); load(history); side.replaceChildren(); } } }, "Delete")))))),
      pager(page, history, load));
  }
  await load([]);
  if (selected) edit(await get(`/assistants/${selected}`));
}
