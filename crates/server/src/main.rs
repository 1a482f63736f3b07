//! `omnibus`: see [`omnibus_server::cli`].

fn main() -> anyhow::Result<()> {
    omnibus_server::cli::main()
}
