//! The decision log on PostgreSQL, shared by several servers: what one server decides the
//! others list, read, correct and report; two reviewers on two servers both keep their
//! versions; retention runs once; a server killed mid-burst loses no acknowledged decision; a
//! database outage answers 503 and the server recovers by itself; the model and policy stores
//! in the same database serve every server, and a promotion or rollback reaches each on reload. Each test runs its own real
//! PostgreSQL cluster (`pg::TestPostgres`).

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{json, Value};
use triage::registry::{Kind, Store};
use triage::server::auth::Auth;
use triage::server::state::Decisions;
use triage::server::{AppState, ServerConfig};
use triage::store::{Location, Retention};

use crate::common::{app_state_on, call, default_model_dir, default_policy_path, default_sources};
use crate::pg::TestPostgres;
use crate::process::{acknowledged, keep_classifying, triage_cli, ServerProcess};

async fn server_on(pg: &TestPostgres, name: &str) -> AppState {
    let decisions = Decisions::open(&Location::Postgres(pg.url()), 64).await.expect("the PostgreSQL log opens");
    let config = ServerConfig { name: name.into(), ..ServerConfig::default() };
    app_state_on(decisions, default_sources(), config, Auth::Disabled)
}

fn ticket(i: usize) -> Value {
    json!({"id": format!("T-{i}"), "subject": format!("Checkout fails for order {i}"),
           "body": "Every card payment is declined since this morning.", "customer": {"plan": "enterprise"}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_sharing_a_postgres_log_see_and_correct_each_others_decisions() {
    let Some(pg) = TestPostgres::start("servers_sharing_a_postgres_log") else { return };
    let (a, b) = (server_on(&pg, "a").await, server_on(&pg, "b").await);
    let (status, ready) = call(&a, "GET", "/readyz", axum::body::Body::empty()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((ready["server"].as_str(), ready["decision_log"].as_str()), (Some("a"), Some("postgres")));

    let mut decided = Vec::new();
    for i in 0..8 {
        let server = if i % 2 == 0 { &a } else { &b };
        let (status, body) = call(server, "POST", "/v1/classify", ticket(i).to_string()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        decided.push(body);
    }
    let ids: BTreeSet<String> = decided.iter().map(|d| d["decision_id"].as_str().unwrap().to_string()).collect();

    // Either server lists every decision, whichever server made it.
    for server in [&a, &b] {
        let (_, page) = call(server, "GET", "/v1/decisions?limit=50", axum::body::Body::empty()).await;
        let listed: BTreeSet<String> =
            page["items"].as_array().unwrap().iter().map(|d| d["decision_id"].as_str().unwrap().to_string()).collect();
        assert_eq!(listed, ids);
    }

    // Two reviewers save feedback on the same decision at once, through different servers.
    let first = decided[0]["decision_id"].as_str().unwrap().to_string();
    let uri = format!("/v1/decisions/{first}/feedback");
    let (from_a, from_b) = tokio::join!(
        call(&a, "POST", &uri, json!({"reviewer": "ana", "priority": "P2"}).to_string()),
        call(&b, "POST", &uri, json!({"reviewer": "bo", "note": "customer confirmed"}).to_string()),
    );
    assert_eq!((from_a.0, from_b.0), (StatusCode::CREATED, StatusCode::CREATED), "{from_a:?} {from_b:?}");
    let versions: BTreeSet<u64> = [from_a.1["version"].as_u64().unwrap(), from_b.1["version"].as_u64().unwrap()].into();
    assert_eq!(versions, [1, 2].into(), "both versions kept");

    // An event recorded through one server is read back through the other, in the queue too.
    let event = json!({"event_id": "e-1", "at": chrono::Utc::now().to_rfc3339(), "kind": "first_response", "actor": "ana"});
    let (status, _) = call(&b, "POST", &format!("/v1/decisions/{first}/events"), event.to_string()).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, stored) = call(&a, "GET", &format!("/v1/decisions/{first}"), axum::body::Body::empty()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stored["feedback"].as_array().unwrap().len(), 2);
    assert_eq!(stored["events"][0]["event_id"], "e-1");
    assert_eq!(stored["response"]["decision_id"], first.as_str());
    let queue = decided[1]["queue"].as_str().unwrap();
    let (_, work) = call(&a, "GET", &format!("/v1/queues/{queue}"), axum::body::Body::empty()).await;
    let queued: Vec<&str> = work["items"].as_array().unwrap().iter().filter_map(|e| e["decision_id"].as_str()).collect();
    assert!(queued.contains(&decided[1]["decision_id"].as_str().unwrap()), "b's decision is in a's queue view: {work}");

    // Reports and the corrections export read the whole log.
    let (status, report) = call(&b, "GET", "/v1/reports?since=2020-01-01", axum::body::Body::empty()).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["decisions"], 8);
    // What reports read of each decision, copied by PostgreSQL's triggers, events included.
    let since = chrono::Utc::now() - chrono::Duration::hours(1);
    let period = a.decisions.store.reported(since, chrono::Utc::now()).await.expect("the period");
    let reported = period.decisions.iter().find(|d| d.decision_id == first).expect("the first decision");
    assert_eq!((reported.events.len(), reported.events[0].event_id.as_str()), (1, "e-1"));
    assert_eq!(reported.feedback.len(), 2);
    let category = reported.head("category").and_then(|head| head.label.as_deref());
    assert_eq!(category, decided[0]["predictions"]["category"]["label"].as_str());
    assert_eq!(reported.plan.as_deref(), decided[0]["sla"]["policy"].as_str());
    assert!(period.rules_traced.len() > 3, "{:?}", period.rules_traced);
    let corrections = a.decisions.store.corrections().await.expect("corrections");
    assert_eq!(corrections.len(), 1);
    assert_eq!((corrections[0].version, corrections[0].feedback.priority.as_deref()), (2, Some("P2")), "merged over both");

    // Retention runs once between the two servers.
    let now = chrono::Utc::now();
    let retention = |server: &str| Retention {
        older_than: now - chrono::Duration::days(365),
        now,
        skip_if_ran_after: now - chrono::Duration::hours(23),
        server: server.into(),
    };
    assert_eq!(a.decisions.store.prune(retention("a")).await.expect("prune"), Some(0));
    assert_eq!(b.decisions.store.prune(retention("b")).await.expect("prune"), None, "a ran it a moment ago");
    assert_eq!(pg.psql("SELECT server FROM maintenance WHERE task = 'retention'"), "a");
    assert_eq!(pg.psql("SELECT COUNT(*) FROM decisions"), "8");
}

fn stored_ids(pg: &TestPostgres) -> BTreeSet<String> {
    pg.psql("SELECT decision_id FROM decisions").lines().map(String::from).collect()
}

#[test]
fn a_server_killed_mid_burst_loses_no_acknowledged_decision_and_the_other_lists_both() {
    let Some(pg) = TestPostgres::start("a_server_killed_mid_burst") else { return };
    let url = pg.url();
    let doomed = ServerProcess::start(&url, &["--server-name", "doomed"]);
    let survivor = ServerProcess::start(&url, &["--server-name", "survivor"]);
    let (_, ready) = survivor.get("/readyz");
    assert_eq!((ready["server"].as_str(), ready["decision_log"].as_str()), (Some("survivor"), Some("postgres")));

    let stop = AtomicBool::new(false);
    let (doomed_acks, survivor_acks) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let (killed, kept) = std::thread::scope(|scope| {
        let killed = scope.spawn(|| keep_classifying(&doomed, "K", &stop, &doomed_acks));
        let kept = scope.spawn(|| keep_classifying(&survivor, "S", &stop, &survivor_acks));
        while doomed_acks.load(Ordering::Relaxed) < 30 {
            std::thread::sleep(Duration::from_millis(5));
        }
        doomed.signal("-KILL");
        while survivor_acks.load(Ordering::Relaxed) < 60 {
            std::thread::sleep(Duration::from_millis(5));
        }
        stop.store(true, Ordering::Relaxed);
        (killed.join().expect("client"), kept.join().expect("client"))
    });
    let (killed, kept) = (acknowledged(&killed), acknowledged(&kept));
    assert!(killed.len() >= 30 && kept.len() >= 60, "{} {}", killed.len(), kept.len());

    let stored = stored_ids(&pg);
    for id in killed.iter().chain(&kept) {
        assert!(stored.contains(id), "acknowledged decision {id} is not in the database");
    }
    let (status, page) = survivor.get("/v1/decisions?limit=500");
    assert_eq!(status, 200);
    let listed: BTreeSet<&str> = page["items"].as_array().unwrap().iter().filter_map(|d| d["decision_id"].as_str()).collect();
    assert!(killed.iter().all(|id| listed.contains(id.as_str())), "the survivor lists the killed server's decisions");
    assert!(kept.iter().all(|id| listed.contains(id.as_str())));
}

#[test]
fn classify_answers_503_while_the_database_is_down_and_recovers_without_a_restart() {
    let Some(mut pg) = TestPostgres::start("classify_answers_503_while_the_database_is_down") else { return };
    let server = ServerProcess::start(pg.url(), &[]);
    let stop = AtomicBool::new(false);
    let acks = AtomicUsize::new(0);
    let answers = std::thread::scope(|scope| {
        let client = scope.spawn(|| keep_classifying(&server, "O", &stop, &acks));
        while acks.load(Ordering::Relaxed) < 20 {
            std::thread::sleep(Duration::from_millis(5));
        }
        pg.stop();
        std::thread::sleep(Duration::from_secs(10));
        let before_resume = acks.load(Ordering::Relaxed);
        pg.resume();
        let resumed = std::time::Instant::now();
        while acks.load(Ordering::Relaxed) < before_resume + 20 && resumed.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(20));
        }
        stop.store(true, Ordering::Relaxed);
        client.join().expect("client")
    });
    let statuses: BTreeSet<u16> = answers.iter().map(|(status, _)| *status).collect();
    assert_eq!(statuses, [200, 503].into(), "only decided or unavailable, never another answer");
    let last_outage = answers.iter().rposition(|(status, _)| *status == 503).expect("503 during the outage");
    assert!(
        answers[last_outage + 1..].iter().filter(|(status, _)| *status == 200).count() >= 20,
        "serves again after the outage"
    );
    assert!(
        answers.iter().filter(|(status, _)| *status == 503).all(|(_, body)| body["decision_id"].is_null()),
        "a 503 carries no decision"
    );
    let stored = stored_ids(&pg);
    let acked = acknowledged(&answers);
    assert!(acked.iter().all(|id| stored.contains(id)), "every 200 answer is in the database");
}

fn served_versions(server: &ServerProcess) -> (String, String) {
    let (status, ready) = server.get("/readyz");
    assert_eq!(status, 200, "{ready}");
    (ready["model"]["version"].as_str().unwrap().to_string(), ready["policy"]["version"].as_str().unwrap().to_string())
}

fn reload(server: &ServerProcess) {
    let (status, body) = crate::process::answer(server.post("/admin/reload", ""));
    assert_eq!(status, 200, "{body}");
}

#[test]
fn servers_serve_the_active_model_and_policy_of_the_shared_database_and_follow_promotions() {
    let Some(pg) = TestPostgres::start("servers_serve_the_shared_stores") else { return };
    let url = pg.url();
    let store_arg = OsStr::new(&url);
    // A model promoted the way triage-train promote does it, through the same store API.
    let manifest = triage::model::bundle::Manifest::load_verified(&default_model_dir()).expect("the default bundle");
    let bundle = format!("{}-{}", manifest.name, manifest.version);
    let models = Store::at(Path::new(&url), Kind::Model);
    models.add_version(&bundle, &default_model_dir()).expect("the bundle is stored");
    models.update(|registry| registry.promote(&bundle, false, "ana", Value::Null, chrono::Utc::now())).expect("promoted");
    let promote_policy = |policy: &Path| {
        let promote = ["policy", "promote", "--store"].map(OsStr::new);
        let (ok, out) = triage_cli(&[&promote[..], &[store_arg, "--policy".as_ref(), policy.as_os_str()]].concat());
        assert!(ok, "{out}");
    };
    promote_policy(&default_policy_path());
    let first_policy = triage::policy_file::load(&default_policy_path()).expect("policy").version().to_string();

    // Two servers on two "machines" (each its own cache), both reading the stores from the database.
    let caches = [tempfile::tempdir().expect("tempdir"), tempfile::tempdir().expect("tempdir")];
    let servers: Vec<ServerProcess> = caches
        .iter()
        .map(|cache| {
            ServerProcess::start_serving(&url, store_arg, store_arg, &[], &[("TRIAGE_REGISTRY_CACHE", cache.path().as_os_str())])
        })
        .collect();
    for server in &servers {
        assert_eq!(served_versions(server), (manifest.version.clone(), first_policy.clone()));
    }

    // A new policy promoted once reaches both servers on reload; a rollback too.
    let work = tempfile::tempdir().expect("tempdir");
    let changed = work.path().join("policy.toml");
    let text = std::fs::read_to_string(default_policy_path()).expect("policy");
    std::fs::write(&changed, format!("{text}\n# promoted in the shared-store test\n")).expect("write");
    let second_policy = triage::policy_file::load(&changed).expect("policy").version().to_string();
    assert_ne!(first_policy, second_policy);
    promote_policy(&changed);
    for server in &servers {
        reload(server);
        assert_eq!(served_versions(server).1, second_policy);
    }
    let (ok, out) = triage_cli(&["policy".as_ref(), "rollback".as_ref(), "--store".as_ref(), store_arg]);
    assert!(ok, "{out}");
    for server in &servers {
        reload(server);
        assert_eq!(served_versions(server).1, first_policy);
    }
    let (ok, listed) = triage_cli(&["models".as_ref(), "list".as_ref(), "--store".as_ref(), store_arg]);
    assert!(ok, "{listed}");
    assert!(listed.contains(&format!("| {bundle} | yes |")), "{listed}");
    let (ok, history) = triage_cli(&["policy".as_ref(), "list".as_ref(), "--store".as_ref(), store_arg]);
    assert!(ok && history.lines().filter(|line| line.contains("policy-")).count() == 3, "promote, promote, rollback: {history}");
}
