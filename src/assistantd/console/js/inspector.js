// The run inspector, beside the playground's chat: what each run of the thread did, read
// back from the API's own objects (so it is the same after the thread is reopened), with
// the timings this page saw while it watched a run stream.
import { get } from "./api.js";
import { image } from "./render.js";
import { h } from "./ui.js";

// file_search results carry their text only when asked for.
const INCLUDE = "step_details.tool_calls[*].file_search.results[*].content";

function seconds(from, to) {
  return from && to ? `${Math.max(0, to - from)} s` : "–";
}

function ms(value) {
  return value === undefined ? null : value < 1000 ? `${Math.round(value)} ms` : `${(value / 1000).toFixed(1)} s`;
}

function usage(u) {
  return u ? `${u.prompt_tokens} in · ${u.completion_tokens} out · ${u.total_tokens} total` : "–";
}

function raw(object) {
  return h("details", { class: "raw" }, h("summary", {}, `JSON of ${object.id}`),
    h("pre", { class: "mono" }, JSON.stringify(object, null, 2)));
}

function pairs(rows) {
  return h("dl", { class: "pairs" }, rows.filter(([, v]) => v !== null).flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

function callView(call) {
  if (call.type === "function") {
    const output = call.function.output;
    return h("div", { class: "inspected-call", "data-type": "function" },
      h("div", {}, h("strong", {}, `function ${call.function.name}`), h("span", { class: "muted mono" }, ` ${call.id}`)),
      h("div", { class: "muted" }, "arguments"), h("pre", { class: "mono" }, call.function.arguments),
      h("div", { class: "muted" }, "output submitted"),
      output === null || output === undefined ? h("p", { class: "muted" }, "(none yet)") : h("pre", { class: "mono", "data-output": "" }, output));
  }
  if (call.type === "file_search") {
    const results = call.file_search?.results || [];
    const ranking = call.file_search?.ranking_options;
    return h("div", { class: "inspected-call", "data-type": "file_search" },
      h("strong", {}, "file_search"),
      ranking ? h("div", { class: "muted" }, `ranker ${ranking.ranker}, score threshold ${ranking.score_threshold}`) : null,
      h("ol", { class: "results" }, results.map((r) => h("li", {},
        h("span", {}, r.file_name), h("span", { class: "muted" }, ` score ${r.score.toFixed(3)}`),
        r.content?.length ? h("div", { class: "muted snippet" }, r.content.map((c) => c.text).join(" ").slice(0, 240)) : null))),
      results.length ? null : h("p", { class: "muted" }, "No results."));
  }
  if (call.type === "code_interpreter") {
    const ci = call.code_interpreter;
    return h("div", { class: "inspected-call", "data-type": "code_interpreter" },
      h("strong", {}, "code_interpreter"),
      h("div", { class: "muted" }, "input"), h("pre", { class: "mono input" }, ci.input),
      h("div", { class: "muted" }, "outputs"),
      ci.outputs.map((o) => (o.type === "logs" ? h("pre", { class: "mono logs" }, o.logs) : image(o.image.file_id))));
  }
  return h("div", { class: "inspected-call" }, call.type);
}

function stepView(step) {
  const details = step.step_details;
  return h("div", { class: "inspected-step", "data-step-type": details.type, "data-step-id": step.id },
    h("div", {}, h("strong", {}, details.type === "tool_calls" ? "tool calls" : "message"), ` · ${step.status}`,
      h("span", { class: "muted" }, ` · ${usage(step.usage)}`)),
    details.type === "message_creation"
      ? h("div", { class: "muted mono" }, `wrote ${details.message_creation.message_id}`)
      : details.tool_calls.map(callView),
    step.last_error ? h("div", { class: "error" }, `${step.last_error.code}: ${step.last_error.message}`) : null,
    raw(step));
}

function itemSummary(item) {
  if (item.type === "message") {
    const text = (item.content || []).map((c) => c.text || (c.type === "input_file" ? `[${c.file_id}]` : "")).join(" ");
    return `${item.role}: ${text.slice(0, 120)}`;
  }
  if (item.type === "function_call") return `${item.name}(${item.arguments})`;
  if (item.type === "function_call_output") return `→ ${String(item.output).slice(0, 120)}`;
  return item.status || "";
}

// A response streamed here: its outcome, the events that carried it, its output items,
// and the conversation's items as the API now lists them.
function responseView(response, events, items) {
  return h("details", { class: "run response", "data-response-id": response.id, "data-status": response.status, open: true },
    h("summary", {}, h("strong", {}, response.status), ` · ${response.model} · `, h("span", { class: "mono" }, response.id)),
    pairs([
      ["usage", response.usage ? `${response.usage.input_tokens} in · ${response.usage.output_tokens} out · ${response.usage.total_tokens} total` : "–"],
      ["output", response.output.map((i) => i.type).join(", ") || "–"],
    ]),
    response.error ? h("div", { class: "error", role: "note" }, `${response.error.code}: ${response.error.message}`) : null,
    h("div", { class: "muted" }, "streaming events"),
    h("ol", { class: "events" }, [...events].map(([name, n]) => h("li", { class: "mono" }, `${name}${n > 1 ? ` ×${n}` : ""}`))),
    h("div", { class: "muted" }, "conversation items (newest first)"),
    h("ol", { class: "items" }, items.map((i) => h("li", { "data-item-type": i.type }, h("span", { class: "mono" }, i.type), ` ${itemSummary(i)}`))),
    raw(response));
}

export function runInspector() {
  const list = h("div", { class: "runs" });
  const responses = h("div", { class: "responses" });
  const el = h("section", { class: "inspector card", "aria-label": "Run inspector" }, h("h2", {}, "Runs"), responses, list);
  const seen = new Map(); // run id → { sent, first, ended } in ms, for runs watched here
  let thread = null;

  function runView(run, steps, open) {
    const watched = seen.get(run.id) || {};
    const ended = run.completed_at || run.failed_at || run.cancelled_at || run.expired_at;
    const firstStep = steps[0]?.created_at;
    const trouble = run.last_error
      ? `${run.last_error.code}: ${run.last_error.message}`
      : run.incomplete_details ? `incomplete: ${run.incomplete_details.reason}` : null;
    return h("details", { class: "run", "data-run-id": run.id, "data-status": run.status, open },
      h("summary", {}, h("strong", {}, run.status), ` · ${run.model} · `, h("span", { class: "mono" }, run.id)),
      pairs([
        ["queued", seconds(run.created_at, run.started_at)],
        ["first token", ms(watched.first !== undefined ? watched.first - watched.sent : undefined) ?? `≈ ${seconds(run.started_at, firstStep)}`],
        ["total", ms(watched.ended !== undefined ? watched.ended - watched.sent : undefined) ?? seconds(run.created_at, ended)],
        ["usage", usage(run.usage)],
        ["tool_choice", typeof run.tool_choice === "string" ? run.tool_choice : JSON.stringify(run.tool_choice)],
      ]),
      trouble ? h("div", { class: "error", role: "note" }, trouble) : null,
      steps.map(stepView),
      raw(run));
  }

  return {
    el,
    // Timings as this page saw them: the request sent, the first token, the end.
    sent(runId, at) { if (!seen.has(runId)) seen.set(runId, { sent: at }); }, // its first request
    first(runId, at) { const s = seen.get(runId); if (s && s.first === undefined) s.first = at; },
    ended(runId, at) { const s = seen.get(runId); if (s && s.ended === undefined) s.ended = at; },
    // A response just streamed (events: name → count, in order of first arrival).
    async response(response, events, conversation) {
      const items = await get(`/conversations/${conversation}/items`, { limit: 20, order: "desc" });
      responses.replaceChildren(responseView(response, events, items.data));
    },
    async show(threadId) {
      if (threadId !== thread) responses.replaceChildren();
      thread = threadId;
      if (!thread) { list.replaceChildren(h("p", { class: "muted" }, "No run yet.")); return; }
      const runs = await get(`/threads/${thread}/runs`, { limit: 20 });
      const steps = await Promise.all(runs.data.map((r) =>
        get(`/threads/${thread}/runs/${r.id}/steps`, { limit: 100, order: "asc", "include[]": INCLUDE })));
      if (thread !== threadId) return; // another thread was opened meanwhile
      list.replaceChildren(...runs.data.map((r, i) => runView(r, steps[i].data, i === 0)),
        runs.data.length ? "" : h("p", { class: "muted" }, "No run yet."));
    },
  };
}
