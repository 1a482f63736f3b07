//! The `omnibus` binary as a child process, for crash tests (`kill -9`).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use omnibus_server::config::{ENV_GRPC_ADDR, ENV_HTTP_ADDR};
use omnibus_testkit::{free_port, wait_until};

/// A running `omnibus serve <service>` process; killed on drop.
pub struct ChildServer {
    child: Child,
    http_port: u16,
    grpc_port: u16,
}

impl ChildServer {
    /// Starts `binary serve all` with `env` and waits until it is ready.
    pub async fn start(binary: &str, env: &[(&'static str, String)]) -> Self {
        Self::start_service(binary, "all", env).await
    }

    /// Starts `binary serve <service>` (`timers`, `conversations`, …) with
    /// `env` and waits until it is ready.
    pub async fn start_service(
        binary: &str,
        service: &str,
        env: &[(&'static str, String)],
    ) -> Self {
        Self::start_logging(binary, service, env, Stdio::null()).await
    }

    /// Like [`start_service`](Self::start_service), with its log lines
    /// (stdout) going to `log`; `env` may set `RUST_LOG` (default `warn`).
    pub async fn start_logging(
        binary: &str,
        service: &str,
        env: &[(&'static str, String)],
        log: impl Into<Stdio>,
    ) -> Self {
        let (http_port, grpc_port) = (free_port(), free_port());
        let child = Command::new(binary)
            .args(["serve", service])
            .env("RUST_LOG", "warn")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .env(ENV_HTTP_ADDR, format!("127.0.0.1:{http_port}"))
            .env(ENV_GRPC_ADDR, format!("127.0.0.1:{grpc_port}"))
            .stdout(log)
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the omnibus binary");
        let server = Self {
            child,
            http_port,
            grpc_port,
        };
        let url = format!("{}/readyz", server.http_url());
        let client = reqwest::Client::new();
        wait_until(
            "the child server to be ready",
            // Generous: debug builds start slowly while other tests load the machine.
            Duration::from_secs(60),
            || {
                let request = client.get(&url).send();
                async move { request.await.ok().filter(|r| r.status().is_success()) }
            },
        )
        .await;
        server
    }

    /// Base URL of its webhooks.
    pub fn http_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// Base URL of its gRPC API.
    pub fn grpc_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.grpc_port)
    }

    /// SIGTERM, as Kubernetes stops a pod, then waits up to `grace` for the
    /// process to exit (SIGKILL after that). A graceful stop gives back the
    /// leases it holds, so a successor takes over at once instead of after
    /// their time to live.
    pub async fn terminate(&mut self, grace: Duration) {
        let terminated = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .is_ok_and(|status| status.success());
        let deadline = tokio::time::Instant::now() + grace;
        while terminated && tokio::time::Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.kill9();
    }

    /// SIGKILL: no chance to flush, ack or commit anything.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        self.kill9();
    }
}
