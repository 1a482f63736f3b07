//! The policy against real listeners on loopback.

use std::net::SocketAddr;

use axum::Router;
use axum::routing::any;
use tokio::net::TcpListener;

use super::*;

/// A server on `ip` that answers every request with 200 and counts them.
async fn server(ip: &str) -> (SocketAddr, Arc<std::sync::atomic::AtomicUsize>) {
    let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = hits.clone();
    let app = Router::new().fallback(any(move || {
        counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        async { "ok" }
    }));
    let listener = TcpListener::bind((ip, 0)).await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, hits)
}

fn loopback_only() -> Egress {
    Egress::new("127.0.0.1/32".parse().expect("list"))
}

#[tokio::test]
async fn an_allowed_address_is_reached() {
    let (addr, hits) = server("127.0.0.1").await;
    let client = loopback_only().client().expect("client");
    let answer = client
        .get(format!("http://{addr}/"))
        .send()
        .await
        .expect("sent");
    assert_eq!(answer.status(), 200);
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn other_internal_addresses_are_never_reached_in_any_spelling() {
    let (addr, hits) = server("127.0.0.2").await;
    let port = addr.port();
    let client = loopback_only().client().expect("client");
    for url in [
        format!("http://127.0.0.2:{port}/"),
        format!("http://0x7f000002:{port}/"),
        format!("http://2130706434:{port}/"),
        format!("http://[::ffff:127.0.0.2]:{port}/"),
    ] {
        let error = client.post(&url).send().await.expect_err("refused");
        let refused = EgressError::find(&error).unwrap_or_else(|| panic!("{url}: {error:?}"));
        assert_eq!(
            refused.to_string(),
            "address 127.0.0.2 is not allowed (OMNIBUS_OUTBOUND_ALLOW)"
        );
    }
    assert_eq!(
        hits.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "never reached"
    );
}

#[tokio::test]
async fn names_resolving_to_refused_addresses_are_refused() {
    let (addr, hits) = server("127.0.0.1").await;
    let nothing = Egress::default().client().expect("client");
    let url = format!("http://localhost:{}/", addr.port());
    let error = nothing.get(&url).send().await.expect_err("refused");
    assert!(EgressError::find(&error).is_some(), "{error:?}");
    let by_name = Egress::new("localhost".parse().expect("list"));
    let answer = by_name.client().expect("client").get(&url).send().await;
    assert_eq!(answer.expect("allowed by name").status(), 200);
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn redirects_are_not_followed_and_answers_are_capped() {
    let app = Router::new()
        .route(
            "/away",
            any(|| async { axum::response::Redirect::temporary("/big") }),
        )
        .route("/big", any(|| async { "x".repeat(10_000) }));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = loopback_only().client().expect("client");
    let away = client
        .get(format!("http://{addr}/away"))
        .send()
        .await
        .expect("sent");
    assert_eq!(away.status(), 307);
    let big = client
        .get(format!("http://{addr}/big"))
        .send()
        .await
        .expect("sent");
    assert_eq!(read_capped(big, 100).await.expect("read").len(), 100);
}
