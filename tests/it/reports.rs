//! `triage report`'s tables over a log built through the HTTP API: three standard-plan tickets,
//! one answered and solved in time with a satisfaction score, one answered late and raised by
//! a person, one left unanswered past its due time; reviewers agree with one category and
//! correct another. The figures are checked against values worked out by hand.

use axum::body::Body;
use axum::http::StatusCode;
use chrono::{DateTime, TimeZone, Utc};
use serde_json::{json, Value};
use triage::report::Table;
use triage::server::auth::Auth;
use triage::server::{AppState, ServerConfig};

use crate::common::{app_state, default_policy};

async fn call(state: &AppState, method: &str, uri: &str, body: Value) -> Value {
    let body = if body.is_null() { Body::empty() } else { Body::from(body.to_string()) };
    let (status, value) = crate::common::call(state, method, uri, body).await;
    assert!(status == StatusCode::OK || status == StatusCode::CREATED, "{method} {uri}: {status} {value}");
    value
}

/// Monday 2026-11-23 in Berlin (the standard plan's office hours).
fn monday(hour: u32, minute: u32) -> DateTime<Utc> {
    chrono_tz::Europe::Berlin.with_ymd_and_hms(2026, 11, 23, hour, minute, 0).unwrap().with_timezone(&Utc)
}

fn row<'t>(table: &'t Table, key: &str) -> &'t Vec<String> {
    table.rows.iter().find(|r| r[0] == key).unwrap_or_else(|| panic!("{}: no row {key}: {:?}", table.name, table.rows))
}

fn table<'t>(tables: &'t [Table], name: &str) -> &'t Table {
    tables.iter().find(|t| t.name == name).unwrap_or_else(|| panic!("no table {name}"))
}

#[tokio::test]
async fn report_figures_match_the_events_and_corrections_behind_them() {
    let state = app_state(ServerConfig::default(), Auth::Disabled);
    let ticket = |id: &str, body: &str| json!({"id": id, "subject": "Question", "body": body, "created_at": monday(10, 0).to_rfc3339(), "customer": {"plan": "standard"}});
    let a = call(&state, "POST", "/v1/classify", ticket("A", "How do I export my invoices as PDF?")).await;
    let b = call(&state, "POST", "/v1/classify", ticket("B", "Where can I change my billing address?")).await;
    let c = call(&state, "POST", "/v1/classify", ticket("C", "Can I add a second admin to my account?")).await;
    let post = |decision: &Value, id: &str, at: DateTime<Utc>, kind: Value| {
        let mut event = json!({"event_id": id, "at": at.to_rfc3339()});
        event.as_object_mut().unwrap().extend(kind.as_object().unwrap().clone());
        (format!("/v1/decisions/{}/events", decision["decision_id"].as_str().unwrap()), event)
    };
    let b_due: DateTime<Utc> = b["sla"]["first_response_due"].as_str().expect("B has a first-response target").parse().unwrap();
    let b_level = b["priority"]["level"].as_str().unwrap().to_string();
    assert_ne!(b_level, "P1", "a billing question is not urgent");
    for (uri, event) in [
        post(&a, "a1", monday(10, 30), json!({"kind": "first_response"})),
        post(&a, "a2", monday(12, 0), json!({"kind": "solved"})),
        post(&a, "a3", monday(12, 5), json!({"kind": "csat", "score": 5})),
        post(&b, "b1", b_due + chrono::TimeDelta::hours(1), json!({"kind": "first_response"})),
        post(&b, "b2", b_due + chrono::TimeDelta::hours(1), json!({"kind": "priority_changed", "priority": "P1"})),
    ] {
        call(&state, "POST", &uri, event).await;
    }
    let category = |d: &Value| d["predictions"]["category"]["label"].as_str().unwrap().to_string();
    let labels = call(&state, "GET", "/v1/labels", Value::Null).await;
    let other =
        labels["heads"]["category"].as_array().unwrap().iter().filter_map(Value::as_str).find(|l| *l != category(&b)).unwrap();
    for (decision, label) in [(&a, category(&a)), (&b, other.to_string())] {
        let uri = format!("/v1/decisions/{}/feedback", decision["decision_id"].as_str().unwrap());
        call(&state, "POST", &uri, json!({"reviewer": "ana", "category": label})).await;
    }

    let period = state.decisions.store.reported(monday(0, 0), Utc::now()).await.expect("decisions");
    assert_eq!(period.decisions.len(), 3);
    let tables = triage::report::build(&period, &default_policy(), Utc::now());

    // First response: A met, B late, C never answered and long past due: 1 of 3 met. The
    // median of the stopped clocks (A 0.5 h, B later) is A's.
    let standard = row(table(&tables, "sla_by_plan"), "standard");
    assert_eq!((standard[1].as_str(), standard[2].as_str(), standard[3].as_str()), ("3", "33.3%", "0.50"), "{standard:?}");
    // Resolution: only A stopped, 2 business hours after the start; B and C still run.
    assert_eq!(standard[6], "2.00", "{standard:?}");
    let csat = row(table(&tables, "csat_by_priority"), a["priority"]["level"].as_str().unwrap());
    assert_eq!((csat[1].as_str(), csat[2].as_str()), ("1", "5.00"));
    let agreement = row(table(&tables, "agreement"), "category");
    assert_eq!((agreement[1].as_str(), agreement[2].as_str()), ("2", "50.0%"));
    let escalated = &table(&tables, "escalated_after_the_fact").rows;
    assert_eq!(escalated.len(), 1, "{escalated:?}");
    assert_eq!((escalated[0][1].as_str(), escalated[0][3].as_str()), ("B", "raised to P1"));
    let flagged = [&a, &b, &c].iter().filter(|d| d["needs_review"] == true).count();
    assert_eq!(row(table(&tables, "review_and_abstention"), "flagged for review")[1], flagged.to_string());
    assert_eq!(row(table(&tables, "rule_hits"), "vip-raise")[3], "never fired");
    assert_eq!(row(table(&tables, "volume_by_plan"), "standard")[1], "3");
    assert!(table(&tables, "sla_by_priority").to_csv().expect("csv").starts_with("value,tickets,first response met"));
    // The same through the reports API: JSON, one table as CSV, and a bad period named.
    let report = call(&state, "GET", "/v1/reports?since=2026-11-23", Value::Null).await;
    assert_eq!(report["decisions"], 3, "{report}");
    let drift = report["tables"].as_array().unwrap().iter().find(|t| t["name"] == "drift").expect("a drift table");
    assert!(drift["rows"][0][5].as_str().is_some_and(|v| v.starts_with("too few tickets")), "3 tickets judge nothing: {drift}");
    let (status, csv) =
        crate::common::call(&state, "GET", "/v1/reports?since=2026-11-23&csv=volume_by_plan", Body::empty()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(csv.as_str(), Some("value,tickets,share\nstandard,3,100.0%\n"), "{csv}");
    let (status, error) = crate::common::call(&state, "GET", "/v1/reports?since=yesterday", Body::empty()).await;
    assert_eq!((status, error["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("since")), "{error}");
    let markdown = table(&tables, "volume_by_plan").to_markdown();
    assert!(markdown.contains("| value | tickets | share |\n|---|---|---|\n| standard | 3 | 100.0% |"), "{markdown}");
}

/// End to end: a burst with near-duplicates, events and a correction, and the report finds the
/// cluster, the breach, the escalation and the agreement in it.
#[tokio::test]
async fn the_report_finds_the_repeat_issue_the_breach_the_escalation_and_the_agreement() {
    let state = app_state(ServerConfig::default(), Auth::Disabled);
    let ticket = |id: &str, subject: &str, body: &str| json!({"id": id, "subject": subject, "body": body, "created_at": monday(10, 0).to_rfc3339(), "customer": {"plan": "standard"}});
    let login = |id: &str| ticket(id, "Login page error", "The login page shows error 500 when I try to sign in.");
    let first = call(&state, "POST", "/v1/classify", login("L-1")).await;
    call(&state, "POST", "/v1/classify", ticket("Q-1", "Invoice copy", "Could you resend the March invoice?")).await;
    let second = call(&state, "POST", "/v1/classify", login("L-2")).await;
    let third = call(&state, "POST", "/v1/classify", login("L-3")).await;
    assert_eq!(second["cluster"]["id"], first["decision_id"], "{second:#}");
    assert_eq!(third["cluster"]["size"], 3);

    // L-1 answered in time; L-2 answered an hour past its due time, solved, then reopened.
    let event = |decision: &Value, id: &str, at: DateTime<Utc>, kind: &str| {
        let uri = format!("/v1/decisions/{}/events", decision["decision_id"].as_str().unwrap());
        (uri, json!({"event_id": id, "at": at.to_rfc3339(), "kind": kind}))
    };
    let due: DateTime<Utc> = second["sla"]["first_response_due"].as_str().expect("a first-response target").parse().unwrap();
    for (uri, body) in [
        event(&first, "l1-answer", monday(10, 30), "first_response"),
        event(&second, "l2-answer", due + chrono::TimeDelta::hours(1), "first_response"),
        event(&second, "l2-solved", due + chrono::TimeDelta::hours(2), "solved"),
        event(&second, "l2-reopened", due + chrono::TimeDelta::hours(3), "reopened"),
    ] {
        call(&state, "POST", &uri, body).await;
    }
    // A reviewer confirms L-3's category.
    let category = third["predictions"]["category"]["label"].clone();
    let uri = format!("/v1/decisions/{}/feedback", third["decision_id"].as_str().unwrap());
    call(&state, "POST", &uri, json!({"reviewer": "ana", "category": category})).await;

    let period = state.decisions.store.reported(Utc::now() - chrono::TimeDelta::hours(1), Utc::now()).await.expect("log");
    let tables = triage::report::build(&period, &default_policy(), Utc::now());
    let repeats = table(&tables, "repeat_issues");
    assert_eq!(repeats.rows.len(), 1, "the invoice question is alone: {:?}", repeats.rows);
    let cluster = row(repeats, first["decision_id"].as_str().unwrap());
    assert_eq!((cluster[1].as_str(), cluster[4].as_str()), ("3", "Login page error"));
    let levels = [&first, &second, &third].map(|d| d["priority"]["level"].as_str().unwrap().to_string());
    assert_eq!(cluster[5], *levels.iter().min().unwrap(), "the most urgent level among them");
    // First response: L-1 met; L-2 late; L-3 and Q-1 never answered and long past due (the
    // report runs days after that Monday): 1 of 4.
    let standard = row(table(&tables, "sla_by_plan"), "standard");
    assert_eq!((standard[1].as_str(), standard[2].as_str()), ("4", "25.0%"), "{standard:?}");
    let escalated = &table(&tables, "escalated_after_the_fact").rows;
    assert_eq!(escalated.len(), 1, "{escalated:?}");
    assert_eq!((escalated[0][1].as_str(), escalated[0][3].as_str()), ("L-2", "reopened"));
    let agreement = row(table(&tables, "agreement"), "category");
    assert_eq!((agreement[1].as_str(), agreement[2].as_str()), ("1", "100.0%"));
}

#[tokio::test]
async fn the_drift_gauges_flag_a_head_whose_predicted_labels_shifted() {
    use triage::classify::{classify_now, ClassifyResponse};
    use triage::model::EmbeddingEvidence;
    use triage::store::DecisionRecord;
    use triage::ticket::TicketRequest;
    let state = app_state(ServerConfig::default(), Auth::Disabled);
    let now = Utc::now();
    let classifier = crate::common::default_classifier();
    let policy = default_policy();
    // Last week the helpdesk got billing questions; this week, outages.
    let tickets = |texts: &[(&str, &str)]| -> Vec<triage::ticket::Ticket> {
        texts
            .iter()
            .cycle()
            .take(40)
            .map(|(subject, body)| {
                TicketRequest { subject: Some(subject.to_string()), body: Some(body.to_string()), ..TicketRequest::default() }
                    .validate()
                    .expect("valid")
            })
            .collect()
    };
    let questions = tickets(&[
        ("Invoice copy", "Could you send me a copy of the March invoice?"),
        ("Billing address", "How do I change the billing address on my invoices?"),
    ]);
    let outages = tickets(&[
        ("Site down", "Our whole shop is down since 9:00, customers cannot order anything."),
        ("API unreachable", "Every call to your API times out since this morning, all our integrations stopped."),
    ]);
    let mut records = Vec::new();
    for (set, at) in [(&questions, now - chrono::TimeDelta::days(10)), (&outages, now - chrono::TimeDelta::days(1))] {
        let refs: Vec<&triage::ticket::Ticket> = set.iter().collect();
        for (ticket, response) in
            set.iter().zip(classify_now(&classifier, &policy, &refs, at, EmbeddingEvidence::Shares).expect("classified"))
        {
            let response = ClassifyResponse { decision_id: uuid::Uuid::new_v4().to_string(), ..response };
            records.push(DecisionRecord::new(ticket, &response, at).expect("record"));
        }
    }
    state.decisions.store.record(records).await.expect("logged");

    let drift = triage::server::reports::refresh_drift_gauges(&state, 7, now).await.expect("measured");
    let category = drift.iter().find(|d| d.head == "category").expect("the category head");
    assert_eq!((category.tickets_now, category.tickets_before), (40, 40));
    assert!(category.retrain_recommended(), "{category:?}");
    let (_, metrics) = crate::common::call(&state, "GET", "/metrics", Body::empty()).await;
    let text = metrics.as_str().expect("text");
    assert!(text.contains(r#"triage_drift_retrain_recommended{head="category"} 1"#), "{text}");
    let psi_line = text.lines().find(|l| l.starts_with(r#"triage_drift_psi{head="category"}"#)).expect("a psi gauge");
    let psi: f64 = psi_line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!((psi - category.psi.unwrap()).abs() < 1e-9, "{psi_line}");

    // The reference for drift against held-out data: what the model predicted on its dev set,
    // one count per dev example.
    let reference = classifier.held_out_predictions().get("category").expect("held-out predictions of category");
    let examples = classifier.manifest().metrics["heads"]["category"]["examples"].as_u64().expect("examples");
    assert_eq!(reference.labels.values().sum::<usize>() as u64, examples);
    assert!(reference.mean_score.is_some_and(|score| score > 0.0 && score <= 1.0), "{reference:?}");
    assert!(reference.abstained.is_some_and(|share| (0.0..=1.0).contains(&share)), "{reference:?}");
    let against_held_out = category.psi_vs_held_out.expect("40 tickets now are enough to judge");
    assert!(against_held_out > 0.0, "{category:?}");
    assert!(text.contains(r#"triage_drift_psi_vs_held_out{head="category"}"#), "{text}");
}

/// The default period is kept once computed and answered again, with when it was computed,
/// until `fresh=true` (or its age) asks for it anew; a named period is always computed.
#[tokio::test]
async fn the_default_period_is_reused_until_asked_fresh() {
    let state = app_state(ServerConfig::default(), Auth::Disabled);
    let ticket = json!({"subject": "Invoice copy", "body": "Could you resend the March invoice?"});
    call(&state, "POST", "/v1/classify", ticket.clone()).await;
    let first = call(&state, "GET", "/v1/reports", Value::Null).await;
    assert_eq!(first["decisions"], 1, "{first}");
    call(&state, "POST", "/v1/classify", ticket).await;
    let kept = call(&state, "GET", "/v1/reports", Value::Null).await;
    assert_eq!((kept["decisions"].clone(), kept["computed_at"].clone()), (json!(1), first["computed_at"].clone()));
    let named = call(&state, "GET", "/v1/reports?since=2020-01-01", Value::Null).await;
    assert_eq!(named["decisions"], 2, "a named period is computed when asked");
    let fresh = call(&state, "GET", "/v1/reports?fresh=true", Value::Null).await;
    assert_eq!(fresh["decisions"], 2);
    assert!(fresh["computed_at"].as_str() > first["computed_at"].as_str(), "{fresh}");
    let again = call(&state, "GET", "/v1/reports", Value::Null).await;
    assert_eq!(again["computed_at"], fresh["computed_at"], "the fresh report is the one kept now");

    let every_time = app_state(ServerConfig { report_reuse: None, ..ServerConfig::default() }, Auth::Disabled);
    call(&every_time, "POST", "/v1/classify", json!({"subject": "Login", "body": "I cannot log in."})).await;
    assert_eq!(call(&every_time, "GET", "/v1/reports", Value::Null).await["decisions"], 1);
    call(&every_time, "POST", "/v1/classify", json!({"subject": "Login", "body": "Still cannot log in."})).await;
    assert_eq!(call(&every_time, "GET", "/v1/reports", Value::Null).await["decisions"], 2, "no reuse: computed each time");
}
