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

fn triage(args: &[&str]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_triage")).args(args).output().expect("runs");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.code().unwrap_or(-1), text)
}

#[test]
fn a_policy_store_promotes_checked_policies_refuses_broken_ones_and_rolls_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("policies");
    let store_arg = store.to_str().expect("utf-8");
    let default = default_policy_path();
    let model = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/default");
    let (code, out) = triage(&[
        "policy",
        "promote",
        "--store",
        store_arg,
        "--policy",
        default.to_str().expect("utf-8"),
        "--model",
        model.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 0, "{out}");
    let first = triage::policy_file::load(&store).expect("the store serves its active policy").version().to_string();

    let edited = dir.path().join("edited.toml");
    let text = std::fs::read_to_string(&default).expect("policy");
    std::fs::write(&edited, text.replace("raise = 1\nceiling = \"P1\"", "raise = 2\nceiling = \"P1\"")).expect("written");
    let (code, out) = triage(&["policy", "promote", "--store", store_arg, "--policy", edited.to_str().expect("utf-8")]);
    assert_eq!(code, 0, "{out}");
    let second = triage::policy_file::load(&store).expect("loads").version().to_string();
    assert_ne!(first, second, "the edited policy is active");

    let broken = dir.path().join("broken.toml");
    std::fs::write(&broken, text.replace("raise = 1\n", "raize = 1\n")).expect("written");
    let (code, out) = triage(&["policy", "promote", "--store", store_arg, "--policy", broken.to_str().expect("utf-8")]);
    assert_ne!(code, 0, "a broken policy is refused: {out}");
    assert!(out.contains("raize") && out.contains("nothing was promoted"), "{out}");
    assert_eq!(triage::policy_file::load(&store).expect("loads").version(), second, "the active policy is untouched");

    let (code, out) = triage(&["policy", "rollback", "--store", store_arg]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(triage::policy_file::load(&store).expect("loads").version(), first, "rolled back");
    let (code, out) = triage(&["policy", "list", "--store", store_arg]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.matches("Promote").count(), 2, "{out}");
    assert!(out.contains("Rollback"), "{out}");
}
