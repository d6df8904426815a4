// The greeting of examples/greeting/main.rs, written with the official
// Nitric Node SDK. The interop tests run it against the nitric-local binary.
//
// The connect handler of the socket "lobby" publishes the arrival to the
// topic "arrivals"; its subscriber sends "welcome, <name>!" to the new
// connection (a send that fails because the connection is not ready yet
// throws, the SDK answers success = false, and the membrane delivers the
// message again). Messages are echoed to their sender.
const { topic, websocket } = require("@nitric/sdk");

const lobby = websocket("lobby");
const arrivals = topic("arrivals");
const publisher = arrivals.allow("publish");

lobby.on("connect", async (ctx) => {
  await publisher.publish({
    connection_id: ctx.req.connectionId,
    name: (ctx.req.query.name || [])[0] ?? null,
  });
  return ctx;
});

arrivals.subscribe(async (ctx) => {
  const arrival = ctx.req.json();
  await lobby.send(arrival.connection_id, `welcome, ${arrival.name ?? "stranger"}!`);
  return ctx;
});

lobby.on("message", async (ctx) => {
  await lobby.send(ctx.req.connectionId, ctx.req.data);
  return ctx;
});

lobby.on("disconnect", async (ctx) => {
  console.log(`left the lobby: ${ctx.req.connectionId}`);
  return ctx;
});
