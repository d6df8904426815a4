"""A permission the app did not declare, with the official Nitric Python SDK.
The interop tests run it against the nitric-local binary, which enforces
policies as the cloud does.

The store "audit" is declared read-only; every message on the socket
"public" tries a set on it and answers the sender with the error the SDK
raised ("the write was allowed" if none).
"""

from nitric.application import Nitric
from nitric.context import WebsocketContext
from nitric.resources import kv, websocket

socket = websocket("public")
audit = kv("audit").allow("get")


@socket.on("connect")
async def connect(ctx: WebsocketContext):
    return ctx


@socket.on("disconnect")
async def disconnect(ctx: WebsocketContext):
    return ctx


@socket.on("message")
async def message(ctx: WebsocketContext):
    reply = "the write was allowed"
    try:
        await audit.set(ctx.req.connection_id, {"text": ctx.req.data.decode()})
    except Exception as error:  # the test reads which error it was
        reply = f"{type(error).__name__}: {error}"
    await socket.send(ctx.req.connection_id, reply.encode())
    return ctx


Nitric.run()
