//! Compiles `omnibus/v1/*.proto` with protox (no `protoc` needed) and keeps
//! the file descriptor set for gRPC server reflection.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "omnibus/v1/common.proto",
        "omnibus/v1/events.proto",
        "omnibus/v1/channels.proto",
        "omnibus/v1/conversations.proto",
        "omnibus/v1/internal.proto",
        "omnibus/v1/notification_events.proto",
        "omnibus/v1/notifications.proto",
        "omnibus/v1/templates.proto",
        "omnibus/v1/media.proto",
    ];
    let fds = protox::compile(files, ["."])?;
    let out_dir = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("omnibus_descriptor.bin"),
        prost::Message::encode_to_vec(&fds),
    )?;
    tonic_prost_build::configure().compile_fds(fds)?;
    println!("cargo:rerun-if-changed=omnibus");
    Ok(())
}
