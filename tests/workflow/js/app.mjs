// Workflow apps under test on the official @upstash/workflow SDK, served with node:http.
//
// The workflows live under /workflows/<name>; /sdk/<action> runs one call of the SDK's
// `Client` (trigger, notify, getWaiters, cancel, logs, dlq.*) so that a Python test drives the
// emulator through the JS SDK; /journal answers what the workflows did. QSTASH_URL, QSTASH_TOKEN
// and the signing keys come from the environment. Prints {"port": N} once listening.
import http from "node:http";
import { Client, serve } from "@upstash/workflow";
import { createWorkflow, serveMany } from "@upstash/workflow/cloudflare";

const journal = { executed: [], failures: [], runIds: [] };
const switches = { chargeFails: true, failureFunctionFails: false };

function note(name, value) {
  journal.executed.push([name, value ?? null]);
  return value;
}

const order = serve(async (context) => {
  const payload = context.requestPayload;
  const shop = context.headers.get("x-shop");
  const reserved = await context.run("reserve", () => {
    journal.runIds.push(context.workflowRunId);
    return note("reserve", { item: payload.item, qty: 2, shop });
  });
  const total = await context.run("price", () => note("price", reserved.qty * 21));
  await context.sleep("cool-down", "7d");
  const quote = await context.call("quote", {
    url: payload.quoteUrl,
    method: "POST",
    body: { total },
    headers: { "content-type": "application/json" },
  });
  return await context.run("confirm", () =>
    note("confirm", { total, status: quote.status, quote: quote.body, shop }));
});

const fragile = serve(
  async (context) => {
    await context.run("fine", () => note("fine", "ok"));
    await context.run("charge", () => {
      note("charge", "attempt");
      if (switches.chargeFails) throw new Error("card declined");
      return "charged";
    });
  },
  {
    failureFunction: async ({ context, failStatus, failResponse }) => {
      journal.failures.push({ runId: context.workflowRunId, status: failStatus,
        message: failResponse, payload: context.requestPayload });
      if (switches.failureFunctionFails) throw new Error("failure function is down");
      return "handled";
    },
  },
);

const waiter = serve(async (context) => {
  const { eventId } = context.requestPayload;
  const approval = await context.waitForEvent("approval", eventId, { timeout: "1d" });
  await context.run("after-approval", () => note("after-approval", approval));
  const never = await context.waitForEvent("never", `${eventId}-never`, { timeout: "10m" });
  await context.run("after-timeout", () => note("after-timeout", never));
});

const sleeper = serve(async (context) => {
  await context.run("before-sleep", () => {
    journal.runIds.push(context.workflowRunId);
    return note("before-sleep", "awake");
  });
  await context.sleep("nap", "1d");
  await context.run("after-sleep", () => note("after-sleep", "awake again"));
});

const parallel = serve(async (context) => {
  const [left, right] = await Promise.all([
    context.run("left", () => note("left", 1)),
    context.run("right", () => note("right", 2)),
  ]);
  await context.run("sum", () => note("sum", left + right));
});

let releaseGate;
const gate = new Promise((resolve) => { releaseGate = resolve; });
const gated = serve(async (context) => {
  await context.run("through-gate", async () => {
    note("entered", "gate");
    await gate;
    return "through";
  });
  await context.run("after-gate", () => note("after-gate", "ran"));
});

const child = createWorkflow(async (context) => {
  return await context.run("double", () => note("double", context.requestPayload * 2));
});
const parent = createWorkflow(async (context) => {
  const result = await context.invoke("ask-child", { workflow: child, body: 21 });
  await context.run("after-invoke", () => note("after-invoke", result));
});
const family = serveMany({ parent, child });

const workflows = {
  order: (request) => order.handler(request),
  fragile: (request) => fragile.handler(request),
  waiter: (request) => waiter.handler(request),
  sleeper: (request) => sleeper.handler(request),
  gated: (request) => gated.handler(request),
  parallel: (request) => parallel.handler(request),
  parent: (request) => family.fetch(request, process.env),
  child: (request) => family.fetch(request, process.env),
};

const client = new Client({ baseUrl: process.env.QSTASH_URL, token: process.env.QSTASH_TOKEN });

const actions = {
  trigger: (args) => client.trigger(args),
  notify: (args) => client.notify(args),
  waiters: (args) => client.getWaiters(args),
  cancel: (args) => client.cancel(args.request),
  logs: (args) => client.logs(args),
  "dlq-list": (args) => client.dlq.list(args),
  "dlq-resume": (args) => client.dlq.resume(args.request),
  "dlq-restart": (args) => client.dlq.restart(args.request),
  "dlq-callback": (args) => client.dlq.retryFailureFunction(args),
  "dlq-delete": (args) => client.dlq.delete(args.request),
  switches: async (args) => Object.assign(switches, args),
  release: async () => releaseGate() ?? true,
};

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function toRequest(req, body, origin) {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    headers.set(name, Array.isArray(value) ? value.join(", ") : value);
  }
  const hasBody = !["GET", "HEAD"].includes(req.method);
  return new Request(origin + req.url, { method: req.method, headers,
    body: hasBody ? body : undefined });
}

async function answer(res, response) {
  const body = Buffer.from(await response.arrayBuffer());
  res.writeHead(response.status, Object.fromEntries(response.headers.entries()));
  res.end(body);
}

function json(res, status, value) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(value ?? null));
}

async function runAction(name, body, res) {
  try {
    json(res, 200, await actions[name](body.length ? JSON.parse(body) : {}));
  } catch (error) {
    json(res, 502, { error: String(error?.message ?? error), status: error?.status ?? null });
  }
}

const server = http.createServer(async (req, res) => {
  const body = await readBody(req);
  const [, area, name] = req.url.split("?")[0].split("/");
  const origin = `http://127.0.0.1:${server.address().port}`;
  if (area === "workflows" && workflows[name]) {
    return answer(res, await workflows[name](toRequest(req, body, origin)));
  }
  if (area === "sdk" && actions[name]) return runAction(name, body.toString(), res);
  if (area === "journal") return json(res, 200, journal);
  return json(res, 404, { error: `no route ${req.url}` });
});

server.listen(0, "127.0.0.1", () => {
  console.log(JSON.stringify({ port: server.address().port }));
});
