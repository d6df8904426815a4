#!/usr/bin/env bash
# Runs Autobahn|Testsuite's fuzzingclient (cases 1.* to 10.*, see
# fuzzingclient.json) against the echo example on its embedded membrane
# (ws://127.0.0.1:4001) and against a bare tokio-tungstenite echo server
# (ws://127.0.0.1:9002, bare-echo.rs), then prints both summaries. The
# docs/local-membrane.md's "RFC 6455 conformance" records and explains them.
#
#   tests/autobahn/run.sh
#
# Needs Python 2.7 with `pip install autobahntestsuite` (set WSTEST to its
# `wstest` if it is not ~/.pyenv/versions/2.7.18/bin/wstest or on PATH).
# The reports (HTML and JSON per case) go to target/autobahn/reports.
# Not part of `cargo test`: it needs Python 2.7 and takes a few minutes.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
here="$repo/tests/autobahn"
work="$repo/target/autobahn"

wstest=${WSTEST:-}
if [[ -z $wstest ]]; then
    if [[ -x $HOME/.pyenv/versions/2.7.18/bin/wstest ]]; then
        wstest=$HOME/.pyenv/versions/2.7.18/bin/wstest
    elif command -v wstest >/dev/null; then
        wstest=$(command -v wstest)
    else
        echo "wstest not found: install it under Python 2.7 (python2.7 -m pip install autobahntestsuite) or set WSTEST" >&2
        exit 1
    fi
fi

for port in 4001 9002; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "port $port is taken; stop what listens there first" >&2
        exit 1
    fi
done

mkdir -p "$work/bare-echo/src"
cd "$repo"
cargo build --release --example echo
# The baseline builds outside the workspace, with the workspace's versions.
cp "$here/bare-echo.rs" "$work/bare-echo/src/main.rs"
cp "$repo/Cargo.lock" "$work/bare-echo/Cargo.lock"
cat >"$work/bare-echo/Cargo.toml" <<'TOML'
[package]
name = "bare-echo"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
tokio = { version = "1.40", features = ["rt-multi-thread", "macros", "net"] }
tokio-tungstenite = "0.29"
futures-util = "0.3"

[workspace]
TOML
CARGO_TARGET_DIR="$repo/target" cargo build --release --manifest-path "$work/bare-echo/Cargo.toml"

pids=()
data=$(mktemp -d)
stop() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    rm -rf "$data"
}
trap stop EXIT

NITRIC_LOCAL_WS_PORT=4001 NITRIC_LOCAL_DATA_DIR="$data" RUST_LOG=error \
    "$repo/target/release/examples/echo" >"$work/echo.log" 2>&1 &
pids+=($!)
"$repo/target/release/bare-echo" 127.0.0.1:9002 >"$work/bare-echo.log" 2>&1 &
pids+=($!)

# The echo's gateway listens once its handlers are registered.
for port in 4001 9002; do
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            continue 2
        fi
        sleep 0.1
    done
    echo "nothing listens on port $port after 10 s; see $work/*.log" >&2
    exit 1
done

rm -rf "$work/reports"
cd "$work"
"$wstest" --mode fuzzingclient --spec "$here/fuzzingclient.json"
python3 "$here/summary.py" "$work/reports/index.json"
