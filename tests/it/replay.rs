//! `triage policy replay` over a log written through the HTTP API: a candidate policy that
//! raises the premium plan's tickets by one level moves exactly those tickets, one level each,
//! and nothing else; a reviewer's level that the candidate now matches is counted as now right;
//! the SLA load shows the premium tickets falling due sooner and the other plans unchanged.

use axum::body::Body;
use axum::http::StatusCode;
use serde_json::json;
use triage::server::auth::Auth;
use triage::server::ServerConfig;

use crate::common::{app_state, default_policy_path};

#[tokio::test]
async fn a_candidate_that_raises_one_plan_moves_exactly_its_tickets() {
    let state = app_state(ServerConfig::default(), Auth::Disabled);
    let bodies = ["How do I export my invoices as PDF?", "Where can I change my billing address?", "Can I add a second admin?"];
    let mut decided = Vec::new();
    for plan in ["free", "standard", "premium"] {
        for body in bodies {
            let ticket = json!({"subject": "Question", "body": body, "customer": {"plan": plan}});
            let (status, response) = crate::common::call(&state, "POST", "/v1/classify", Body::from(ticket.to_string())).await;
            assert_eq!(status, StatusCode::OK, "{response}");
            decided.push((plan, response));
        }
    }
    let levels: Vec<String> = crate::common::default_policy().levels().iter().map(|l| l.level.clone()).collect();
    let rank = |level: &str| levels.iter().position(|l| l == level).expect("a level");
    // A reviewer says the first premium ticket deserved one level more.
    let (_, first_premium) = decided.iter().find(|(plan, _)| *plan == "premium").expect("premium");
    let wanted = levels[rank(first_premium["priority"]["level"].as_str().unwrap()).saturating_sub(1)].clone();
    let uri = format!("/v1/decisions/{}/feedback", first_premium["decision_id"].as_str().unwrap());
    let body = json!({"reviewer": "ana", "priority": wanted}).to_string();
    assert_eq!(crate::common::call(&state, "POST", &uri, Body::from(body)).await.0, StatusCode::CREATED);

    let policy = std::fs::read_to_string(default_policy_path()).expect("policy");
    let raise = "\n[[rule_sets]]\nname = \"premium-first\"\nmode = \"all_matches\"\n\n[[rule_sets.rules]]\nname = \"premium-raise\"\n\
                 reason = \"premium plan\"\nwhen = { field = \"customer.plan\", equals = \"premium\" }\nraise = 1\nceiling = \"P1\"\n";
    let candidate = triage::policy::Policy::from_toml(&format!("{policy}{raise}")).expect("the candidate compiles");
    let decisions =
        state.decisions.store.between(chrono::Utc::now() - chrono::TimeDelta::hours(1), chrono::Utc::now()).await.expect("log");
    let replay = triage::replay::replay(&decisions, &candidate);
    assert_eq!((replay.replayed, replay.skipped.len()), (9, 0), "{:?}", replay.skipped);

    let changed = &replay.tables.iter().find(|t| t.name == "changed_tickets").expect("changed").rows;
    let expected: Vec<String> = decided
        .iter()
        .filter(|(plan, response)| *plan == "premium" && response["priority"]["level"] != json!(levels[0]))
        .map(|(_, response)| response["decision_id"].as_str().unwrap().to_string())
        .collect();
    let moved: Vec<String> = changed.iter().map(|row| row[0].clone()).collect();
    assert_eq!(moved, expected, "exactly the premium tickets below the top level move");
    for row in changed {
        let (before, after) = (row[2].split(' ').next().unwrap(), row[3].split(' ').next().unwrap());
        assert_eq!(rank(after) + 1, rank(before), "one level up: {row:?}");
    }
    let matrix = replay.tables.iter().find(|t| t.name == "level_moves").expect("matrix");
    let moved_in_matrix: usize = matrix
        .rows
        .iter()
        .flat_map(|row| {
            row[1..].iter().enumerate().filter(|(to, _)| levels[*to] != row[0]).map(|(_, n)| n.parse::<usize>().unwrap())
        })
        .sum();
    assert_eq!(moved_in_matrix, expected.len());
    let reviewed = replay.tables.iter().find(|t| t.name == "reviewed_levels").expect("reviewed");
    assert_eq!(reviewed.rows[0], ["now right", "1"], "{:?}", reviewed.rows);

    // SLA load: the other plans' due times stay where they were; the premium tickets fall due
    // sooner (a higher level has a shorter first-response target), three tickets either way.
    let load = replay.tables.iter().find(|t| t.name == "sla_load").expect("sla load");
    for row in &load.rows {
        if row[0] != "premium" {
            assert_eq!(row[2], row[3], "{row:?}");
        }
    }
    let premium: Vec<&Vec<String>> = load.rows.iter().filter(|row| row[0] == "premium").collect();
    let total = |column: usize| premium.iter().map(|row| row[column].parse::<usize>().unwrap()).sum::<usize>();
    assert_eq!((total(2), total(3)), (3, 3), "{:?}", load.rows);
    let position = |row: &Vec<String>| load.rows.iter().filter(|r| r[0] == "premium").position(|r| r == row).unwrap();
    let lateness = |column: usize| premium.iter().map(|row| position(row) * row[column].parse::<usize>().unwrap()).sum::<usize>();
    assert!(lateness(3) < lateness(2), "the candidate's premium tickets fall due sooner: {:?}", load.rows);
}
