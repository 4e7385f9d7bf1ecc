// The official Node SDK on both surfaces of one store: an Assistants thread read and
// extended as a conversation, items added, paged with the SDK's auto-pagination, and
// deleted, and a response on the conversation. Run by tests/contract/test_conversations_node.py.
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.env.ASSISTANTD_BASE_URL, apiKey: "sk-node", maxRetries: 0 });
const thread = await client.beta.threads.create({
  messages: [{ role: "user", content: "My name is Ada." }],
});
const seen = await client.conversations.retrieve(thread.id);
const added = await client.conversations.items.create(thread.id, {
  items: Array.from({ length: 12 }, (_, i) => ({ type: "message", role: "user", content: `note ${i}` })),
});
const ids = [];
for await (const item of client.conversations.items.list(thread.id, { order: "asc", limit: 5 })) {
  ids.push(item.id);
}
const response = await client.responses.create({
  model: "scripted-gpt",
  conversation: thread.id,
  input: "Who am I?",
});
const afterDelete = await client.conversations.items.delete(added.data[0].id, {
  conversation_id: thread.id,
});
const messages = [];
for await (const m of client.beta.threads.messages.list(thread.id, { order: "asc" })) {
  messages.push(m.content[0].text.value);
}
let refused = null;
try {
  await client.conversations.retrieve("resp_wrong");
} catch (e) {
  refused = { status: e.status, param: e.param, code: e.code };
}
console.log(
  JSON.stringify({
    seen: { id: seen.id, object: seen.object },
    added: added.data.length,
    ids,
    answer: response.output_text,
    conversation: response.conversation,
    afterDelete: { id: afterDelete.id, object: afterDelete.object },
    messages,
    refused,
  }),
);
