// Multi-region: the client finds the emulator through QSTASH_REGION's credentials, and the
// receiver (region_receiver.mjs, shown in docs/cli.md) picks the signing keys of the region
// named by each delivery's Upstash-Region.
import { Client } from "@upstash/qstash";
import { verified } from "./region_receiver.mjs";
import { advance, destination, report } from "./support.mjs";

const region = process.env.QSTASH_REGION;
const app = await destination((req, body) =>
  verified(new Request(`${app.url}${req.url}`, { method: req.method, headers: req.headers, body })),
);
const client = new Client({ retry: false });
const { messageId } = await client.publishJSON({ url: `${app.url}/hook`, body: { region } });
await advance(process.env[`${region}_QSTASH_URL`], process.env[`${region}_QSTASH_TOKEN`], 1);
app.close();
report({ messageId, seen: app.seen });
