// The official Node SDK: upload a file into a vector store, poll it, search it.
// Run by tests/contract/test_node_sdk.py with ASSISTANTD_BASE_URL set; prints JSON.
import OpenAI, { toFile } from "openai";

const client = new OpenAI({ baseURL: process.env.ASSISTANTD_BASE_URL, apiKey: "sk-node", maxRetries: 0 });
const store = await client.vectorStores.create({ name: "node" });
const text = "Hedgehogs eat insects, worms and snails at night.";
const file = await client.vectorStores.files.uploadAndPoll(
  store.id,
  await toFile(Buffer.from(text), "hedgehogs.txt"),
  { pollIntervalMs: 100 },
);
const batch = await client.vectorStores.fileBatches.uploadAndPoll(
  store.id,
  { files: [await toFile(Buffer.from("Tides follow the moon."), "tides.md")] },
  { pollIntervalMs: 100 },
);
const page = await client.vectorStores.search(store.id, { query: "what do hedgehogs eat?" });
const retrieved = await client.vectorStores.retrieve(store.id);
console.log(JSON.stringify({
  fileStatus: file.status,
  fileId: file.id,
  batchStatus: batch.status,
  batchCounts: batch.file_counts,
  counts: retrieved.file_counts,
  results: page.data.map((r) => ({ file_id: r.file_id, filename: r.filename, score: r.score })),
}));
