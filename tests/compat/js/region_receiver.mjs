import { Receiver } from "@upstash/qstash";

// With QSTASH_REGION set (to either region), the Receiver reads each delivery's Upstash-Region
// header and checks it with that region's keys: US_EAST_1_QSTASH_CURRENT_SIGNING_KEY and
// US_EAST_1_QSTASH_NEXT_SIGNING_KEY for `qstash-emulator --region US-EAST-1`.
const receiver = new Receiver();

export async function verified(request) {
  const body = await request.text();
  await receiver.verify({
    signature: request.headers.get("upstash-signature"),
    body,
    url: request.url,
    upstashRegion: request.headers.get("upstash-region"),
  });
  return body;
}
