"""The chat of examples/chat/main.rs, written with the official Nitric Python
SDK. The interop tests run it against the nitric-local binary.

Like the Rust example: the socket "public" keeps every connection id in the
key/value store "connections" and broadcasts each message to all of them.
Two additions let the tests reach every key/value call:
- a connect with `?reject=1` is refused;
- the message "whoami" answers the sender alone with the name stored for it
  ("you are <name>"), or "you are unknown" when its key is missing.
"""

from nitric.application import Nitric
from nitric.context import WebsocketContext
from nitric.exception import NotFoundException
from nitric.resources import kv, websocket

socket = websocket("public")
connections = kv("connections").allow("get", "set", "delete")


@socket.on("connect")
async def connect(ctx: WebsocketContext):
    query = ctx.req.query
    if query.get("reject") == ["1"]:
        ctx.res.reject = True
        return ctx
    name = (query.get("name") or [None])[0]
    await connections.set(ctx.req.connection_id, {"name": name})
    return ctx


@socket.on("disconnect")
async def disconnect(ctx: WebsocketContext):
    await connections.delete(ctx.req.connection_id)
    return ctx


@socket.on("message")
async def broadcast(ctx: WebsocketContext):
    sender = ctx.req.connection_id
    if ctx.req.data == b"whoami":
        try:
            member = await connections.get(sender)
            reply = f"you are {member['name']}"
        except NotFoundException:
            reply = "you are unknown"
        await socket.send(sender, reply.encode())
        return ctx
    async for member in connections.keys():
        try:
            await socket.send(member, ctx.req.data)
        except NotFoundException:
            pass  # left meanwhile; its disconnect cleans up
    return ctx


Nitric.run()
