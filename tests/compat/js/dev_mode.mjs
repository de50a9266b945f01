// QSTASH_DEV=true: no URL, no token, no keys. The SDK probes GET /v2/keys on 127.0.0.1
// (QSTASH_DEV_PORT) with the dev token, finds the emulator and uses it.
import { Client, Receiver } from "@upstash/qstash";
import { advance, destination, report } from "./support.mjs";

const receiver = new Receiver();
const app = await destination((req, body) =>
  receiver.verify({ signature: req.headers["upstash-signature"], body, url: `${app.url}${req.url}` }),
);
const client = new Client({ retry: false });
const { messageId } = await client.publishJSON({ url: `${app.url}/jobs`, body: { dev: true } });
const devUrl = `http://127.0.0.1:${process.env.QSTASH_DEV_PORT ?? 8080}`;
const token = client.http.authorization.replace("Bearer ", "");
await advance(devUrl, token, 1);
app.close();
report({ messageId, seen: app.seen });
