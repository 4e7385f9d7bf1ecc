// The official Node SDK's stream helper on a run whose model falls silent for several
// keep-alive intervals. Run by tests/contract/test_silent_model.py; prints JSON.
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.env.ASSISTANTD_BASE_URL, apiKey: "sk-node", maxRetries: 0 });
const [assistantId, threadId] = [process.env.ASSISTANT_ID, process.env.THREAD_ID];
const events = [];
let text = "";
const stream = client.beta.threads.runs.stream(threadId, { assistant_id: assistantId });
stream.on("event", (e) => events.push(e.event));
stream.on("textDelta", (delta) => { text += delta.value ?? ""; });
const run = await stream.finalRun();
console.log(JSON.stringify({ status: run.status, text, events }));
