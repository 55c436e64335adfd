//! `triage classify`: JSONL in, one contract-shaped response per line out; bad lines get an
//! error object in their place and a non-zero exit, good lines are still answered.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::common::default_model_dir;

fn classify(input: &str) -> (i32, Vec<Value>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_triage"))
        .args(["classify", "--model"])
        .arg(default_model_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("triage runs");
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write");
    let output = child.wait_with_output().expect("output");
    let lines = String::from_utf8(output.stdout)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("every output line is JSON"))
        .collect();
    (output.status.code().unwrap_or(-1), lines, String::from_utf8_lossy(&output.stderr).into())
}

#[test]
fn each_ticket_line_gets_a_response_line() {
    let input = r#"{"id": "T-1001", "subject": "Checkout down", "body": "Since 9:00 every payment fails", "customer": {"plan": "enterprise", "vip": true}}
{"id": "T-1002", "body": "Wie kann ich meine Rechnung herunterladen?", "language": "de"}
"#;
    let (code, lines, stderr) = classify(input);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["ticket_id"], "T-1001");
    assert_eq!(lines[1]["ticket_id"], "T-1002");
    for line in &lines {
        for head in ["urgency", "sentiment", "category"] {
            assert!(line["predictions"][head]["label"].is_string(), "{line}");
            assert!(line["predictions"][head]["score"].as_f64().is_some_and(|s| s > 0.0 && s <= 1.0));
        }
        assert!(line["decision_id"].is_string() && line["model"]["version"].is_string());
    }
}

#[test]
fn a_bad_line_is_reported_in_place_and_the_rest_still_answered() {
    let input = "{\"body\": \"printer on fire\"}\nnot json\n{\"subject\": \"\"}\n{\"body\": \"refund please\"}\n";
    let (code, lines, stderr) = classify(input);
    assert_eq!(code, 1);
    assert_eq!(lines.len(), 4);
    assert!(lines[0]["predictions"].is_object());
    assert_eq!(lines[1]["error"]["code"], "malformed_json");
    assert_eq!(lines[2]["error"]["field"], "body");
    assert!(lines[3]["predictions"].is_object());
    assert!(stderr.contains("line 2") && stderr.contains("line 3"), "{stderr}");
}
