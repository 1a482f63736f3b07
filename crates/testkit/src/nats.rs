//! A real `nats-server -js` per test, on its own port and store directory.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tempfile::TempDir;
use tokio::time::Instant;

/// JetStream on a cold store can take a moment; a missing or broken binary
/// fails well before this.
const START_TIMEOUT: Duration = Duration::from_secs(10);
const POLL_INTERVAL: Duration = Duration::from_millis(20);
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The largest message the servers accept, as in `make run`, compose and
/// Kubernetes: an event carries a whole webhook body (up to 1 MiB) plus its
/// normalized form and headers, which the server's default of 1 MiB cannot
/// hold.
pub const MAX_PAYLOAD: usize = 8 * 1024 * 1024;

/// A `nats-server` child process with JetStream, listening on 127.0.0.1.
///
/// The first start lets the server pick a free port (`-p -1`) and reads it
/// from the ports file, so parallel tests never race for a port; a
/// [`NatsServer::restart`] reuses that port and the store directory, so
/// streams and messages survive like after a real crash. Dropping it kills
/// the process and deletes the directory.
#[derive(Debug)]
pub struct NatsServer {
    child: Option<Child>,
    port: u16,
    max_payload: usize,
    /// Holds `jetstream/` (the store), `nats.log` and the ports files.
    dir: TempDir,
}

impl NatsServer {
    /// Starts a server and waits (up to 10 s) until it accepts a client and
    /// answers a JetStream account-info request.
    ///
    /// Panics when `nats-server` is not installed ("run `make deps`") or
    /// does not become ready, quoting the end of its log.
    pub async fn start() -> NatsServer {
        Self::start_with_max_payload(MAX_PAYLOAD).await
    }

    /// Like [`start`](Self::start), with another `max_payload` (bytes), for
    /// tests of what happens to messages larger than the server takes.
    pub async fn start_with_max_payload(max_payload: usize) -> NatsServer {
        let dir = tempfile::Builder::new()
            .prefix("omnibus-nats-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temp dir for nats-server: {e}"));
        let mut child = spawn(dir.path(), None, max_payload);
        let port = wait_for_port(dir.path(), &mut child).await;
        let mut server = NatsServer {
            child: Some(child),
            port,
            max_payload,
            dir,
        };
        server.wait_ready().await;
        server
    }

    /// The client URL, `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The directory holding the JetStream store (`jetstream/`), to check
    /// what the server wrote to disk.
    pub fn store_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The client port; the same across restarts.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server with SIGKILL and waits for it to exit, like a crash
    /// or an outage: nothing is flushed, clients see the connection drop.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Fails only when the process already exited; then wait reaps it.
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and store directory (killing
    /// it first if it still runs) and waits until JetStream is ready.
    pub async fn restart(&mut self) {
        self.kill();
        self.child = Some(spawn(self.dir.path(), Some(self.port), self.max_payload));
        self.wait_ready().await;
    }

    async fn wait_ready(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        let url = self.url();
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!(
                    "nats-server on port {} exited with {status}:\n{}",
                    self.port,
                    log_tail(self.dir.path())
                );
            }
            if probe(&url).await {
                return;
            }
            if Instant::now() >= deadline {
                panic!(
                    "nats-server on port {} not ready after {START_TIMEOUT:?}:\n{}",
                    self.port,
                    log_tail(self.dir.path())
                );
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Spawns `nats-server`; `port: None` lets it pick one and write it to the
/// ports file in `dir`. `max_payload` has no command-line flag: it goes in
/// a configuration file, which the flags then complete.
fn spawn(dir: &Path, port: Option<u16>, max_payload: usize) -> Child {
    let port_arg = port.map_or_else(|| "-1".to_owned(), |p| p.to_string());
    let config = dir.join("nats.conf");
    std::fs::write(&config, format!("max_payload: {max_payload}\n"))
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", config.display()));
    let result = Command::new("nats-server")
        .arg("-c")
        .arg(&config)
        .args(["-js", "-a", "127.0.0.1", "-p", &port_arg])
        .arg("-sd")
        .arg(dir.join("jetstream"))
        .arg("-l")
        .arg(dir.join("nats.log"))
        .arg("--ports_file_dir")
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    match result {
        Ok(child) => child,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            panic!("`nats-server` is not installed or not on PATH; run `make deps`")
        }
        Err(e) => panic!("cannot start nats-server: {e}"),
    }
}

/// Reads the port from `nats-server_<pid>.ports`, written once it listens.
async fn wait_for_port(dir: &Path, child: &mut Child) -> u16 {
    let file = ports_file(dir, child.id());
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("nats-server exited with {status}:\n{}", log_tail(dir));
        }
        if let Some(port) = tokio::fs::read_to_string(&file)
            .await
            .ok()
            .and_then(|text| parse_client_port(&text))
        {
            return port;
        }
        if Instant::now() >= deadline {
            panic!(
                "nats-server wrote no ports file within {START_TIMEOUT:?}:\n{}",
                log_tail(dir)
            );
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

fn ports_file(dir: &Path, pid: u32) -> PathBuf {
    dir.join(format!("nats-server_{pid}.ports"))
}

/// Extracts the port of the first client URL from the ports file JSON,
/// e.g. `{"nats":["nats://127.0.0.1:34367"]}`.
fn parse_client_port(text: &str) -> Option<u16> {
    let start = text.find("nats://")? + "nats://".len();
    let rest = &text[start..];
    let end = rest.find('"')?;
    let (_, port) = rest[..end].rsplit_once(':')?;
    port.parse().ok()
}

/// True when a client connects and JetStream answers an account-info
/// request without an error.
///
/// Sent as a raw `$JS.API.INFO` request: async-nats 0.51's `query_account`
/// cannot parse the reply of Debian's nats-server 2.9.
async fn probe(url: &str) -> bool {
    let attempt = async {
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(PROBE_TIMEOUT)
            .connect(url)
            .await
            .ok()?;
        let reply = client.request("$JS.API.INFO", "".into()).await.ok()?;
        let body = std::str::from_utf8(&reply.payload).ok()?;
        (body.contains("account_info_response") && !body.contains("\"error\"")).then_some(())
    };
    matches!(
        tokio::time::timeout(PROBE_TIMEOUT, attempt).await,
        Ok(Some(()))
    )
}

/// The last lines of the server log, for panic messages.
fn log_tail(dir: &Path) -> String {
    let log = std::fs::read_to_string(dir.join("nats.log")).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_ports_file() {
        assert_eq!(
            parse_client_port(r#"{"nats":["nats://127.0.0.1:34367"]}"#),
            Some(34367)
        );
        assert_eq!(parse_client_port("{}"), None);
    }
}
