//! The HTTP listener protects itself: half a request, a stalled body and an
//! idle keep-alive connection are each closed after their timeout (short
//! ones here), and connections beyond the cap wait instead of piling up.

use std::time::{Duration, Instant};

use omnibus_server::ListenerConfig;
use omnibus_tests::{Sandbox, SandboxOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const HEADERS: Duration = Duration::from_millis(1000);
const BODY: Duration = Duration::from_millis(2000);
const IDLE: Duration = Duration::from_millis(3000);
/// Scheduling on a loaded 2-core machine.
const SLACK: Duration = Duration::from_millis(2500);

async fn sandbox(max_connections: usize) -> Sandbox {
    Sandbox::start_with(SandboxOptions {
        listener: Some(ListenerConfig {
            header_timeout: HEADERS,
            body_timeout: BODY,
            idle_timeout: IDLE,
            max_connections,
        }),
        ..Default::default()
    })
    .await
}

async fn connect(sandbox: &Sandbox) -> TcpStream {
    let addr = sandbox.http_url().trim_start_matches("http://").to_owned();
    TcpStream::connect(addr).await.expect("connect")
}

/// Reads until the server closes the connection; returns what it sent and
/// when it closed, or panics when it is still open after `limit`.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, Instant) {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    let read_all = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return Instant::now(),
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    };
    let closed = tokio::time::timeout(limit, read_all)
        .await
        .unwrap_or_else(|_| panic!("the connection is still open after {limit:?}"));
    (String::from_utf8_lossy(&received).into_owned(), closed)
}

#[tokio::test]
async fn half_a_request_is_closed_at_the_header_timeout() {
    let sandbox = sandbox(64).await;
    let mut stream = connect(&sandbox).await;
    let started = Instant::now();
    stream
        .write_all(b"POST /webhooks/telegram/ch_x HTTP/1.1\r\nHost: omnibus\r\n")
        .await
        .unwrap();
    let (_, closed) = read_until_closed(&mut stream, HEADERS + SLACK).await;
    let after = closed - started;
    assert!(
        after >= HEADERS - Duration::from_millis(100),
        "closed after {after:?}"
    );
}

#[tokio::test]
async fn a_stalled_body_is_closed_at_the_body_timeout() {
    let sandbox = sandbox(64).await;
    // Verified headers: only then is the body read (and can stall).
    let channel = sandbox.telegram_channel("stalled-body-secret").await;
    let mut stream = connect(&sandbox).await;
    let head = format!(
        "POST /webhooks/telegram/{} HTTP/1.1\r\nHost: omnibus\r\n\
         x-telegram-bot-api-secret-token: stalled-body-secret\r\n\
         content-type: application/json\r\ncontent-length: 100000\r\n\r\n{{\"update_id\":",
        channel.id
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let (answer, closed) = read_until_closed(&mut stream, BODY + SLACK).await;
    let after = closed - started;
    assert!(
        after >= BODY - Duration::from_millis(100),
        "closed after {after:?}"
    );
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 4"),
        "a client error or nothing: {answer:?}"
    );
}

#[tokio::test]
async fn an_unverified_body_is_refused_before_it_is_read() {
    let sandbox = sandbox(64).await;
    let channel = sandbox.telegram_channel("header-only-secret").await;
    for (path, secret, status) in [
        (channel.id.as_str(), "wrong-secret", "HTTP/1.1 403"),
        ("ch_unknown", "header-only-secret", "HTTP/1.1 404"),
    ] {
        let mut stream = connect(&sandbox).await;
        let head = format!(
            "POST /webhooks/telegram/{path} HTTP/1.1\r\nHost: omnibus\r\n\
             x-telegram-bot-api-secret-token: {secret}\r\n\
             content-type: application/json\r\ncontent-length: 100000\r\n\r\n{{\"update_id\":"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let started = Instant::now();
        let (answer, _) = read_until_closed(&mut stream, BODY + SLACK).await;
        assert!(answer.starts_with(status), "{path}: {answer:?}");
        assert!(
            started.elapsed() < BODY,
            "{path}: answered without waiting for the body ({:?})",
            started.elapsed()
        );
    }
}

#[tokio::test]
async fn keep_alive_connections_close_when_idle_not_at_the_header_timeout() {
    let sandbox = sandbox(64).await;
    let mut stream = connect(&sandbox).await;
    let request = b"GET /healthz HTTP/1.1\r\nHost: omnibus\r\n\r\n";
    stream.write_all(request).await.unwrap();
    let mut buf = [0u8; 1024];
    let n = stream.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{:?}", &buf[..n]);
    let answered = Instant::now();
    let (_, closed) = read_until_closed(&mut stream, IDLE + SLACK).await;
    let idle = closed - answered;
    assert!(
        idle >= IDLE - Duration::from_millis(300),
        "an idle keep-alive connection lives for the idle timeout, not the header one: {idle:?}"
    );
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_slot() {
    let sandbox = sandbox(4).await;
    // Four connections hold every slot with half a request each.
    let mut stalled = Vec::new();
    for _ in 0..4 {
        let mut stream = connect(&sandbox).await;
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\n")
            .await
            .unwrap();
        stalled.push(stream);
    }
    // The fifth is queued by the kernel, not served, until a slot frees:
    // here when the stalled ones hit the header timeout.
    let started = Instant::now();
    let mut fifth = connect(&sandbox).await;
    fifth
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: omnibus\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let (answer, _) = read_until_closed(&mut fifth, HEADERS + SLACK * 2).await;
    let waited = started.elapsed();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    assert!(
        waited >= HEADERS - Duration::from_millis(300),
        "the fifth connection was served at once ({waited:?}): the cap is not applied"
    );
}
