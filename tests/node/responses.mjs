// The Vercel AI SDK's Responses provider (`openai.responses(...)`), store left on, as
// an app uses it: a two-turn conversation whose second request names the first answer
// by `item_reference`, then a streamed answer. Run by tests/contract/test_responses_node.py.
import { createOpenAI } from "@ai-sdk/openai";
import { generateText, streamText } from "ai";

const openai = createOpenAI({ baseURL: process.env.ASSISTANTD_BASE_URL, apiKey: "sk-node" });
const model = openai.responses("scripted-gpt");
const asked = { role: "user", content: "Sky colour?" };
const first = await generateText({ model, messages: [asked], maxRetries: 0 });
const second = await generateText({
  model,
  messages: [asked, ...first.response.messages, { role: "user", content: "Why?" }],
  maxRetries: 0,
});
const streamed = streamText({ model, prompt: "Count", maxRetries: 0 });
let text = "";
for await (const delta of streamed.textStream) text += delta;
console.log(
  JSON.stringify({
    first: first.text,
    firstId: first.response.id,
    second: second.text,
    secondBody: second.request.body,
    streamed: text,
    finishReason: await streamed.finishReason,
  }),
);
