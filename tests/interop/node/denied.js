// A permission the app did not declare, with the official Nitric Node SDK.
// The interop tests run it against the nitric-local binary, which enforces
// policies as the cloud does.
//
// The store "audit" is declared read-only; every message on the socket
// "public" tries a set on it and answers the sender with the error the SDK
// raised ("the write was allowed" if none).
const { kv, websocket } = require("@nitric/sdk");

const socket = websocket("public");
const audit = kv("audit").allow("get");

socket.on("connect", async (ctx) => ctx);

socket.on("disconnect", async (ctx) => ctx);

socket.on("message", async (ctx) => {
  let reply = "the write was allowed";
  try {
    await audit.set(ctx.req.connectionId, { text: ctx.req.text() });
  } catch (error) {
    // The first line holds the gRPC status and the membrane's message.
    reply = `${error.constructor.name}: ${error.message.split("\n")[0]}`;
  }
  await socket.send(ctx.req.connectionId, reply);
  return ctx;
});
