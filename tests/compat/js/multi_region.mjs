// Multi-region: the client finds the emulator through QSTASH_REGION's credentials, and the
// receiver picks the signing keys of the region named by each delivery's Upstash-Region.
import { Client, Receiver } from "@upstash/qstash";
import { advance, destination, report } from "./support.mjs";

const region = process.env.QSTASH_REGION;
const receiver = new Receiver();
const app = await destination((req, body) =>
  receiver.verify({
    signature: req.headers["upstash-signature"],
    body,
    url: `${app.url}${req.url}`,
    upstashRegion: req.headers["upstash-region"],
  }),
);
const client = new Client({ retry: false });
const { messageId } = await client.publishJSON({ url: `${app.url}/hook`, body: { region } });
await advance(process.env[`${region}_QSTASH_URL`], process.env[`${region}_QSTASH_TOKEN`], 1);
app.close();
report({ messageId, seen: app.seen });
