"""An HTTP API and a schedule around a socket, written with the official
Nitric Python SDK; tests/src/bin/routes.rs is the same app in Rust and
tests/interop/node/routes.js in Node (which describes what it does). The
interop tests run it against the nitric-local binary; the equivalence test
compares what each declares and registers.
"""

from nitric.application import Nitric
from nitric.context import HttpContext, IntervalContext, WebsocketContext
from nitric.exception import NotFoundException
from nitric.resources import api, kv, schedule, websocket

socket = websocket("public")
connections = kv("connections").allow("get", "set", "delete")
ticks = kv("ticks").allow("get", "set")
main = api("main")


@socket.on("connect")
async def connect(ctx: WebsocketContext):
    name = (ctx.req.query.get("name") or [None])[0]
    await connections.set(ctx.req.connection_id, {"name": name})
    return ctx


@socket.on("disconnect")
async def disconnect(ctx: WebsocketContext):
    await connections.delete(ctx.req.connection_id)
    return ctx


@socket.on("message")
async def echo(ctx: WebsocketContext):
    await socket.send(ctx.req.connection_id, ctx.req.data)
    return ctx


async def send_to_all(data: bytes) -> int:
    """Sends `data` to every stored connection; returns how many it reached."""
    sent = 0
    async for member in connections.keys():
        try:
            await socket.send(member, data)
            sent += 1
        except NotFoundException:
            pass  # left meanwhile; its disconnect cleans up
    return sent


@main.get("/hello/:name")
async def hello(ctx: HttpContext):
    greeting = (ctx.req.query.get("greeting") or ctx.req.headers.get("x-greeting") or ["hello"])[0]
    ctx.res.headers["x-route"] = "hello"
    ctx.res.body = f"{greeting}, {ctx.req.params['name']}!"
    return ctx


@main.options("/hello/:name")
async def preflight(ctx: HttpContext):
    ctx.res.status = 204
    ctx.res.headers["access-control-allow-methods"] = "GET, OPTIONS"
    return ctx


@main.post("/broadcast")
async def broadcast(ctx: HttpContext):
    sent = await send_to_all(ctx.req.data)
    ctx.res.status = 202
    ctx.res.body = {"sent": sent}
    return ctx


@main.get("/url")
async def url(ctx: HttpContext):
    ctx.res.body = await main.url()
    return ctx


@main.get("/boom")
async def boom(ctx: HttpContext):
    raise RuntimeError("boom")


@schedule("tick").every("5 minutes")
async def tick(ctx: IntervalContext):
    try:
        # Numbers cross the wire as floats (a protobuf Struct).
        count = int((await ticks.get("count"))["count"])
    except NotFoundException:
        count = 0
    count += 1
    await ticks.set("count", {"count": count})
    await send_to_all(f"tick {count}".encode())
    if count % 2 == 0:
        raise RuntimeError(f"run {count} fails after its work")
    return ctx


Nitric.run()
