// Threads (through the GET /v1/threads extension): browse, filter by metadata, and
// read a thread's messages, runs and steps.
import { get } from "./api.js";
import { cursor, h, pager, when } from "./ui.js";

export async function threadsPage(main, [selected]) {
  main.append(h("h1", {}, "Threads"));
  const key = h("input", { placeholder: "metadata key", "aria-label": "Metadata key" });
  const value = h("input", { placeholder: "value", "aria-label": "Metadata value" });
  const list = h("div");
  const detail = h("div");
  const filter = h("form", { class: "row" }, key, value, h("button", { type: "submit" }, "Filter"));
  filter.addEventListener("submit", (e) => { e.preventDefault(); load([]); });
  main.append(h("div", { class: "grid" }, h("div", {}, filter, list), detail));

  async function load(history) {
    const params = { limit: 20, ...cursor(history) };
    if (key.value.trim()) params[`metadata[${key.value.trim()}]`] = value.value;
    const page = await get("/threads", params);
    list.replaceChildren(
      h("table", {}, h("tbody", {}, page.data.map((t) => h("tr", {},
        h("td", {}, h("a", { href: `#/threads/${t.id}`, class: "mono" }, t.id),
          Object.keys(t.metadata).length ? h("div", { class: "muted mono" }, JSON.stringify(t.metadata)) : null),
        h("td", { class: "muted" }, when(t.created_at)))))),
      page.data.length ? null : h("p", { class: "muted" }, "No threads."),
      pager(page, history, load));
  }

  async function show(threadId) {
    const [messages, runs] = await Promise.all([
      get(`/threads/${threadId}/messages`, { limit: 100, order: "asc" }),
      get(`/threads/${threadId}/runs`, { limit: 20 }),
    ]);
    const runRows = await Promise.all(runs.data.map(async (r) => {
      const steps = await get(`/threads/${threadId}/runs/${r.id}/steps`, { limit: 100, order: "asc" });
      return h("div", { class: "card" },
        h("div", {}, h("span", { class: "mono" }, r.id), ` ${r.status} · ${r.model}`,
          r.usage ? ` · ${r.usage.total_tokens} tokens` : "", r.last_error ? h("div", { class: "error" }, r.last_error.message) : null),
        h("ul", {}, steps.data.map((s) => h("li", {}, `${s.type} ${s.status}`,
          s.step_details.type === "tool_calls"
            ? h("pre", { class: "mono" }, JSON.stringify(s.step_details.tool_calls, null, 1).slice(0, 2000)) : null))));
    }));
    detail.replaceChildren(h("h2", {}, threadId),
      h("h2", {}, "Messages"),
      h("div", {}, messages.data.map((m) => h("div", { class: `msg ${m.role}` },
        h("div", { class: "muted" }, m.role),
        m.content.map((p) => p.type === "text" ? p.text.value : `[${p.type}]`)))),
      h("h2", {}, "Runs"), runRows.length ? runRows : h("p", { class: "muted" }, "No runs."));
  }

  await load([]);
  if (selected) await show(selected);
}
