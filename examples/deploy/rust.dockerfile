# syntax=docker/dockerfile:1
# Dockerfile template for Rust services under the Nitric CLI: the `dockerfile`
# of a custom runtime in nitric.yaml (see examples/chat/nitric.yaml and the
# README section "Running under the Nitric CLI and deploying").
#
# The CLI builds it with `docker buildx build --platform linux/amd64`, from
# the runtime's `context` folder, passing its `args` as build arguments plus
# HANDLER (the service's entrypoint file, which this template does not need:
# TARGET_KIND and TARGET_NAME say which Cargo target is the service).
# Files excluded from the context are listed in rust.dockerfile.dockerignore,
# beside this file; the CLI reads it for custom runtimes.
#
# The image only has to start the service. For a deployment the CLI wraps it
# in an image whose entrypoint is the cloud's Nitric membrane, which then runs
# this image's ENTRYPOINT with SERVICE_ADDRESS and NITRIC_ENVIRONMENT set.

ARG RUST_VERSION=1

FROM rust:${RUST_VERSION}-bookworm AS build
# Set by the CLI to the service's entrypoint; unused, declared so the build
# does not warn about it.
ARG HANDLER
# `example` (this repository's examples) or `bin` (a binary of your crate).
ARG TARGET_KIND=bin
# The example's or binary's name, e.g. `chat`.
ARG TARGET_NAME
WORKDIR /src
COPY . .
# The registry and target caches persist between builds; the binary is
# copied out of the cached target folder in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    test -n "${TARGET_NAME}" || { echo "set TARGET_NAME in the runtime's args in nitric.yaml" >&2; exit 1; }; \
    cargo build --release --locked "--${TARGET_KIND}" "${TARGET_NAME}" \
    && if [ "${TARGET_KIND}" = example ]; then built=target/release/examples; else built=target/release; fi \
    && cp "${built}/${TARGET_NAME}" /usr/local/bin/service

FROM debian:bookworm-slim
# The membrane the deployment wraps around this image calls the cloud's APIs
# over TLS (CA certificates); the wrapping step itself runs a shell command
# in this image, so it must have /bin/sh (a scratch or distroless image
# will not do).
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /usr/local/bin/service /usr/local/bin/service
# Logs go to stderr; RUST_LOG sets the level.
ENV RUST_LOG=info
# Exec form: the service is PID 1 here (and the wrapping membrane's child in a
# deployment), so it receives SIGTERM directly and exits 0 after draining.
ENTRYPOINT ["/usr/local/bin/service"]
