// The chat of examples/chat/main.rs, written with the official Nitric Node
// SDK. The interop tests run it against the nitric-local binary.
//
// Like the Rust example: the socket "public" keeps every connection id in the
// key/value store "connections" and broadcasts each message to all of them.
// Two additions let the tests reach every key/value call:
// - a connect with `?reject=1` is refused;
// - the message "whoami" answers the sender alone with the name stored for
//   it ("you are <name>"), or "you are unknown" when its key is missing.
const { kv, websocket } = require("@nitric/sdk");

const socket = websocket("public");
const connections = kv("connections").allow("get", "set", "delete");

socket.on("connect", async (ctx) => {
  const query = ctx.req.query;
  if ((query.reject || [])[0] === "1") {
    ctx.res.success = false; // refuses the connection
    return ctx;
  }
  const name = (query.name || [])[0] ?? null;
  await connections.set(ctx.req.connectionId, { name });
  return ctx;
});

socket.on("disconnect", async (ctx) => {
  await connections.delete(ctx.req.connectionId);
  return ctx;
});

socket.on("message", async (ctx) => {
  const sender = ctx.req.connectionId;
  if (ctx.req.text() === "whoami") {
    let reply;
    try {
      const member = await connections.get(sender);
      reply = `you are ${member.name}`;
    } catch (error) {
      // The SDK does not export its error classes; a missing key is a
      // NotFoundError.
      if (error.constructor.name !== "NotFoundError") throw error;
      reply = "you are unknown";
    }
    await socket.send(sender, reply);
    return ctx;
  }
  for await (const id of connections.keys()) {
    try {
      await socket.send(id, ctx.req.data);
    } catch (error) {
      // Left meanwhile; its disconnect cleans up.
      if (error.constructor.name !== "NotFoundError") throw error;
    }
  }
  return ctx;
});
