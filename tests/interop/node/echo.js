// The echo of examples/echo/main.rs, written with the official Nitric Node
// SDK. The benchmark runs it against the nitric-local binary to compare the
// SDKs' cost per event.
//
// The socket "public" sends every message back to its sender; the connect
// and disconnect handlers do nothing.
const { websocket } = require("@nitric/sdk");

const socket = websocket("public");

socket.on("connect", async (ctx) => ctx);

socket.on("disconnect", async (ctx) => ctx);

socket.on("message", async (ctx) => {
  await socket.send(ctx.req.connectionId, ctx.req.data);
  return ctx;
});
