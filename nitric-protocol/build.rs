//! Compiles the `.proto` files with `protox`, a pure-Rust protobuf compiler,
//! so a fresh machine builds with cargo alone (no system `protoc`).

use std::path::PathBuf;

const PROTOS: &[&str] = &[
    "nitric/resources/v1/resources.proto",
    "nitric/websockets/v1/websockets.proto",
    "nitric/kvstore/v1/kvstore.proto",
    "nitric/topics/v1/topics.proto",
    "nitric/schedules/v1/schedules.proto",
    "nitric/apis/v1/apis.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("proto");
    println!("cargo:rerun-if-changed={}", proto_root.display());

    let descriptors = protox::compile(PROTOS, [&proto_root])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)?;
    Ok(())
}
