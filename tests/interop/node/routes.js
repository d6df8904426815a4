// An HTTP API and a schedule around a socket, written with the official
// Nitric Node SDK; tests/src/bin/routes.rs is the same app in Rust and
// tests/interop/python/routes.py in Python. The interop tests run it
// against the nitric-local binary; the equivalence test compares what each
// declares and registers.
//
// - socket "public": connect stores the connection id in the key/value
//   store "connections", disconnect deletes it, a message is echoed;
// - api "main":
//   - GET /hello/:name answers "<greeting>, <name>!" with the header
//     x-route: hello; the greeting is the query's `greeting`, else the
//     header x-greeting, else "hello";
//   - POST /broadcast sends the body to every stored connection and
//     answers 202 {"sent": <count>};
//   - OPTIONS /hello/:name answers a CORS preflight: 204 with
//     access-control-allow-methods: GET, OPTIONS;
//   - GET /url answers the API's own URL (Api.ApiDetails);
//   - GET /boom throws, which the SDK answers 500;
// - schedule "tick", every 5 minutes: counts its runs in the store "ticks"
//   (key "count", {"count": n}) and sends "tick <n>" to every connection;
//   each even-numbered run then throws, to show that a failed run does not
//   stop the schedule.
const { api, kv, schedule, websocket } = require("@nitric/sdk");

const socket = websocket("public");
const connections = kv("connections").allow("get", "set", "delete");
const ticks = kv("ticks").allow("get", "set");
const main = api("main");

socket.on("connect", async (ctx) => {
  const name = (ctx.req.query.name || [])[0] ?? null;
  await connections.set(ctx.req.connectionId, { name });
  return ctx;
});

socket.on("disconnect", async (ctx) => {
  await connections.delete(ctx.req.connectionId);
  return ctx;
});

socket.on("message", async (ctx) => {
  await socket.send(ctx.req.connectionId, ctx.req.data);
  return ctx;
});

// Sends `data` to every stored connection; returns how many it reached.
async function sendToAll(data) {
  let sent = 0;
  for await (const id of connections.keys()) {
    try {
      await socket.send(id, data);
      sent += 1;
    } catch (error) {
      // Left meanwhile; its disconnect cleans up.
      if (error.constructor.name !== "NotFoundError") throw error;
    }
  }
  return sent;
}

main.get("/hello/:name", async (ctx) => {
  const greeting = ctx.req.query.greeting ?? ctx.req.headers["x-greeting"] ?? "hello";
  ctx.res.headers["x-route"] = ["hello"];
  ctx.res.body = `${greeting}, ${ctx.req.params.name}!`;
  return ctx;
});

main.options("/hello/:name", async (ctx) => {
  ctx.res.status = 204;
  ctx.res.headers["access-control-allow-methods"] = ["GET, OPTIONS"];
  return ctx;
});

main.post("/broadcast", async (ctx) => {
  const sent = await sendToAll(ctx.req.data);
  ctx.res.status = 202;
  ctx.res.body = { sent };
  return ctx;
});

main.get("/url", async (ctx) => {
  ctx.res.body = await main.url();
  return ctx;
});

main.get("/boom", async () => {
  throw new Error("boom");
});

schedule("tick").every("5 minutes", async (ctx) => {
  let count = 0;
  try {
    count = (await ticks.get("count")).count;
  } catch (error) {
    if (error.constructor.name !== "NotFoundError") throw error;
  }
  count += 1;
  await ticks.set("count", { count });
  await sendToAll(`tick ${count}`);
  if (count % 2 === 0) throw new Error(`run ${count} fails after its work`);
  return ctx;
});
