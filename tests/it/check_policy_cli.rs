//! `triage check-policy`: 0 for the default policy, 1 with the line of a typo.

use std::path::PathBuf;
use std::process::Command;

fn check(path: &std::path::Path) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_triage")).arg("check-policy").arg(path).output().expect("runs");
    (output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stdout).into())
}

fn default_policy_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/policy.toml")
}

#[test]
fn the_default_policy_passes() {
    let (code, out) = check(&default_policy_path());
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("0 error(s)"), "{out}");
}

#[test]
fn a_typo_in_a_key_fails_with_its_line() {
    let text = std::fs::read_to_string(default_policy_path()).expect("read");
    let (index, line) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.trim_start().starts_with("default_queue"))
        .expect("the default policy sets default_queue");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("policy.toml");
    std::fs::write(&path, text.replacen(line, &line.replacen("default_queue", "default_qeue", 1), 1)).expect("write");
    let (code, out) = check(&path);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("policy.toml:{}:", index + 1)), "expected line {} in: {out}", index + 1);
    assert!(out.contains("default_qeue"), "{out}");
}
