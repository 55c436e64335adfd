//! Priorities a support lead would accept, end to end through the router on the default model
//! and policy: an outage reaches P1 or P2 in each language the default policy serves, with the
//! reason in the summary and the words that showed it in the evidence; a how-to question does
//! not. The tickets here are written for this test, not taken from data/commonsense/.

use axum::http::StatusCode;
use serde_json::{json, Value};
use triage::server::auth::Auth;
use triage::server::{AppState, ServerConfig};

use crate::common::{app_state, call};

async fn classify(state: &AppState, ticket: Value) -> Value {
    let (status, body) = call(state, "POST", "/v1/classify", ticket.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn an_outage_reaches_p1_or_p2_in_every_language_with_the_reason() {
    let state = app_state(ServerConfig::default(), Auth::Disabled);
    let outages = [
        ("en", "Portal unreachable", "Since 7am the customer portal does not load for anyone, we get a 503 on every page."),
        ("de", "Shop ausgefallen", "Unser Onlineshop ist seit heute Morgen komplett ausgefallen, keine Bestellung geht durch."),
        ("es", "Caída del servicio", "La plataforma está caída desde las 8 y ningún cliente puede entrar."),
        ("fr", "Panne du site", "Notre site est en panne depuis ce matin, plus personne ne peut passer commande."),
        ("pt", "Sistema fora do ar", "O sistema está fora do ar desde cedo e nenhum cliente consegue acessar."),
    ];
    for (language, subject, body) in outages {
        let response = classify(&state, json!({"subject": subject, "body": body, "language": language})).await;
        let level = response["priority"]["level"].as_str().expect("level");
        assert!(["P1", "P2"].contains(&level), "{language}: {response:#}");
        let summary = response["explanation"]["summary"].as_str().expect("summary");
        assert!(summary.contains("outage"), "{language}: the summary names the reason: {summary}");
        assert_eq!(response["queue"], "incidents", "{language}: outages go to the incident queue");
        let words = response["explanation"]["evidence"]["severity"].as_array().expect("severity evidence");
        let field_text = |w: &Value| if w["field"] == "subject" { subject } else { body };
        for word in words {
            let (start, end) = (word["start"].as_u64().unwrap() as usize, word["end"].as_u64().unwrap() as usize);
            let marked: String = field_text(word).chars().skip(start).take(end - start).collect();
            assert_eq!(marked, word["text"].as_str().unwrap(), "{language}: offsets point at the words");
        }
        assert!(!words.is_empty(), "{language}: {response:#}");
    }
}

#[tokio::test]
async fn a_how_to_question_stays_low_in_every_language() {
    let state = app_state(ServerConfig::default(), Auth::Disabled);
    let questions = [
        ("en", "How do I add a colleague?", "Where in the settings can I invite a new team member?"),
        ("de", "Frage zum Export", "Wie kann ich meine Kontakte als CSV exportieren?"),
        // A sign-off is no blocked team.
        ("de", "Frage zur Rechnung", "Wo finde ich die Rechnung vom März? Unser Team steht Ihnen gerne zur Verfügung."),
        ("es", "Duda sobre informes", "¿Cómo puedo cambiar el idioma de los informes mensuales?"),
        ("fr", "Question sur les factures", "Comment puis-je télécharger mes anciennes factures ?"),
        ("pt", "Dúvida sobre o perfil", "Como faço para mudar a foto do meu perfil?"),
    ];
    for (language, subject, body) in questions {
        let response = classify(&state, json!({"subject": subject, "body": body, "language": language})).await;
        let level = response["priority"]["level"].as_str().expect("level");
        assert!(["P3", "P4"].contains(&level), "{language}: {response:#}");
    }
}

#[tokio::test]
async fn one_outage_told_in_three_languages_is_one_cluster_and_other_tickets_stay_apart() {
    let state = app_state(ServerConfig::default(), Auth::Disabled);
    let tickets = [
        ("Checkout down", "None of our customers can pay by card since 10:00, every payment fails with an error at checkout."),
        ("Invoice address", "How do I change the address printed on our invoices?"),
        ("Kartenzahlung fällt aus", "Seit 10 Uhr schlägt im Checkout jede Kartenzahlung unserer Kunden fehl."),
        (
            "No funcionan los pagos con tarjeta",
            "Desde las 10 ningún cliente puede pagar con tarjeta en el checkout, todas las transacciones fallan.",
        ),
        ("Thanks", "Thank you for the quick help with our shipping settings yesterday."),
    ];
    let mut answers = Vec::new();
    for (subject, body) in tickets {
        answers.push(classify(&state, json!({"subject": subject, "body": body})).await);
    }
    let outage = &answers[0]["decision_id"];
    assert!(answers[0]["cluster"].is_null());
    assert!(answers[1]["cluster"].is_null(), "a question is no repeat of the outage: {:#}", answers[1]);
    assert_eq!((&answers[2]["cluster"]["id"], &answers[2]["cluster"]["size"]), (outage, &json!(2)), "{:#}", answers[2]);
    assert_eq!((&answers[3]["cluster"]["id"], &answers[3]["cluster"]["size"]), (outage, &json!(3)), "{:#}", answers[3]);
    assert!(answers[4]["cluster"].is_null(), "{:#}", answers[4]);
}

#[tokio::test]
async fn the_fifth_ticket_about_one_problem_is_raised_as_a_repeat_issue() {
    let state = app_state(ServerConfig::default(), Auth::Disabled);
    let ticket = json!({"subject": "Export button greyed out",
                        "body": "The CSV export button on the reports page is greyed out for me since this morning."});
    let mut answers = Vec::new();
    for i in 0..5 {
        let mut sent = ticket.clone();
        sent["id"] = json!(format!("R-{i}"));
        answers.push(classify(&state, sent).await);
    }
    let rule = |answer: &Value| {
        answer["explanation"]["rules"].as_array().unwrap().iter().find(|r| r["rule"] == "repeat-issue").cloned().unwrap()
    };
    let (first, fifth) = (&answers[0], &answers[4]);
    assert!(first["cluster"].is_null(), "the first ticket joined no cluster: {first:#}");
    assert_eq!(rule(first)["hit"], false);
    assert_eq!(fifth["cluster"]["size"], 5);
    assert_eq!(fifth["cluster"]["id"], first["decision_id"]);
    assert_eq!(rule(fifth)["hit"], true, "{fifth:#}");
    assert_eq!(rule(fifth)["matched"], "5 recent tickets about the same problem (at least 5)");
    assert!(fifth["tags"].as_array().unwrap().contains(&json!("repeat-issue")));
    let level = |answer: &Value| answer["priority"]["level"].as_str().unwrap().trim_start_matches('P').parse::<u8>().unwrap();
    assert_eq!(level(fifth), (level(first) - 1).max(2).min(level(first)), "one level up, not above P2: {fifth:#}");
    assert_eq!(rule(&answers[3])["hit"], false, "four are not yet five");
    let mut resent = ticket.clone();
    resent["id"] = json!("R-4");
    assert_eq!(classify(&state, resent).await["cluster"]["size"], 5, "a ticket sent again is no new member");
}
