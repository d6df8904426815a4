"""The greeting of examples/greeting/main.rs, written with the official
Nitric Python SDK. The interop tests run it against the nitric-local binary.

The connect handler of the socket "lobby" publishes the arrival to the topic
"arrivals"; its subscriber sends "welcome, <name>!" to the new connection (a
send that fails because the connection is not ready yet raises, the SDK
answers success = False, and the membrane delivers the message again).
Messages are echoed to their sender.
"""

from nitric.application import Nitric
from nitric.context import MessageContext, WebsocketContext
from nitric.resources import topic, websocket

lobby = websocket("lobby")
arrivals = topic("arrivals")
publisher = arrivals.allow("publish")


@lobby.on("connect")
async def connect(ctx: WebsocketContext):
    name = (ctx.req.query.get("name") or [None])[0]
    await publisher.publish({"connection_id": ctx.req.connection_id, "name": name})
    return ctx


@arrivals.subscribe()
async def greet(ctx: MessageContext):
    arrival = ctx.req.data
    name = arrival.get("name") or "stranger"
    await lobby.send(arrival["connection_id"], f"welcome, {name}!".encode())
    return ctx


@lobby.on("message")
async def echo(ctx: WebsocketContext):
    await lobby.send(ctx.req.connection_id, ctx.req.data)
    return ctx


@lobby.on("disconnect")
async def disconnect(ctx: WebsocketContext):
    print(f"left the lobby: {ctx.req.connection_id}", flush=True)
    return ctx


Nitric.run()
