"""The echo of examples/echo/main.rs, written with the official Nitric Python
SDK. The benchmark runs it against the nitric-local binary to compare the
SDKs' cost per event.

The socket "public" sends every message back to its sender; the connect and
disconnect handlers do nothing.
"""

from nitric.application import Nitric
from nitric.context import WebsocketContext
from nitric.resources import websocket

socket = websocket("public")


@socket.on("connect")
async def connect(ctx: WebsocketContext):
    return ctx


@socket.on("disconnect")
async def disconnect(ctx: WebsocketContext):
    return ctx


@socket.on("message")
async def echo(ctx: WebsocketContext):
    await socket.send(ctx.req.connection_id, ctx.req.data)
    return ctx


Nitric.run()
