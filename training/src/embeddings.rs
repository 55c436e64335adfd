//! Sentence embeddings of the training rows, for heads that read them: computed once per
//! text and encoder, in batches of similar length, and kept in an optional cache file so a
//! rerun with other settings does not spend minutes re-embedding the same history.
//! The cache is the only I/O; the encoder does the computing.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use sha2::{Digest, Sha256};
use triage::model::encoder::SentenceEncoder;

/// Texts embedded at once: enough to keep every core busy, few enough that padding to the
/// longest text of a batch (they are sorted by length first) stays cheap.
const BATCH: usize = 16;

type Key = [u8; 32];

fn key(text: &str) -> Key {
    Sha256::digest(text.as_bytes()).into()
}

/// Embeddings already computed, by text, read from `DIR/<encoder id>.bin` (records of a
/// text's sha256 and its embedding as little-endian f32).
struct Cache {
    path: Option<PathBuf>,
    dimension: usize,
    known: HashMap<Key, Vec<f32>>,
}

impl Cache {
    fn open(dir: Option<&Path>, encoder_id: &str, dimension: usize) -> anyhow::Result<Self> {
        let path = dir.map(|dir| dir.join(format!("{encoder_id}.bin")));
        let mut known = HashMap::new();
        if let Some(path) = path.as_ref().filter(|p| p.exists()) {
            let bytes = std::fs::read(path).with_context(|| format!("reading the embedding cache {}", path.display()))?;
            let record = 32 + 4 * dimension;
            anyhow::ensure!(
                bytes.len().is_multiple_of(record),
                "{} is not an embedding cache of {dimension} dimensions; delete it",
                path.display()
            );
            for chunk in bytes.chunks_exact(record) {
                let (text, values) = chunk.split_at(32);
                let embedding = values.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
                known.insert(text.try_into().unwrap_or([0; 32]), embedding);
            }
        }
        Ok(Self { path, dimension, known })
    }

    fn append(&mut self, new: Vec<(Key, Vec<f32>)>) -> anyhow::Result<()> {
        if let Some(path) = &self.path {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            }
            let mut bytes = Vec::with_capacity(new.len() * (32 + 4 * self.dimension));
            for (text, embedding) in &new {
                bytes.extend_from_slice(text);
                embedding.iter().for_each(|v| bytes.extend_from_slice(&v.to_le_bytes()));
            }
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .and_then(|mut file| file.write_all(&bytes))
                .with_context(|| format!("writing the embedding cache {}", path.display()))?;
        }
        self.known.extend(new);
        Ok(())
    }
}

/// Each text's embedding, in order. `encoder_id` names the encoder (image and token budget)
/// in the cache, which lives in `cache_dir` when one is given.
pub fn embed_all(
    encoder: &SentenceEncoder,
    encoder_id: &str,
    texts: &[&str],
    cache_dir: Option<&Path>,
) -> anyhow::Result<Vec<Vec<f32>>> {
    let mut cache = Cache::open(cache_dir, encoder_id, encoder.dimension())?;
    let keys: Vec<Key> = texts.iter().map(|t| key(t)).collect();
    let mut missing: Vec<usize> = (0..texts.len()).filter(|&i| !cache.known.contains_key(&keys[i])).collect();
    // By length, so a batch pads little; then by text, so repeats of one text are neighbours
    // and embedded once.
    missing.sort_by_cached_key(|&i| (encoder.input_ids(texts[i]).len(), keys[i]));
    missing.dedup_by_key(|&mut i| keys[i]);
    if !missing.is_empty() {
        eprintln!("embedding {} texts ({} already in the cache)", missing.len(), texts.len() - missing.len());
    }
    let started = std::time::Instant::now();
    for (done, batch) in missing.chunks(BATCH * 16).enumerate() {
        let mut new = Vec::with_capacity(batch.len());
        for small in batch.chunks(BATCH) {
            let batch_texts: Vec<&str> = small.iter().map(|&i| texts[i]).collect();
            new.extend(small.iter().map(|&i| keys[i]).zip(encoder.embed(&batch_texts)?));
        }
        cache.append(new)?;
        eprintln!(
            "  {} of {} in {:.0}s",
            ((done + 1) * BATCH * 16).min(missing.len()),
            missing.len(),
            started.elapsed().as_secs_f64()
        );
    }
    keys.iter().map(|k| cache.known.get(k).cloned().context("an embedding went missing")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cache_file_returns_what_was_appended_and_refuses_a_file_of_another_shape() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cache = Cache::open(Some(dir.path()), "enc", 2).expect("opens empty");
        cache.append(vec![(key("a"), vec![0.5, -1.0]), (key("b"), vec![2.0, 0.25])]).expect("appends");
        let reread = Cache::open(Some(dir.path()), "enc", 2).expect("reopens");
        assert_eq!(reread.known.get(&key("b")), Some(&vec![2.0, 0.25]));
        assert_eq!(reread.known.len(), 2);
        let error = Cache::open(Some(dir.path()), "enc", 3).err().expect("refused").to_string();
        assert!(error.contains("delete it"), "{error}");
    }
}
