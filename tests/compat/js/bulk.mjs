// Bulk operations as the SDK's own tests use them: `count` on cancel (default 100, looped
// until nothing is cancelled) and a typo in a filter refused by the server.
import { Client } from "@upstash/qstash";
import { advance, report } from "./support.mjs";

const baseUrl = process.env.QSTASH_URL;
const token = process.env.QSTASH_TOKEN;
const client = new Client({ baseUrl, token, retry: false });
const later = (n, label) =>
  Array.from({ length: n }, (_, i) => ({ url: `${baseUrl}/nowhere`, body: { i }, delay: "10d", label }));

await client.batchJSON(later(2, "all"));
const allCountOne = (await client.messages.cancel({ all: true, count: 1 })).cancelled;
await client.messages.cancel({ all: true });
await client.batchJSON(later(2, "filtered"));
const filterCountOne = (await client.messages.cancel({ filter: { label: "filtered" }, count: 1 })).cancelled;
await client.messages.cancel({ filter: { label: "filtered" } });

await client.batchJSON([...later(60, "many"), ...later(60, "many")]);
const loop = [];
let cancelled;
do {
  cancelled = (await client.messages.cancel({ all: true })).cancelled;
  loop.push(cancelled);
} while (cancelled > 0);

await client.publishJSON({ url: "http://127.0.0.1:9/closed", body: {}, retries: 0, label: "x" });
await advance(baseUrl, token, 1);
let typo = null;
try {
  await client.dlq.delete({ filter: { labeel: "x" } });
} catch (error) {
  typo = String(error.message);
}
const left = (await client.dlq.listMessages()).messages.length;
const byLabel = await client.dlq.delete({ filter: { label: "x" } });
report({ allCountOne, filterCountOne, loop, typo, left, deleted: byLabel.deleted });
