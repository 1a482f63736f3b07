//! The `omnibus` binary, built inside this crate so crash tests can run it
//! as a child process (`CARGO_BIN_EXE_omnibus-under-test`) and `kill -9` it.

fn main() -> anyhow::Result<()> {
    omnibus_server::cli::main()
}
