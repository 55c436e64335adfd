//! A bundle loads only when every file matches its manifest.

use triage::model::bundle::{MANIFEST, TOKENIZER, WEIGHTS};
use triage::model::Classifier;

use crate::common::{bundle_copy, default_classifier};

fn load_error(dir: &std::path::Path) -> String {
    match Classifier::load(dir) {
        Ok(_) => panic!("a damaged bundle loaded"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn default_bundle_loads_with_its_label_sets() {
    let classifier = default_classifier();
    let heads: Vec<&str> = classifier.manifest().heads.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(heads, ["category", "sentiment", "urgency"]);
    assert!(classifier.manifest().head("urgency").expect("urgency").labels.contains(&"high".to_string()));
    assert_eq!(classifier.version().len(), 12);
}

#[test]
fn a_flipped_byte_in_the_weights_is_refused_naming_the_file() {
    let dir = bundle_copy();
    let path = dir.path().join(WEIGHTS);
    let mut bytes = std::fs::read(&path).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&path, bytes).expect("write");
    let error = load_error(dir.path());
    assert!(error.contains(WEIGHTS) && error.contains("sha256 mismatch"), "{error}");
}

#[test]
fn a_missing_tokenizer_is_refused_naming_the_file() {
    let dir = bundle_copy();
    std::fs::remove_file(dir.path().join(TOKENIZER)).expect("remove");
    let error = load_error(dir.path());
    assert!(error.contains(TOKENIZER), "{error}");
}

#[test]
fn a_newer_format_version_is_refused() {
    let dir = bundle_copy();
    let path = dir.path().join(MANIFEST);
    let mut manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
    manifest["format_version"] = serde_json::json!(99);
    std::fs::write(&path, serde_json::to_vec(&manifest).expect("json")).expect("write");
    let error = load_error(dir.path());
    assert!(error.contains("format version 99"), "{error}");
}

#[test]
fn an_edited_manifest_hash_does_not_hide_tampering() {
    let dir = bundle_copy();
    let path = dir.path().join(MANIFEST);
    let mut manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
    manifest["files"][WEIGHTS] = serde_json::json!("0".repeat(64));
    std::fs::write(&path, serde_json::to_vec(&manifest).expect("json")).expect("write");
    assert!(load_error(dir.path()).contains(WEIGHTS));
}

#[test]
fn a_manifest_naming_fewer_remembered_tickets_than_the_weights_hold_is_refused() {
    let dir = bundle_copy();
    let path = dir.path().join(MANIFEST);
    let mut manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
    let tickets = manifest["memory"]["tickets"].as_array_mut().expect("the default model remembers tickets");
    tickets.pop();
    std::fs::write(&path, serde_json::to_vec(&manifest).expect("json")).expect("write");
    let error = load_error(dir.path());
    assert!(error.contains(WEIGHTS) && error.contains("memory holds"), "{error}");
}
