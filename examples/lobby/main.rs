//! The chat grown into a small app: users log in over HTTP, connect with
//! the ticket they got, see who else is in their room, and catch up on what
//! they missed after a reconnect.
//!
//! The flow:
//!
//! 1. `POST /login` on the API "auth" with `{"name": "ada"}` answers
//!    `{"ticket": "..."}`: a ticket for that user, valid for 30 seconds,
//!    good for one connection. There are no passwords: this is a demo of
//!    the ticket flow, and a real app checks who is asking here (a
//!    password, a session cookie, an identity provider's token).
//! 2. The client connects with `?ticket=...` (and `&room=...`, the
//!    "lobby" otherwise). The [`Ticket`] guard redeems it and binds the
//!    connection to the user; a missing, expired or reused ticket is
//!    refused.
//! 3. The room hears the user join, with their name, and later leave:
//!    `{"type": "presence", "event": "join", "meta": {"name": "ada"}, ...}`.
//! 4. Each text a client sends is recorded in the room's history and
//!    broadcast as `{"type": "history", "seq": 7, "message": {"from":
//!    "ada", "text": "hi"}, ...}`. A client keeps the last `seq` it saw;
//!    after a reconnect (with a new ticket) it connects with `&since=7`
//!    and gets the lines numbered after 7, as the room received them,
//!    once it is connected. With several instances of the service (on
//!    AWS), a line said meanwhile can arrive before them or, in the moment
//!    the connection opens, not at all: the client orders lines by `seq`,
//!    drops those it has, and if it sees a gap in the numbers sends
//!    `resume 7` to ask again.
//! 5. Every five minutes a schedule probes the members of every room,
//!    removes those whose connection is gone (the room hears them leave)
//!    and deletes expired tickets.
//!
//! Run it with `cargo run --example lobby`, then:
//!
//! ```sh
//! curl -s -X POST http://127.0.0.1:4100/login -d '{"name": "ada"}'
//! # {"ticket":"1764...."}
//! websocat 'ws://127.0.0.1:4001/?room=kitchen&ticket=1764....'
//! ```
//!
//! In the websocket session type a line to say it, or `resume 0` to get the
//! room's history (connecting with `&since=0` does the same).

use nitric_runtime::api::{HttpContext, Json, Response};
use nitric_runtime::connection::{History, Presence, Rooms, Ticket, TicketDesk, Tickets, Users};
use nitric_runtime::websocket::{ConnectContext, MessageContext, Reject, Websocket};
use nitric_runtime::{api, kv_store, schedule, websocket, BoxError, Error};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How long a ticket from `/login` may wait before it is used.
const TICKET_LIFETIME: Duration = Duration::from_secs(30);

#[kv_store("tickets", allow = [get, set, delete])]
static TICKETS: Tickets;

#[kv_store("users", allow = [get, set, delete])]
static USERS: Users;

#[kv_store("rooms", allow = [get, set, delete])]
static ROOMS: Rooms;

#[kv_store("presence", allow = [get, set, delete])]
static PRESENCE: Presence<Member>;

/// The last 200 lines of each room, none older than a day.
#[kv_store("history", allow = [get, set, delete])]
static HISTORY: History<200, 86400>;

/// Which stores the `Ticket` guard redeems in and binds in.
struct Desk;

impl TicketDesk for Desk {
    fn tickets() -> &'static Tickets {
        &TICKETS
    }
    fn users() -> &'static Users {
        &USERS
    }
}

/// What a room's members see of each other.
#[derive(Serialize, Deserialize)]
struct Member {
    name: String,
}

/// One line said in a room, as its history keeps it.
#[derive(Serialize)]
struct Line<'a> {
    from: &'a str,
    text: &'a str,
}

#[derive(Deserialize)]
struct Login {
    name: String,
}

#[derive(Serialize)]
struct Issued {
    ticket: String,
}

/// Issues a ticket to whoever names themselves: a demo, not a login.
#[api("auth", post = "/login")]
async fn login(_ctx: HttpContext, Json(login): Json<Login>) -> Result<Response, Error> {
    let name = login.name.trim();
    if name.is_empty() {
        return Ok(Response::text("a name, please").with_status(400));
    }
    let ticket = TICKETS.issue(name, TICKET_LIFETIME).await?;
    Ok(Response::json(&Issued { ticket }))
}

#[websocket("public", on = "connect")]
async fn connect(ctx: ConnectContext, ticket: Ticket<Desk>) -> Result<(), BoxError> {
    let room = ctx.query().get("room").unwrap_or("lobby");
    let since: Option<u64> = ctx
        .query()
        .get("since")
        .map(str::parse)
        .transpose()
        .map_err(|_| Reject::new("?since= takes a number"))?;
    // Joined before the replay reads the history: a line recorded after
    // that read is sent to this connection live (held behind the replay
    // until the connection opens, when this instance sends it).
    ROOMS.join(&ctx, room).await?;
    // Tells the room, the joiner included (its copy waits for the
    // connection to open); it hears about those who join after it.
    PRESENCE
        .join(
            &ctx,
            room,
            &Member {
                name: ticket.into_user(),
            },
        )
        .await?;
    // Back after a drop: what was said since. Queued here, and sent once
    // this handler has accepted the connection.
    if let Some(since) = since {
        HISTORY.replay(&ctx, room, since).await?;
    }
    Ok(())
}

// No disconnect handler: the runtime takes a connection that leaves out of
// its rooms and presence (the room hears it leave) and unbinds its user.

#[websocket("public", on = "message")]
async fn message(ctx: MessageContext) -> Result<(), BoxError> {
    let text = ctx.text()?;
    for room in ROOMS.rooms_of(&ctx).await? {
        // Asked again from an open connection: fills a gap the replay on
        // connect left (a line said while the connection was opening).
        if let Some(seq) = text.strip_prefix("resume ") {
            HISTORY.replay(&ctx, &room, seq.trim().parse()?).await?;
        } else {
            let from = USERS.user_of(&ctx).await?.unwrap_or_default();
            let line = Line { from: &from, text };
            HISTORY
                .broadcast_recorded(&ROOMS, ctx.socket(), &room, &line)
                .await?;
        }
    }
    Ok(())
}

/// Removes members whose disconnect never arrived (best effort on AWS) and
/// tickets that expired unused.
#[schedule("sweep", every = "5 minutes")]
async fn sweep() -> Result<(), Error> {
    let gone = PRESENCE.sweep(&Websocket::new("public")).await?;
    let purged = TICKETS.purge().await?;
    tracing::info!(gone = gone.len(), purged, "swept");
    Ok(())
}

fn main() {
    nitric_runtime::run();
}
