// The playground's conversation: a thread's messages and tool calls as they stream in
// (follow) or as they were (reopen), and the form that answers a run's function calls.
import { get, stream } from "./api.js";
import { image, markEnded, renderContent } from "./render.js";
import { h, showError } from "./ui.js";

// The form that answers function calls, one output field each, sent together by
// `send(outputs)` (calls and outputs by `id`): runs and Responses both use it.
export function outputsForm(calls, send) {
  const form = h("form", { class: "step", "aria-label": "Submit tool outputs" },
    h("strong", {}, "The assistant called your functions"),
    calls.map((c) => h("label", {}, `${c.name}(${c.arguments})`,
      h("textarea", { name: c.id, "data-param": "tool_outputs", "aria-label": `Output of ${c.name}` }))),
    h("button", { type: "submit", class: "primary" }, "Submit outputs"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const outputs = calls.map((c) => ({ id: c.id, output: form.elements[c.id].value }));
    form.querySelector("button").disabled = true;
    try {
      await send(outputs);
      form.replaceWith(h("div", { class: "step muted" }, "Outputs submitted."));
    } catch (error) {
      form.querySelector("button").disabled = false;
      showError(form, error);
    }
  });
  return form;
}

// hooks: run(event, run) for every run event; first(runId) at the first token or step;
// ended(run) once a followed stream is over (the last run seen, or null).
export function conversation(hooks) {
  const el = h("div", { class: "chat", role: "log", "aria-live": "polite", "aria-label": "Conversation" });
  let controller = null;

  function attached(names) {
    return names.length ? h("div", { class: "muted attached" }, `attached: ${names.join(", ")}`) : null;
  }

  function messageView(m, names = []) {
    const bubble = h("div", { class: `msg ${m.role}`, "data-message-id": m.id });
    renderContent(bubble, m.content);
    markEnded(bubble, m);
    const shown = attached(names);
    if (shown) bubble.append(shown);
    return bubble;
  }

  function stepBox(id) {
    return { el: h("div", { class: "step", "data-step-id": id }, h("strong", {}, "Tool calls")), calls: [] };
  }

  function callBox(step, index, type) {
    if (!step.calls[index]) {
      const box = { el: h("div", { class: "call", "data-type": type }, h("div", { class: "muted" }, type)), input: h("pre", { class: "input" }), out: h("div", { class: "outputs" }) };
      box.el.append(box.input, box.out);
      step.el.append(box.el);
      step.calls[index] = box;
    }
    return step.calls[index];
  }

  function stepDelta(step, call) {
    const box = callBox(step, call.index ?? 0, call.type);
    if (call.type === "function" && call.function) {
      if (call.function.name) box.el.firstChild.textContent = `function ${call.function.name}`;
      box.input.append(call.function.arguments || "");
    } else if (call.type === "code_interpreter" && call.code_interpreter) {
      box.input.append(call.code_interpreter.input || "");
      for (const o of call.code_interpreter.outputs || []) {
        if (o.type === "logs") box.out.append(h("pre", { class: "logs" }, o.logs));
        if (o.type === "image") box.out.append(image(o.image.file_id));
      }
    }
  }

  function finishCall(step, index, call) {
    const box = callBox(step, index, call.type);
    if (call.type === "file_search") {
      const results = call.file_search?.results || [];
      box.out.replaceChildren(h("div", { class: "muted" }, `${results.length} result(s)`),
        ...results.map((r) => h("div", {}, `${r.file_name} (score ${r.score.toFixed(3)})`)));
    } else if (call.type === "code_interpreter") {
      box.input.textContent = call.code_interpreter.input;
      box.out.replaceChildren(...call.code_interpreter.outputs.map((o) =>
        o.type === "logs" ? h("pre", { class: "logs" }, o.logs) : image(o.image.file_id)));
    } else if (call.type === "function") {
      if (call.function.name) box.el.firstChild.textContent = `function ${call.function.name}`;
      box.input.textContent = `${call.function.arguments}`;
    }
  }

  // A thread as it was: its messages, and each run's tool calls where the run made them
  // (a run's steps, oldest first, name the messages it wrote).
  async function reopen(thread) {
    el.replaceChildren();
    if (!thread) return;
    const [messages, runs] = await Promise.all([
      get(`/threads/${thread}/messages`, { limit: 100, order: "asc" }),
      get(`/threads/${thread}/runs`, { limit: 20, order: "asc" }),
    ]);
    const byId = new Map(messages.data.map((m) => [m.id, m]));
    const runSteps = await Promise.all(runs.data.map((r) => get(`/threads/${thread}/runs/${r.id}/steps`, { limit: 100, order: "asc" })));
    const fileIds = [...new Set(messages.data.flatMap((m) => (m.attachments || []).map((a) => a.file_id)))];
    const files = await Promise.all(fileIds.map((id) => get(`/files/${id}`).then((f) => [id, f.filename], () => [id, id])));
    const names = new Map(files);
    const view = (m) => messageView(m, (m.attachments || []).map((a) => names.get(a.file_id) || a.file_id));
    const shown = new Set(runs.data.map((r) => r.id));
    const own = messages.data.filter((m) => !m.run_id || !shown.has(m.run_id));
    // Runs go after the messages written before them (a message and the run it started
    // share a second: the message first).
    let next = 0;
    runs.data.forEach((run, i) => {
      while (next < own.length && own[next].created_at <= run.created_at) el.append(view(own[next++]));
      for (const s of runSteps[i].data) {
        if (s.step_details.type === "message_creation") {
          const m = byId.get(s.step_details.message_creation.message_id);
          if (m) el.append(view(m));
        } else {
          const step = stepBox(s.id);
          s.step_details.tool_calls.forEach((call, n) => finishCall(step, n, call));
          el.append(step.el);
        }
      }
    });
    while (next < own.length) el.append(view(own[next++]));
  }

  // Stream a run (create, or submit outputs) into the conversation until it ends or waits.
  async function follow(path, body) {
    controller = new AbortController();
    const bubbles = new Map();
    const steps = new Map();
    let last = null; // the run as its latest event showed it
    const thinking = h("div", { class: "thinking muted", role: "status" }, "Thinking…");
    el.append(thinking);
    const started = (runId) => { if (thinking.isConnected) { thinking.remove(); if (runId) hooks.first(runId); } };
    try {
      await stream(path, body, (event, data) => {
        if (event.startsWith("thread.run.") && !event.startsWith("thread.run.step")) {
          last = data;
          hooks.run(event, data);
          if (event === "thread.run.requires_action") { started(data.id); el.append(actionForm(data)); }
        } else if (event === "thread.message.created" && data.role === "assistant") {
          const bubble = h("div", { class: "msg assistant", "data-message-id": data.id, "data-status": "streaming" }, h("div", { class: "text" }));
          bubbles.set(data.id, bubble);
          el.append(bubble);
        } else if (event === "thread.message.delta") {
          const bubble = bubbles.get(data.id);
          if (!bubble) return;
          started(last?.id);
          for (const part of data.delta.content || []) {
            if (part.type === "image_file") bubble.prepend(image(part.image_file.file_id));
            else if (part.type === "text" && part.text?.value) bubble.querySelector(".text").append(part.text.value);
          }
        } else if (event === "thread.message.completed" || event === "thread.message.incomplete") {
          const bubble = bubbles.get(data.id);
          if (!bubble) return;
          renderContent(bubble, data.content);
          markEnded(bubble, data);
        } else if (event === "thread.run.step.created" && data.step_details.type === "tool_calls") {
          started(data.run_id);
          const step = stepBox(data.id);
          steps.set(data.id, step);
          el.append(step.el);
        } else if (event === "thread.run.step.delta") {
          const step = steps.get(data.id);
          for (const call of data.delta.step_details?.tool_calls || []) if (step) stepDelta(step, call);
        } else if (event === "thread.run.step.completed") {
          const step = steps.get(data.id);
          if (step) data.step_details.tool_calls.forEach((call, i) => finishCall(step, i, call));
        }
        el.scrollTop = el.scrollHeight;
      }, controller.signal);
    } finally {
      thinking.remove();
      controller = null;
      hooks.ended(last);
    }
  }

  // requires_action: the run's function calls, answered through submit_tool_outputs.
  function actionForm(run) {
    const calls = run.required_action.submit_tool_outputs.tool_calls
      .map((c) => ({ id: c.id, name: c.function.name, arguments: c.function.arguments }));
    return outputsForm(calls, (outputs) => follow(`/threads/${run.thread_id}/runs/${run.id}/submit_tool_outputs`,
      { tool_outputs: outputs.map((o) => ({ tool_call_id: o.id, output: o.output })) }));
  }

  return {
    el,
    follow,
    reopen,
    userMessage(content, names) {
      const bubble = h("div", { class: "msg user" }, content, attached(names));
      el.append(bubble);
      return bubble;
    },
    message(m, names) { el.append(messageView(m, names)); },
    ended(text) {
      el.querySelector('form[aria-label="Submit tool outputs"]')?.replaceWith(h("div", { class: "step muted" }, text));
    },
  };
}
