// Shared by the scripts here: a local destination that verifies every delivery with the SDK's
// Receiver, and the emulator's control API (advance the virtual clock).
import http from "node:http";

export async function destination(verify) {
  const seen = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", async () => {
      const body = Buffer.concat(chunks).toString();
      const entry = { path: req.url, region: req.headers["upstash-region"], body };
      try {
        await verify(req, body);
        entry.verified = true;
      } catch (error) {
        entry.verified = false;
        entry.error = String(error.message ?? error);
      }
      seen.push(entry);
      res.end("ok");
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return { url, seen, close: () => server.close() };
}

export async function advance(baseUrl, token, seconds) {
  const answer = await fetch(`${baseUrl}/__emulator__/clock/advance`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ seconds }),
  });
  if (!answer.ok) throw new Error(`advance: ${answer.status} ${await answer.text()}`);
}

export function report(result) {
  console.log("RESULT " + JSON.stringify(result));
}
