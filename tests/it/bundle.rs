//! A bundle loads only when every file matches its manifest.

use triage::model::bundle::{ModelKind, MANIFEST, TOKENIZER, WEIGHTS};
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

/// The default bundle with its manifest edited by `edit`, and the error loading it gives.
fn load_error_after_editing_the_manifest(edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let dir = bundle_copy();
    let path = dir.path().join(MANIFEST);
    let mut manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
    edit(&mut manifest);
    std::fs::write(&path, serde_json::to_vec(&manifest).expect("json")).expect("write");
    load_error(dir.path())
}

#[test]
fn a_newer_format_version_is_refused() {
    let error = load_error_after_editing_the_manifest(|manifest| manifest["format_version"] = serde_json::json!(99));
    assert!(error.contains("format version 99"), "{error}");
}

#[test]
fn an_older_format_version_is_refused_with_the_advice_to_retrain() {
    let error = load_error_after_editing_the_manifest(|manifest| manifest["format_version"] = serde_json::json!(3));
    assert!(error.contains("format version 3") && error.contains("retrain"), "{error}");
}

#[test]
fn the_default_model_names_its_kind_and_a_kind_without_its_files_is_refused() {
    assert_eq!(default_classifier().kind(), ModelKind::Encoder, "the default bundle carries its encoder");
    let error = load_error_after_editing_the_manifest(|manifest| manifest["kind"] = serde_json::json!("sparse-linear"));
    assert!(error.contains("sparse-linear") && error.contains("must not have an `encoder` entry"), "{error}");
    let error = load_error_after_editing_the_manifest(|manifest| manifest["kind"] = serde_json::json!("decision-tree"));
    assert!(error.contains("not a valid manifest") && error.contains("decision-tree"), "{error}");
}

#[test]
fn heads_that_read_the_embedding_need_the_manifest_to_say_so() {
    let manifest = default_classifier().manifest().clone();
    let read = manifest.encoder.and_then(|e| e.heads_read).expect("the default's sentiment head reads the embedding");
    assert_eq!((read.dimension, read.heads), (384, vec!["sentiment".to_string()]));
    let error = load_error_after_editing_the_manifest(|manifest| {
        manifest["encoder"].as_object_mut().expect("encoder entry").remove("heads_read");
    });
    assert!(error.contains(WEIGHTS) && error.contains("coefficients.") && error.contains("does not match"), "{error}");
}

#[test]
fn an_edited_manifest_hash_does_not_hide_tampering() {
    let error = load_error_after_editing_the_manifest(|manifest| manifest["files"][WEIGHTS] = serde_json::json!("0".repeat(64)));
    assert!(error.contains(WEIGHTS));
}

#[test]
fn a_manifest_naming_fewer_remembered_tickets_than_the_weights_hold_is_refused() {
    let error = load_error_after_editing_the_manifest(|manifest| {
        let tickets = manifest["memory"]["tickets"].as_array_mut().expect("the default model remembers tickets");
        tickets.pop();
    });
    assert!(error.contains(WEIGHTS) && error.contains("memory holds"), "{error}");
}
