import { Client } from "@upstash/qstash";

// QSTASH_DEV=true: no URL and no token. The SDK finds qstash-emulator on 127.0.0.1:8080
// (QSTASH_DEV_PORT for another port) instead of downloading and starting its own dev server,
// and a Receiver in dev mode checks signatures with the dev keys the emulator signs with.
const client = new Client();
const { messageId } = await client.publishJSON({
  url: "https://example.com/api/jobs",
  body: { hello: "world" },
  delay: "1h",
});
const message = await client.messages.get(messageId);
console.log(`${messageId} -> ${message.url}`);
