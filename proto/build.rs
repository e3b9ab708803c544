//! Generates the gRPC code from `proto/` with protox (a pure-Rust protobuf
//! compiler), so that `cargo build` needs no system `protoc`.

use std::path::PathBuf;

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto = "proto/tudashalo/v1/federation.proto";
    println!("cargo:rerun-if-changed={proto}");
    let fds = protox::compile([proto], ["proto"])?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    // Server reflection serves this descriptor set to stock gRPC tools.
    std::fs::write(
        out_dir.join("federation_descriptor.bin"),
        fds.encode_to_vec(),
    )?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    Ok(())
}
