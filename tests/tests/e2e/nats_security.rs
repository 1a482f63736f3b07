//! The bus against a NATS server in operator (JWT) mode over TLS:
//! `OMNIBUS_NATS_CREDS` (a credentials file: user JWT and NKey seed) and
//! `OMNIBUS_NATS_CA` (the CA that signed the server's certificate). The
//! operator, account and user are made here with the `nkeys` crate and
//! their JWTs signed by hand (nats-server 2.9, `resolver: MEMORY`); the CA
//! and the server certificate with `rcgen`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use nkeys::KeyPair;
use omnibus_bus::{Bus, BusConfig, BusError};
use omnibus_proto::Event;
use serde_json::json;
use tempfile::TempDir;

use crate::support::PATIENCE;

#[tokio::test]
async fn the_bus_signs_in_with_a_creds_file_over_tls() {
    let server = SecureNats::start().await;
    let config = BusConfig {
        nats_url: server.url(),
        stream: "SECURE".into(),
        credentials_file: Some(server.creds.clone()),
        ca_file: Some(server.ca.clone()),
        ..BusConfig::default()
    };
    let bus = server.connect(&config).await;
    let subject = bus.subjects().channel("ch_secure");
    let event = Event {
        id: "ev_secure_1".into(),
        channel_id: "ch_secure".into(),
        ..Default::default()
    };
    bus.publish(subject.clone(), &event).await.expect("publish");
    let (_, stored) = bus
        .last_event(&subject)
        .await
        .expect("read back")
        .expect("the event");
    assert_eq!(stored.id, "ev_secure_1");

    let without_creds = BusConfig {
        credentials_file: None,
        ..config.clone()
    };
    assert!(
        Bus::connect(&without_creds).await.is_err(),
        "no credentials, no connection"
    );
    let without_ca = BusConfig {
        ca_file: None,
        ..config.clone()
    };
    assert!(
        Bus::connect(&without_ca).await.is_err(),
        "a server certificate no trusted CA signed is refused"
    );
    let missing = BusConfig {
        credentials_file: Some(server.dir.path().join("missing.creds")),
        ..config
    };
    let err = Bus::connect(&missing).await.err().expect("a missing file");
    assert!(matches!(err, BusError::Config(_)), "{err}");
    assert!(err.to_string().contains("missing.creds"), "{err}");
}

/// A nats-server in operator mode with TLS, and the files a client needs.
struct SecureNats {
    child: Child,
    dir: TempDir,
    port: u16,
    creds: PathBuf,
    ca: PathBuf,
}

impl SecureNats {
    async fn start() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("omnibus-nats-secure-")
            .tempdir()
            .expect("temp dir");
        let path = dir.path();
        let (ca, cert, key) = write_pki(path);
        let operator = KeyPair::new_operator();
        let account = KeyPair::new_account();
        let system = KeyPair::new_account();
        let user = KeyPair::new_user();
        let operator_jwt = jwt(
            &operator,
            &operator.public_key(),
            json!({"type": "operator"}),
        );
        let account_jwt = jwt(&operator, &account.public_key(), account_claims());
        let system_jwt = jwt(&operator, &system.public_key(), json!({"type": "account"}));
        let user_jwt = jwt(&account, &user.public_key(), user_claims());
        let creds = path.join("omnibus.creds");
        std::fs::write(&creds, creds_file(&user_jwt, &user.seed().unwrap())).unwrap();
        let config = format!(
            "listen: \"127.0.0.1:-1\"\n\
             operator: \"{operator_jwt}\"\n\
             resolver: MEMORY\n\
             system_account: {system}\n\
             resolver_preload: {{ {account}: \"{account_jwt}\", {system}: \"{system_jwt}\" }}\n\
             jetstream {{ store_dir: \"{store}\" }}\n\
             tls {{ cert_file: \"{cert}\", key_file: \"{key}\" }}\n",
            account = account.public_key(),
            system = system.public_key(),
            store = path.join("jetstream").display(),
            cert = cert.display(),
            key = key.display(),
        );
        std::fs::write(path.join("nats.conf"), config).unwrap();
        let child = Command::new("nats-server")
            .arg("-c")
            .arg(path.join("nats.conf"))
            .arg("-l")
            .arg(path.join("nats.log"))
            .arg("--ports_file_dir")
            .arg(path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server is installed (`make deps`)");
        let mut child = child;
        let port = wait_for_port(path, &mut child).await;
        Self {
            child,
            dir,
            port,
            creds,
            ca,
        }
    }

    /// Connects, retrying while the server starts; panics with the
    /// client's error and the server's log when it never works.
    async fn connect(&self, config: &BusConfig) -> Bus {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            match Bus::connect(config).await {
                Ok(bus) => return bus,
                Err(err) if tokio::time::Instant::now() >= deadline => {
                    let log = std::fs::read_to_string(self.dir.path().join("nats.log"));
                    panic!("cannot sign in: {err}\n{}", log.unwrap_or_default());
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}

impl Drop for SecureNats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads the port from the ports file; panics with the log if the server exits.
async fn wait_for_port(dir: &Path, child: &mut Child) -> u16 {
    let ports = dir.join(format!("nats-server_{}.ports", child.id()));
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Ok(text) = std::fs::read_to_string(&ports)
            && let Some(at) = text.find("127.0.0.1:")
        {
            let digits: String = text[at + "127.0.0.1:".len()..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Ok(port) = digits.parse() {
                return port;
            }
        }
        let exited = matches!(child.try_wait(), Ok(Some(_)));
        if exited || tokio::time::Instant::now() >= deadline {
            let log = std::fs::read_to_string(dir.join("nats.log")).unwrap_or_default();
            panic!("the secure nats-server did not start (exited: {exited}):\n{log}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A CA, and a certificate for 127.0.0.1 it signed: (ca, cert, key) files.
fn write_pki(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair as CertKey};
    let ca_key = CertKey::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let server_key = CertKey::generate().unwrap();
    let server = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .unwrap()
        .signed_by(&server_key, &ca, &ca_key)
        .unwrap();
    let files = (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server-key.pem"),
    );
    std::fs::write(&files.0, ca.pem()).unwrap();
    std::fs::write(&files.1, server.pem()).unwrap();
    std::fs::write(&files.2, server_key.serialize_pem()).unwrap();
    files
}

/// A NATS v2 JWT for `subject`, signed by `issuer`.
fn jwt(issuer: &KeyPair, subject: &str, mut nats: serde_json::Value) -> String {
    nats["version"] = json!(2);
    let header = URL_SAFE_NO_PAD.encode(r#"{"typ":"JWT","alg":"ed25519-nkey"}"#);
    let claims = json!({
        "jti": unique_id(),
        "iat": omnibus_core::now_ms() / 1000,
        "iss": issuer.public_key(),
        "name": "omnibus-test",
        "sub": subject,
        "nats": nats,
    });
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signature = issuer.sign(format!("{header}.{body}").as_bytes()).unwrap();
    format!("{header}.{body}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// Unique enough for a JWT id within one test.
fn unique_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_nanos();
    format!("{nanos:x}")
}

/// An account with JetStream and no other limits.
fn account_claims() -> serde_json::Value {
    json!({
        "type": "account",
        "limits": {
            "subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1,
            "wildcards": true, "conn": -1, "leaf": -1,
            "mem_storage": -1, "disk_storage": -1, "streams": -1, "consumer": -1
        },
        "default_permissions": {"pub": {}, "sub": {}}
    })
}

fn user_claims() -> serde_json::Value {
    json!({"type": "user", "pub": {}, "sub": {}, "subs": -1, "data": -1, "payload": -1})
}

/// The `.creds` format `nsc` writes.
fn creds_file(jwt: &str, seed: &str) -> String {
    format!(
        "-----BEGIN NATS USER JWT-----\n{jwt}\n------END NATS USER JWT------\n\n\
         ************************* IMPORTANT *************************\n\
         NKEY Seed printed below can be used to sign and prove identity.\n\
         NKEYs are sensitive and should be treated as secrets.\n\n\
         -----BEGIN USER NKEY SEED-----\n{seed}\n------END USER NKEY SEED------\n"
    )
}
