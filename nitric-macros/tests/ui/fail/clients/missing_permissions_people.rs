use nitric_runtime::connection::{History, Presence, Tickets, Users};
use nitric_runtime::kv_store;

#[kv_store("users", allow = [get, set])]
static USERS: Users;

#[kv_store("tickets", allow = [get])]
static TICKETS: Tickets;

#[kv_store("presence", allow = [set, delete])]
static PRESENCE: Presence;

#[kv_store("history", allow = [get, delete])]
static HISTORY: History<10, 60>;

fn main() {}
