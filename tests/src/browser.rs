//! A real headless Chromium for the console's end-to-end tests, driven over
//! WebDriver by Debian's `chromedriver` (started on a free port per test).
//! Background networking is off: the console must work with nothing from
//! outside. A small client of the W3C WebDriver protocol, enough for
//! navigating, clicking, typing, reading text, running a script and taking
//! screenshots.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

/// The WebDriver element reference key.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long a page may take to show what a test waits for.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// One Chromium session; the browser and its driver stop on drop.
pub struct Browser {
    driver: Child,
    port: u16,
    session: String,
    http: reqwest::Client,
}

/// An element found on the page.
#[derive(Debug, Clone)]
pub struct Element(String);

impl Browser {
    /// Starts chromedriver and a headless Chromium `width` × `height`.
    pub async fn start(width: u32, height: u32) -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new(chromedriver())
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver runs (make deps installs Debian's chromium-driver)");
        let http = reqwest::Client::new();
        let status = format!("http://127.0.0.1:{port}/status");
        omnibus_testkit::wait_until("chromedriver to listen", PATIENCE, || {
            let request = http.get(&status).send();
            async move { request.await.ok().filter(|r| r.status().is_success()) }
        })
        .await;
        let mut browser = Browser {
            driver,
            port,
            session: String::new(),
            http,
        };
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {
                "binary": chromium(),
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu",
                    "--disable-dev-shm-usage", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run",
                    "--disable-default-apps", "--hide-scrollbars",
                    format!("--window-size={width},{height}"),
                ],
            },
        }}});
        let created = browser.call("POST", "/session", capabilities).await;
        browser.session = created["sessionId"]
            .as_str()
            .expect("a WebDriver session id")
            .to_owned();
        browser
    }

    async fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("http://127.0.0.1:{}{path}", self.port);
        let request = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url).json(&body),
        };
        let response = request.send().await.expect("webdriver request");
        let status = response.status();
        let mut value: Value = response.json().await.expect("webdriver JSON");
        assert!(status.is_success(), "webdriver {method} {path}: {value}");
        if path == "/session" {
            return value["value"].take();
        }
        value["value"].take()
    }

    async fn session(&self, method: &str, path: &str, body: Value) -> Value {
        self.call(method, &format!("/session/{}{path}", self.session), body)
            .await
    }

    /// Opens `url`.
    pub async fn goto(&self, url: &str) {
        self.session("POST", "/url", json!({ "url": url })).await;
    }

    /// The current URL.
    pub async fn url(&self) -> String {
        self.session("GET", "/url", Value::Null)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The first element matching `css`, if any now.
    pub async fn find_now(&self, css: &str) -> Option<Element> {
        let url = format!(
            "http://127.0.0.1:{}/session/{}/elements",
            self.port, self.session
        );
        let response = self
            .http
            .post(url)
            .json(&json!({"using": "css selector", "value": css}))
            .send()
            .await
            .ok()?;
        let value: Value = response.json().await.ok()?;
        let id = value["value"].as_array()?.first()?[ELEMENT].as_str()?;
        Some(Element(id.to_owned()))
    }

    /// Waits for an element matching `css`.
    pub async fn find(&self, css: &str) -> Element {
        omnibus_testkit::wait_until(&format!("{css} on the page"), PATIENCE, || {
            self.find_now(css)
        })
        .await
    }

    /// Waits until the text of `css` contains `text`.
    pub async fn wait_text(&self, css: &str, text: &str) {
        omnibus_testkit::wait_until(&format!("{text:?} in {css}"), PATIENCE, || async {
            let element = self.find_now(css).await?;
            self.text_of(&element).await.contains(text).then_some(())
        })
        .await;
    }

    /// The visible text of an element (empty when it went away).
    pub async fn text_of(&self, element: &Element) -> String {
        let url = format!(
            "http://127.0.0.1:{}/session/{}/element/{}/text",
            self.port, self.session, element.0
        );
        let Ok(response) = self.http.get(url).send().await else {
            return String::new();
        };
        let value: Value = response.json().await.unwrap_or_default();
        value["value"].as_str().unwrap_or_default().to_owned()
    }

    /// The visible text of the first element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        let element = self.find(css).await;
        self.text_of(&element).await
    }

    /// Clicks the first element matching `css`.
    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.session("POST", &format!("/element/{}/click", element.0), json!({}))
            .await;
    }

    /// Replaces the value of the field matching `css` with `text`.
    pub async fn fill(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.session("POST", &format!("/element/{}/clear", element.0), json!({}))
            .await;
        self.session(
            "POST",
            &format!("/element/{}/value", element.0),
            json!({ "text": text }),
        )
        .await;
    }

    /// Runs `script` (a function body) in the page and returns its result.
    pub async fn script(&self, script: &str) -> Value {
        self.session(
            "POST",
            "/execute/sync",
            json!({"script": script, "args": []}),
        )
        .await
    }

    /// Waits until `script` returns `true`.
    pub async fn wait_script(&self, what: &str, script: &str) {
        omnibus_testkit::wait_until(what, PATIENCE, || async {
            (self.script(script).await == Value::Bool(true)).then_some(())
        })
        .await;
    }

    /// Resizes the window.
    pub async fn resize(&self, width: u32, height: u32) {
        self.session(
            "POST",
            "/window/rect",
            json!({"width": width, "height": height}),
        )
        .await;
    }

    /// Saves a PNG of the viewport as `target/console-screenshots/<name>.png`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let data = self.session("GET", "/screenshot", Value::Null).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().expect("screenshot data"))
            .expect("base64 PNG");
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/console-screenshots");
        std::fs::create_dir_all(&dir).expect("screenshot directory");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }

    /// Messages the pages wrote to the browser console at `SEVERE` level
    /// (errors, failed loads), drained.
    pub async fn console_errors(&self) -> Vec<String> {
        let logs = self
            .session("POST", "/se/log", json!({"type": "browser"}))
            .await;
        logs.as_array()
            .into_iter()
            .flatten()
            .filter(|entry| entry["level"] == "SEVERE")
            .map(|entry| entry["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

impl Drop for Browser {
    /// Ends the session (which closes Chromium) with a plain blocking HTTP
    /// request, then stops the driver.
    fn drop(&mut self) {
        if !self.session.is_empty()
            && let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port))
        {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let request = format!(
                "DELETE /session/{} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                self.session
            );
            if stream.write_all(request.as_bytes()).is_ok() {
                let mut sink = Vec::new();
                let _ = stream.read_to_end(&mut sink);
            }
        }
        let _ = self.driver.start_kill();
    }
}

/// Debian's `chromium-driver`.
fn chromedriver() -> &'static str {
    "chromedriver"
}

/// Debian's `chromium`.
fn chromium() -> &'static str {
    "/usr/bin/chromium"
}
