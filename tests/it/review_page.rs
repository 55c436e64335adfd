//! The reviewer page in a real browser: headless Chromium driven through chromedriver with
//! fantoccini, against the server running in-process with API keys on. It checks the page's
//! headers, the key box, the queue (filters, newest first, paging, keyboard), every ticket's
//! evidence highlighting against the API's offsets (including text with emoji, where UTF-16
//! and character offsets differ), that hostile ticket text renders as text and runs nothing,
//! and corrections saved through the form (then read back through the API).
//!
//! Where chromedriver or Chromium is not installed (`apt-get install chromium chromium-driver`)
//! it fails when `TRIAGE_REQUIRE_BROWSER=1` (`.ci/run` sets it, so CI never counts an unrun
//! browser test as passed) and otherwise skips, saying why on stdout and stderr (`cargo test
//! -- --nocapture` shows it). A screenshot of the ticket view is written to
//! `target/review-page.png`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context, Result};
use axum::body::Bytes;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, Request};
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use triage::server::auth::{hash_key, Auth};
use triage::server::{run, ServerConfig};

use crate::common::app_state;

/// The test's API key: roles `classify` (to make decisions) and `review` (the page's API).
const KEY: &str = "review-page-test-key";

const XSS_BODY: &str = r#"<script>window.__xss=1</script> "><img src=x onerror="window.__xss=2"> refund please"#;

// ---- the tools: chromedriver and Chromium ---------------------------------------------------

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|candidate| candidate.is_file())
}

/// chromedriver and the browser binary, or why the test cannot run here.
fn browser_tools() -> Result<(PathBuf, PathBuf), String> {
    let driver = Some(PathBuf::from("/usr/bin/chromedriver"))
        .filter(|p| p.is_file())
        .or_else(|| on_path("chromedriver"))
        .ok_or("chromedriver is not installed (/usr/bin/chromedriver or on PATH)")?;
    let browser = std::env::var_os("CHROME")
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .or_else(|| ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"].iter().find_map(|n| on_path(n)))
        .ok_or("Chromium is not installed (chromium, chromium-browser or google-chrome on PATH, or $CHROME)")?;
    Ok((driver, browser))
}

/// A chromedriver process, killed when dropped (also when the test panics).
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start(binary: &Path) -> Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let driver = Self { child, url: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            ensure!(Instant::now() < deadline, "chromedriver did not listen on port {port} within 20 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(driver)
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn open_browser(driver: &Driver, browser: &Path, profile: &Path) -> Result<Client> {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": browser,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1440,1400",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .context("opening a Chromium session through chromedriver")
}

// ---- the API, over HTTP -----------------------------------------------------------------------

struct Api {
    http: hyper_util::client::legacy::Client<HttpConnector, Full<Bytes>>,
    address: SocketAddr,
}

impl Api {
    fn new(address: SocketAddr) -> Self {
        Self { http: hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build_http(), address }
    }

    async fn raw(&self, method: &str, path: &str, body: Option<&Value>) -> Result<(u16, HeaderMap, Bytes)> {
        let request = Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.address))
            .header(AUTHORIZATION, format!("Bearer {KEY}"))
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string()))))?;
        let response = self.http.request(request).await.with_context(|| format!("{method} {path}"))?;
        let (parts, body) = response.into_parts();
        Ok((parts.status.as_u16(), parts.headers, body.collect().await?.to_bytes()))
    }

    /// The JSON answer, which must have status `expect`.
    async fn json(&self, method: &str, path: &str, body: Option<&Value>, expect: u16) -> Result<Value> {
        let (status, _, bytes) = self.raw(method, path, body).await?;
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        ensure!(status == expect, "{method} {path}: status {status}, expected {expect}: {value}");
        Ok(value)
    }
}

// ---- browser helpers ----------------------------------------------------------------------

/// Runs `script` (a function body; `arguments` holds `args`) in the page.
async fn js(client: &Client, script: &str, args: Vec<Value>) -> Result<Value> {
    client.execute(script, args).await.with_context(|| format!("running in the page: {script}"))
}

/// Waits until the script `condition` returns something truthy; returns that value.
async fn wait_for(client: &Client, what: &str, condition: &str, args: Vec<Value>) -> Result<Value> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let value = js(client, condition, args.clone()).await?;
        let truthy = !matches!(&value, Value::Null | Value::Bool(false)) && value != json!(0) && value != json!("");
        if truthy {
            return Ok(value);
        }
        if Instant::now() > deadline {
            let banner = js(client, "return document.getElementById('global-error').textContent", vec![]).await?;
            bail!("timed out waiting for {what} (page error banner: {banner})");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Moves focus back to the page body, where the shortcuts apply.
async fn unfocus(client: &Client) -> Result<()> {
    js(client, "if (document.activeElement) document.activeElement.blur()", vec![]).await?;
    Ok(())
}

/// Sends keys to whatever has focus (the page body when nothing else does).
async fn press(client: &Client, keys: &str) -> Result<()> {
    client.active_element().await?.send_keys(keys).await.with_context(|| format!("pressing {keys:?}"))
}

async fn text_of(client: &Client, css: &str) -> Result<String> {
    let value =
        js(client, "const n = document.querySelector(arguments[0]); return n ? n.textContent : null", vec![json!(css)]).await?;
    value.as_str().map(str::to_string).ok_or_else(|| anyhow!("no element {css}"))
}

async fn count(client: &Client, css: &str) -> Result<Value> {
    js(client, "return document.querySelectorAll(arguments[0]).length", vec![json!(css)]).await
}

/// Opens decision `id` by clicking its queue row; waits until the ticket view shows it.
async fn open_row(client: &Client, id: &str) -> Result<()> {
    client.find(Locator::Css(&format!("[data-testid=queue-row][data-decision-id='{id}']"))).await?.click().await?;
    wait_for_ticket(client, id).await
}

async fn wait_for_ticket(client: &Client, id: &str) -> Result<()> {
    let shown = "const t = document.getElementById('ticket'); return !t.hidden && t.dataset.decisionId === arguments[0]";
    wait_for(client, &format!("decision {id} to show"), shown, vec![json!(id)]).await?;
    Ok(())
}

/// Every evidence span in the ticket text, as the page drew it.
async fn drawn_evidence(client: &Client) -> Result<Vec<Value>> {
    let spans = js(
        client,
        "return Array.from(document.querySelectorAll('#ticket-text .evidence')).map(s => ({
            field: s.closest('#ticket-subject') ? 'subject' : (s.closest('#ticket-body') ? 'body' : 'elsewhere'),
            text: s.textContent, weight: Number(s.dataset.weight), head: s.dataset.head,
            start: Number(s.dataset.start), end: Number(s.dataset.end), classes: s.className,
            title: s.title, background: getComputedStyle(s).backgroundColor }))",
        vec![],
    )
    .await?;
    Ok(spans.as_array().cloned().unwrap_or_default())
}

/// The page's highlighting of `head` agrees with the API: same phrases, each at its character
/// offsets (text taken with `chars()`, as the server counts), coloured by sign.
/// Evidence keys the policy adds after the model heads, when it read such words.
const POLICY_EVIDENCE: [&str; 2] = ["severity", "impact"];

fn check_evidence(decision: &Value, head: &str, drawn: &[Value]) -> Result<()> {
    let api = decision["response"]["explanation"]["evidence"][head].as_array().cloned().unwrap_or_default();
    ensure!(
        drawn.len() == api.len(),
        "{head}: {} spans drawn, the API has {} phrases: {drawn:?} vs {api:?}",
        drawn.len(),
        api.len()
    );
    for phrase in &api {
        let field = phrase["field"].as_str().context("field")?;
        let start = phrase["start"].as_u64().context("start")? as usize;
        let end = phrase["end"].as_u64().context("end")? as usize;
        let source = decision["request"][field].as_str().context("field text")?;
        let slice: String = source.chars().skip(start).take(end - start).collect();
        ensure!(
            slice == phrase["text"].as_str().unwrap_or_default(),
            "API phrase {phrase} is not {field}[{start}..{end}] = {slice:?}"
        );
        let span = drawn
            .iter()
            .find(|s| s["field"] == field && s["start"] == json!(start) && s["end"] == json!(end))
            .with_context(|| format!("{head}: no span for {phrase} in {drawn:?}"))?;
        ensure!(span["text"].as_str() == Some(slice.as_str()), "{head}: span text {} is not {slice:?}", span["text"]);
        let weight = phrase["weight"].as_f64().context("weight")?;
        // Severity and impact words are the policy's, drawn in their own colour.
        let cue = POLICY_EVIDENCE.contains(&head);
        let sign = if cue {
            "cue"
        } else if weight >= 0.0 {
            "pos"
        } else {
            "neg"
        };
        let classes = span["classes"].as_str().unwrap_or_default();
        ensure!(classes.split(' ').any(|c| c == sign), "{head}: {phrase} drawn with classes {classes:?}, expected {sign}");
        let drawn_weight = span["weight"].as_f64().unwrap_or(f64::NAN);
        ensure!((drawn_weight - weight).abs() < 1e-4, "{head}: data-weight {drawn_weight} vs {weight}");
        ensure!(span["title"].as_str().unwrap_or_default().contains(head), "the tooltip names the head: {}", span["title"]);
        // The colour comes from the stylesheet (allowed by the CSP): green or red, never none.
        let rgb = if cue {
            "217, 119, 6"
        } else if weight >= 0.0 {
            "22, 163, 74"
        } else {
            "220, 38, 38"
        };
        let background = span["background"].as_str().unwrap_or_default();
        ensure!(background.contains(rgb), "{head}: background {background:?} is not the {sign} colour");
    }
    Ok(())
}

// ---- the test ------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_review_page_shows_the_queue_and_evidence_and_saves_corrections() {
    let (driver_path, browser_path) = match browser_tools() {
        Ok(tools) => tools,
        Err(reason) => {
            let required = std::env::var("TRIAGE_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
            assert!(!required, "TRIAGE_REQUIRE_BROWSER=1 but the browser test cannot run: {reason}");
            println!("SKIPPED (checked nothing): the reviewer page browser test: {reason}");
            eprintln!("SKIPPED (checked nothing): the reviewer page browser test: {reason}");
            return;
        }
    };

    let keys = format!("[[key]]\nname = \"review-page\"\nsha256 = \"{}\"\nroles = [\"classify\", \"review\"]\n", hash_key(KEY));
    let auth = Auth::from_toml(&keys, "test keys").expect("keys");
    let state = app_state(ServerConfig::default(), auth);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(run(listener, state, async {
        let _ = stopped.await;
    }));

    let driver = Driver::start(&driver_path).expect("chromedriver starts");
    let profile = tempfile::tempdir().expect("profile dir");
    let client = open_browser(&driver, &browser_path, profile.path()).await.expect("browser session");

    let outcome = scenario(&client, address).await;

    // Close the browser before chromedriver goes, so no Chromium is left behind.
    let _ = client.close().await;
    drop(driver);
    let _ = stop.send(());
    let _ = server.await;
    outcome.expect("review page scenario");
}

async fn scenario(client: &Client, address: SocketAddr) -> Result<()> {
    let api = Api::new(address);
    let base = format!("http://{address}");

    // The page and its assets: types, no-cache, and a CSP that allows no inline script.
    for (path, content_type) in
        [("/review", "text/html"), ("/review/review.js", "text/javascript"), ("/review/review.css", "text/css")]
    {
        let (status, headers, body) = api.raw("GET", path, None).await?;
        ensure!(status == 200 && !body.is_empty(), "GET {path}: {status}");
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        ensure!(header("content-type").starts_with(content_type), "{path}: content-type {}", header("content-type"));
        ensure!(header("cache-control") == "no-cache", "{path}: cache-control {}", header("cache-control"));
        let csp = header("content-security-policy");
        ensure!(
            csp.contains("script-src 'self'") && csp.contains("style-src 'self'") && !csp.contains("unsafe"),
            "{path}: CSP {csp}"
        );
    }

    // Decisions to review, oldest first (the queue shows them newest first).
    let tickets = [
        json!({"id": "RP-1", "subject": "Checkout down",
               "body": "Since 9:00 every payment fails for all our users. This is urgent, we are losing money!",
               "customer": {"id": "c-42", "plan": "enterprise", "account_type": "business", "vip": true}, "channel": "email"}),
        json!({"id": "RP-2", "subject": "<b>bold</b> invoice question",
               "body": "I was charged twice for my subscription this month, please refund the duplicate payment."}),
        json!({"id": "RP-3", "subject": "Café login 🚀 naïve issue",
               "body": "😡😡 I cannot log in since yesterday 🙁 — the password reset email never arrives, très urgent, we are blocked"}),
        json!({"id": "RP-4", "subject": "Refund", "body": XSS_BODY}),
    ];
    let mut ids = Vec::new();
    for ticket in &tickets {
        let answer = api.json("POST", "/v1/classify", Some(ticket), 200).await?;
        ids.push(answer["decision_id"].as_str().context("decision_id")?.to_string());
    }
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    let flagged = api.json("GET", "/v1/decisions?needs_review=true&limit=50", None, 200).await?;
    let flagged = flagged["items"].as_array().map_or(0, Vec::len);

    // Without a key the API refuses, and the page says why (the server's own message).
    client.goto(&format!("{base}/review?limit=3")).await?;
    let banner = "const b = document.getElementById('global-error'); return !b.hidden && b.textContent";
    let banner = wait_for(client, "the 401 message", banner, vec![]).await?;
    ensure!(banner.as_str().unwrap_or_default().contains("no API key"), "banner: {banner}");
    let listen = "window.__csp = []; document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI))";
    js(client, listen, vec![]).await?;

    // With the key the default view is the review queue: what the API calls flagged.
    client.find(Locator::Id("api-key")).await?.send_keys(KEY).await?;
    client.find(Locator::Id("api-key-save")).await?.click().await?;
    let loaded = "const s = document.getElementById('queue-status').textContent; return s.includes('decision') || s.includes('No decisions')";
    wait_for(client, "the queue to load", loaded, vec![]).await?;
    ensure!(
        js(client, "return document.getElementById('global-error').hidden", vec![]).await? == json!(true),
        "the error banner is gone"
    );
    let shown = count(client, "[data-testid=queue-row]").await?;
    ensure!(shown == json!(flagged.min(3)), "the needs-review view shows {shown} rows; the API flags {flagged}");

    // All decisions, newest first, three per page: "load more" brings the fourth.
    client.find(Locator::Id("filter-review")).await?.select_by_value("").await?;
    let first_page = "return document.querySelectorAll('[data-testid=queue-row]').length === 3 && !document.getElementById('queue-more').hidden";
    wait_for(client, "a full first page", first_page, vec![]).await?;
    client.find(Locator::Id("queue-more")).await?.click().await?;
    let second_page = "return document.querySelectorAll('[data-testid=queue-row]').length === 4 && document.getElementById('queue-more').hidden";
    wait_for(client, "the second page", second_page, vec![]).await?;
    let order = js(
        client,
        "return Array.from(document.querySelectorAll('[data-testid=queue-row]')).map(r => r.dataset.decisionId)",
        vec![],
    )
    .await?;
    ensure!(order == json!(newest_first), "queue order {order}, expected newest first {newest_first:?}");
    let subjects =
        js(client, "return Array.from(document.querySelectorAll('[data-testid=row-subject]')).map(r => r.textContent)", vec![])
            .await?;
    ensure!(subjects[2] == json!("<b>bold</b> invoice question"), "row subjects are text: {subjects}");

    // Keyboard: j j k j moves the selection to the third row, Enter opens it.
    unfocus(client).await?;
    for key in ["j", "j", "k", "j"] {
        press(client, key).await?;
    }
    let selected =
        js(client, "const s = document.querySelector('.queue-row.selected'); return s && s.dataset.decisionId", vec![]).await?;
    ensure!(selected == json!(newest_first[2]), "selected {selected}, expected the third row");
    press(client, &Key::Enter).await?;
    wait_for_ticket(client, &newest_first[2]).await?;

    // The <b> subject is text, everywhere it shows.
    ensure!(text_of(client, "#ticket-heading").await? == "<b>bold</b> invoice question", "heading");
    ensure!(text_of(client, "#ticket-subject").await? == "<b>bold</b> invoice question", "subject field");
    ensure!(count(client, "#ticket b, #queue-list b").await? == json!(0), "no <b> element was made");

    // Every ticket: the text is shown exactly, and each head's evidence (keys 1-3, the heads in
    // the model's order) matches the API.
    let model_heads: Vec<String> = serde_json::from_value(api.json("GET", "/v1/labels", None, 200).await?["head_order"].clone())?;
    ensure!(model_heads.len() == 3, "the default model's heads: {model_heads:?}");
    for id in &newest_first {
        open_row(client, id).await?;
        let decision = api.json("GET", &format!("/v1/decisions/{id}"), None, 200).await?;
        let request = &decision["request"];
        ensure!(
            text_of(client, "#ticket-subject").await? == request["subject"].as_str().unwrap_or_default(),
            "{id}: subject text"
        );
        ensure!(text_of(client, "#ticket-body").await? == request["body"].as_str().unwrap_or_default(), "{id}: body text");
        let heads = js(
            client,
            "return Array.from(document.querySelectorAll('[data-testid=evidence-head]')).map(b => b.dataset.head)",
            vec![],
        )
        .await?;
        let heads: Vec<String> = serde_json::from_value(heads)?;
        let mut expected = model_heads.clone();
        let api_evidence = &decision["response"]["explanation"]["evidence"];
        expected.extend(
            POLICY_EVIDENCE.iter().filter(|k| api_evidence[**k].as_array().is_some_and(|a| !a.is_empty())).map(|k| k.to_string()),
        );
        ensure!(heads == expected, "{id}: head buttons {heads:?}, expected {expected:?}");
        let mut spans = 0;
        for (index, head) in heads.iter().enumerate() {
            press(client, &(index + 1).to_string()).await?;
            let pressed =
                "return document.querySelector('[data-testid=evidence-head][aria-pressed=true]').dataset.head === arguments[0]";
            wait_for(client, &format!("{head} evidence"), pressed, vec![json!(head)]).await?;
            let drawn = drawn_evidence(client).await?;
            ensure!(drawn.iter().all(|s| s["head"] == json!(head)), "{id}: spans of another head: {drawn:?}");
            check_evidence(&decision, head, &drawn).with_context(|| format!("decision {id} ({})", request["id"]))?;
            spans += drawn.len();
        }
        ensure!(spans > 0, "{id}: no evidence highlighted at all");
        ensure!(count(client, "[data-testid=prediction-row]").await? == json!(3), "{id}: a prediction row per head");
        let rules = decision["response"]["explanation"]["rules"].as_array().cloned().unwrap_or_default();
        let hits = rules.iter().filter(|step| step["hit"] == json!(true)).count();
        ensure!(count(client, "[data-testid=rule-row]").await? == json!(rules.len()), "{id}: a row per trace step");
        ensure!(count(client, "[data-testid=rule-row][data-hit=true]").await? == json!(hits), "{id}: hit rules marked");
        let summary = decision["response"]["explanation"]["summary"].as_str().unwrap_or_default();
        ensure!(text_of(client, "#ticket-summary").await? == summary, "{id}: summary");
    }

    // The hostile ticket: shown as text, nothing ran, no element was made from it.
    open_row(client, &ids[3]).await?;
    let body = text_of(client, "#ticket-body").await?;
    ensure!(body == XSS_BODY && body.contains("<script>window.__xss=1</script>"), "body shown literally: {body:?}");
    ensure!(count(client, "#ticket img, #ticket script, #queue-list img").await? == json!(0), "elements made from ticket text");
    ensure!(js(client, "return typeof window.__xss", vec![]).await? == json!("undefined"), "window.__xss was set: a script ran");
    ensure!(js(client, "return document.scripts.length", vec![]).await? == json!(1), "only review.js is a script");

    // Shortcuts help: ? opens it, Escape closes it.
    unfocus(client).await?;
    press(client, "?").await?;
    wait_for(client, "the shortcuts dialog", "return document.getElementById('help').open", vec![]).await?;
    press(client, &Key::Escape).await?;
    wait_for(client, "the dialog to close", "return !document.getElementById('help').open", vec![]).await?;

    // A correction of the outage ticket: priority and category changed, with a note.
    let target = &ids[0];
    open_row(client, target).await?;
    let decision = api.json("GET", &format!("/v1/decisions/{target}"), None, 200).await?;
    let labels = api.json("GET", "/v1/labels", None, 200).await?;
    let current_category = decision["response"]["predictions"]["category"]["label"].as_str().context("category")?;
    let current_priority = decision["response"]["priority"]["level"].as_str().context("priority")?;
    let form_category = js(client, "return document.getElementById('fb-category').value", vec![]).await?;
    let form_priority = js(client, "return document.getElementById('fb-priority').value", vec![]).await?;
    ensure!(
        form_category == json!(current_category) && form_priority == json!(current_priority),
        "form prefilled with {form_category} {form_priority}"
    );
    let categories = labels["heads"]["category"].as_array().context("category labels")?;
    let category =
        categories.iter().filter_map(Value::as_str).find(|l| *l != current_category).context("another category")?.to_string();
    let levels = labels["priorities"].as_array().context("levels")?;
    let priority =
        levels.iter().filter_map(|p| p["level"].as_str()).find(|l| *l != current_priority).context("another level")?.to_string();

    let reviewer = client.find(Locator::Id("fb-reviewer")).await?;
    reviewer.clear().await?;
    reviewer.send_keys("Ana Reviewer").await?;
    client.find(Locator::Id("fb-priority")).await?.select_by_value(&priority).await?;
    client.find(Locator::Id("fb-category")).await?.select_by_value(&category).await?;
    client.find(Locator::Id("fb-note")).await?.send_keys("Payments outage <i>not</i> general").await?;
    client.find(Locator::Id("fb-submit")).await?.click().await?;
    let saved = "const s = document.getElementById('fb-status'); return s.className && s.textContent";
    let status = wait_for(client, "the save", saved, vec![]).await?;
    ensure!(status == json!("Saved as version 1"), "status line: {status}");
    wait_for(client, "the history", "return document.querySelectorAll('[data-testid=feedback-version]').length === 1", vec![])
        .await?;
    let stored = api.json("GET", &format!("/v1/decisions/{target}"), None, 200).await?;
    let feedback = &stored["feedback"][0];
    ensure!(feedback["version"] == json!(1) && feedback["reviewer"] == json!("Ana Reviewer"), "stored: {feedback}");
    ensure!(feedback["priority"] == json!(priority) && feedback["category"] == json!(category), "stored corrections: {feedback}");
    ensure!(feedback["note"] == json!("Payments outage <i>not</i> general"), "stored note: {feedback}");
    ensure!(feedback["urgency"].is_null() && feedback["sentiment"].is_null(), "unchanged labels are not sent: {feedback}");
    let history = text_of(client, "[data-testid=feedback-version]").await?;
    ensure!(history.contains("<i>not</i>") && history.contains(&category), "history shows the note as text: {history}");
    ensure!(count(client, "#feedback-history i").await? == json!(0), "no <i> element");
    let reviewed =
        "return document.querySelector(`[data-testid=queue-row][data-decision-id='${arguments[0]}']`).dataset.reviewed";
    ensure!(js(client, reviewed, vec![json!(target)]).await? == json!("true"), "the queue row is marked reviewed");
    let form_category = js(client, "return document.getElementById('fb-category').value", vec![]).await?;
    ensure!(form_category == json!(category), "the form now starts from the correction: {form_category}");

    // The helpdesk reports the first response: reopened, the ticket shows its SLA state.
    let answered = json!({"event_id": "first", "at": chrono::Utc::now().to_rfc3339(), "kind": "first_response"});
    api.json("POST", &format!("/v1/decisions/{target}/events"), Some(&answered), 201).await?;
    open_row(client, &ids[1]).await?;
    open_row(client, target).await?;
    let status = wait_for(
        client,
        "the ticket status",
        "const s = document.querySelector('[data-testid=ticket-status]'); return s && s.textContent",
        vec![],
    )
    .await?;
    ensure!(status == json!("open"), "status: {status}");
    let targets = text_of(client, "[data-testid=sla-state]").await?;
    ensure!(targets.starts_with("met"), "the first response was in time: {targets}");
    let states = js(
        client,
        "return Array.from(document.querySelectorAll('[data-testid=sla-state]')).map(n => n.textContent).join(' | ')",
        vec![],
    )
    .await?;
    let states = states.as_str().unwrap_or_default();
    ensure!(
        states.contains("running") && states.contains("due ") && !states.contains("[object"),
        "SLA targets as text: {states}"
    );
    ensure!(
        js(client, "return localStorage.getItem('triage.reviewer')", vec![]).await? == json!("Ana Reviewer"),
        "reviewer remembered"
    );

    // Ctrl+Enter from the note saves a second version (a note alone: the labels stand).
    let note = client.find(Locator::Id("fb-note")).await?;
    note.send_keys("checked again").await?;
    note.send_keys(&format!("{}{}{}", &*Key::Control, &*Key::Enter, &*Key::Null)).await?;
    let second = "return document.getElementById('fb-status').textContent === 'Saved as version 2'";
    wait_for(client, "version 2", second, vec![]).await?;
    let stored = api.json("GET", &format!("/v1/decisions/{target}"), None, 200).await?;
    let second = &stored["feedback"][1];
    ensure!(
        second["note"] == json!("checked again") && second["category"].is_null() && second["priority"].is_null(),
        "second version: {second}"
    );
    // After the save the keys are the queue's again: `j` moves the cursor, typing nothing.
    let in_form = "return document.getElementById('fb-form').contains(document.activeElement)";
    ensure!(js(client, in_form, vec![]).await? == json!(false), "focus left the form after Ctrl+Enter");
    let cursor = "const s = document.querySelector('.queue-row.selected'); return s ? Number(s.dataset.index) : -1";
    let before = js(client, cursor, vec![]).await?;
    let key = if before == json!(0) { "j" } else { "k" };
    press(client, key).await?;
    let after = js(client, cursor, vec![]).await?;
    ensure!(after != before, "{key} moved the cursor after the save ({before} -> {after})");
    ensure!(js(client, "return document.getElementById('fb-note').value", vec![]).await? == json!(""), "{key} typed nothing");
    // `s` goes to the form's first field to fill (the reviewer is known: the priority).
    press(client, "s").await?;
    ensure!(js(client, "return document.activeElement.id", vec![]).await? == json!("fb-priority"), "s focused the form");
    unfocus(client).await?;

    // The ticket view as a reviewer sees it, on the urgency evidence; nothing broke the CSP.
    unfocus(client).await?;
    press(client, "1").await?;
    js(client, "window.scrollTo(0, 0)", vec![]).await?;
    let violations = js(client, "return window.__csp", vec![]).await?;
    ensure!(violations == json!([]), "CSP violations: {violations}");
    let png = client.screenshot().await?;
    let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().context("target dir")?;
    std::fs::write(target_dir.join("review-page.png"), png)?;
    eprintln!("screenshot: {}", target_dir.join("review-page.png").display());

    // Refused corrections say why next to the form: a missing reviewer (caught before
    // sending), and feedback that says nothing (the server's 422 message).
    let reviewer = client.find(Locator::Id("fb-reviewer")).await?;
    reviewer.clear().await?;
    client.find(Locator::Id("fb-submit")).await?.click().await?;
    let status = text_of(client, "#fb-status").await?;
    ensure!(status.contains("reviewer"), "missing reviewer reported: {status}");
    reviewer.send_keys("Ana Reviewer").await?;
    client.find(Locator::Id("fb-submit")).await?.click().await?;
    let refused = "const s = document.getElementById('fb-status'); return s.className === 'error' && s.textContent.includes('note') && s.textContent";
    let status = wait_for(client, "the 422 message", refused, vec![]).await?;
    ensure!(status.as_str().unwrap_or_default().contains("give a note"), "server message shown: {status}");
    let stored = api.json("GET", &format!("/v1/decisions/{target}"), None, 200).await?;
    ensure!(stored["feedback"].as_array().map_or(0, Vec::len) == 2, "nothing more was stored");
    let corrected = text_of(client, "[data-testid=corrected]").await?;
    ensure!(corrected.contains(&priority) && corrected.contains(&category), "the header says what was corrected: {corrected}");

    // Opened by its #id, a decision's row carries the keyboard cursor.
    client.goto(&format!("{base}/review?limit=3#{}", newest_first[1])).await?;
    wait_for_ticket(client, &newest_first[1]).await?;
    let on_row = "const s = document.querySelector('.queue-row.selected'); return s && s.dataset.decisionId";
    wait_for(client, "the cursor on the opened row", &format!("{on_row} === arguments[0]"), vec![json!(newest_first[1])]).await?;

    // "Confirm as shown" records every label as it stands, unchanged.
    open_row(client, &ids[1]).await?;
    client.find(Locator::Id("fb-confirm")).await?.click().await?;
    wait_for(
        client,
        "the confirmation",
        "return document.getElementById('fb-status').textContent === 'Saved as version 1'",
        vec![],
    )
    .await?;
    let stored = api.json("GET", &format!("/v1/decisions/{}", ids[1]), None, 200).await?;
    let (feedback, response) = (&stored["feedback"][0], &stored["response"]);
    ensure!(feedback["priority"] == response["priority"]["level"], "confirmed priority: {feedback}");
    for head in ["urgency", "sentiment", "category"] {
        ensure!(feedback[head] == response["predictions"][head]["label"], "confirmed {head}: {feedback}");
    }
    ensure!(count(client, "[data-testid=corrected]").await? == json!(0), "a confirmation corrects nothing");

    // The reports page, with the key the reviewer entered: every table the API reports, the
    // volumes as charts, and no CSP violation.
    client.goto(&format!("{base}/reports")).await?;
    js(client, listen, vec![]).await?;
    let report = api.json("GET", "/v1/reports", None, 200).await?;
    let tables = report["tables"].as_array().map_or(0, Vec::len);
    let drawn = "return document.querySelectorAll('[data-testid=report-table]').length";
    wait_for(client, "the report tables", &format!("{drawn} === arguments[0]"), vec![json!(tables)]).await?;
    ensure!(count(client, "[data-testid=chart] rect").await? != json!(0), "volume charts drawn");
    let status = text_of(client, "#report-status").await?;
    ensure!(status.starts_with(&format!("{} decisions", report["decisions"])), "status line: {status}");
    let png = client.screenshot().await?;
    let target_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    std::fs::write(target_dir.join("reports-page.png"), png)?;
    let violations = js(client, "return window.__csp", vec![]).await?;
    ensure!(violations == json!([]), "CSP violations on /reports: {violations}");
    Ok(())
}
