//! Loading labeled training data with polars: CSV, JSONL or Parquet files, columns mapped by
//! flags, every row either turned into an `Example` or counted under the reason it was
//! skipped. Nothing here trains or evaluates; it only reads and validates.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use triage::model::bundle::sha256_hex;

/// Longest label value accepted; longer values are almost always a mis-mapped text column.
const MAX_LABEL_CHARS: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{path}: cannot read: {message}")]
    Read { path: String, message: String },
    #[error("{path}: the file has no rows")]
    Empty { path: String },
    #[error("{path}: unsupported file type (use .csv, .jsonl / .ndjson or .parquet)")]
    Format { path: String },
    #[error("{path}: no column {column:?} (mapped by --{flag}); the file has: {available}")]
    MissingColumn { path: String, column: String, flag: String, available: String },
    #[error("label column {column:?} (--{head}) is in none of the input files")]
    LabelNowhere { column: String, head: String },
    #[error("head {head}: every usable row has the same label {label:?}; a classifier needs at least two classes")]
    SingleClass { head: String, label: String },
    #[error("no usable rows in the input; skipped: {0}")]
    NothingUsable(String),
}

/// Which columns hold what, from the command line.
#[derive(Debug, Clone)]
pub struct ColumnMap {
    pub id: Option<String>,
    pub text: Vec<String>,
    pub language: Option<String>,
    /// Head name (`urgency`, ...) to label column.
    pub labels: BTreeMap<String, String>,
}

/// One usable row: its text (text columns joined by newlines), language and whichever labels
/// it carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub id: String,
    pub text: String,
    pub language: Option<String>,
    pub labels: BTreeMap<String, String>,
}

/// Why rows were skipped or labels dropped, counted per reason and file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SkipReport {
    pub counts: BTreeMap<String, usize>,
    /// A few example row numbers per reason so a data team can look at them.
    pub examples: BTreeMap<String, Vec<String>>,
}

impl SkipReport {
    fn add(&mut self, reason: String, row: String) {
        *self.counts.entry(reason.clone()).or_default() += 1;
        let examples = self.examples.entry(reason).or_default();
        if examples.len() < 5 {
            examples.push(row);
        }
    }

    pub fn total(&self) -> usize {
        self.counts.values().sum()
    }

    pub fn summary(&self) -> String {
        if self.counts.is_empty() {
            return "nothing".to_string();
        }
        self.counts
            .iter()
            .map(|(reason, n)| format!("{n} {reason} (e.g. {})", self.examples[reason].join(", ")))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// A loaded file, for the manifest's data record.
#[derive(Debug, Clone)]
pub struct LoadedFile {
    pub path: PathBuf,
    pub sha256: String,
    pub rows_used: usize,
}

#[derive(Debug, Clone, Default)]
pub struct Dataset {
    pub examples: Vec<Example>,
    pub skipped: SkipReport,
    pub files: Vec<LoadedFile>,
}

fn read_frame(path: &Path) -> Result<DataFrame, DataError> {
    let shown = path.display().to_string();
    let read_error = |e: PolarsError| DataError::Read { path: shown.clone(), message: e.to_string() };
    if !path.is_file() {
        return Err(DataError::Read { path: shown, message: "no such file".to_string() });
    }
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or_default().to_ascii_lowercase();
    let open = || File::open(path).map_err(|e| DataError::Read { path: shown.clone(), message: e.to_string() });
    let frame = match extension.as_str() {
        "csv" => CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .try_into_reader_with_file_path(Some(path.to_path_buf()))
            .and_then(|reader| reader.finish())
            .map_err(read_error)?,
        "jsonl" | "ndjson" => JsonReader::new(open()?).with_json_format(JsonFormat::JsonLines).finish().map_err(read_error)?,
        "parquet" => ParquetReader::new(open()?).finish().map_err(read_error)?,
        _ => return Err(DataError::Format { path: shown }),
    };
    if frame.height() == 0 {
        return Err(DataError::Empty { path: shown });
    }
    Ok(frame)
}

/// The column as text, one entry per row (`None` for nulls).
fn text_column(frame: &DataFrame, name: &str) -> Option<Vec<Option<String>>> {
    let column = frame.column(name).ok()?.cast(&DataType::String).ok()?;
    let strings = column.str().ok()?;
    Some(strings.iter().map(|v| v.map(str::to_string)).collect())
}

fn missing(frame: &DataFrame, path: &Path, column: &str, flag: &str) -> DataError {
    DataError::MissingColumn {
        path: path.display().to_string(),
        column: column.to_string(),
        flag: flag.to_string(),
        available: frame.get_column_names().iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", "),
    }
}

/// Checks a label value; `Err` is the skip reason.
fn clean_label(raw: &str) -> Result<Option<String>, &'static str> {
    let label = raw.trim();
    if label.is_empty() {
        return Ok(None);
    }
    if label.chars().count() > MAX_LABEL_CHARS || label.contains(['\n', '\r']) {
        return Err("unparsable label");
    }
    Ok(Some(label.to_string()))
}

/// Reads every file and maps its rows through `map`. Label columns may be absent from some
/// files (a sentiment set carries no urgency) but must be present in at least one.
pub fn load(paths: &[PathBuf], map: &ColumnMap) -> Result<Dataset, DataError> {
    let (dataset, label_seen) = read_rows(paths, map)?;
    if let Some((head, _)) = label_seen.iter().find(|(_, seen)| !**seen) {
        return Err(DataError::LabelNowhere { column: map.labels[*head].clone(), head: head.to_string() });
    }
    usable(dataset)
}

/// As `load`, but a label column may be absent from every file: reviewers' corrections name
/// only the heads someone corrected.
pub fn load_some_labels(paths: &[PathBuf], map: &ColumnMap) -> Result<Dataset, DataError> {
    usable(read_rows(paths, map)?.0)
}

fn usable(dataset: Dataset) -> Result<Dataset, DataError> {
    if dataset.examples.is_empty() {
        return Err(DataError::NothingUsable(dataset.skipped.summary()));
    }
    Ok(dataset)
}

/// The usable rows of every file, and for each head whether any file had its column.
fn read_rows<'m>(paths: &[PathBuf], map: &'m ColumnMap) -> Result<(Dataset, BTreeMap<&'m str, bool>), DataError> {
    let mut dataset = Dataset::default();
    let mut label_seen: BTreeMap<&str, bool> = map.labels.keys().map(|h| (h.as_str(), false)).collect();
    for path in paths {
        let frame = read_frame(path)?;
        let bytes =
            std::fs::read(path).map_err(|e| DataError::Read { path: path.display().to_string(), message: e.to_string() })?;
        let file_name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        let texts = map
            .text
            .iter()
            .map(|c| text_column(&frame, c).ok_or_else(|| missing(&frame, path, c, "text")))
            .collect::<Result<Vec<_>, _>>()?;
        let ids = match &map.id {
            Some(c) => Some(text_column(&frame, c).ok_or_else(|| missing(&frame, path, c, "id"))?),
            None => None,
        };
        let languages = map.language.as_ref().and_then(|c| text_column(&frame, c));
        let mut labels: Vec<(&str, Vec<Option<String>>)> = Vec::new();
        for (head, column) in &map.labels {
            if let Some(values) = text_column(&frame, column) {
                labels.push((head.as_str(), values));
                label_seen.insert(head.as_str(), true);
            }
        }
        let mut used = 0;
        for row in 0..frame.height() {
            let where_ = format!("{file_name}:{}", row + 2);
            let text = texts
                .iter()
                .filter_map(|column| column[row].as_deref().map(str::trim).filter(|t| !t.is_empty()))
                .collect::<Vec<_>>()
                .join("\n");
            if text.is_empty() {
                dataset.skipped.add("rows with empty text".to_string(), where_);
                continue;
            }
            let mut row_labels = BTreeMap::new();
            for (head, values) in &labels {
                match values[row].as_deref().map(clean_label).unwrap_or(Ok(None)) {
                    Ok(Some(label)) => {
                        row_labels.insert(head.to_string(), label);
                    }
                    Ok(None) => {}
                    Err(reason) => dataset.skipped.add(format!("{reason} in {head}"), where_.clone()),
                }
            }
            if row_labels.is_empty() {
                dataset.skipped.add("rows with no usable label".to_string(), where_);
                continue;
            }
            let id = ids.as_ref().and_then(|ids| ids[row].clone()).unwrap_or_else(|| where_.clone());
            let language = languages.as_ref().and_then(|l| l[row].clone()).filter(|l| !l.trim().is_empty());
            dataset.examples.push(Example { id, text, language, labels: row_labels });
            used += 1;
        }
        dataset.files.push(LoadedFile { path: path.clone(), sha256: sha256_hex(&bytes), rows_used: used });
    }
    Ok((dataset, label_seen))
}

/// Holds back a seeded random `fraction` of `examples` (at least one row each side):
/// returns `(kept, held_back)`.
pub fn split(mut examples: Vec<Example>, fraction: f64, seed: u64) -> (Vec<Example>, Vec<Example>) {
    examples.shuffle(&mut StdRng::seed_from_u64(seed ^ 0x5eed));
    let held = ((examples.len() as f64 * fraction).round() as usize).clamp(1, examples.len().saturating_sub(1));
    let held_back = examples.split_off(examples.len() - held);
    (examples, held_back)
}

impl Dataset {
    /// Label set per head, sorted, from the examples that carry it. Errors when a head has
    /// fewer than two classes.
    pub fn label_sets(&self, heads: &[String]) -> Result<Vec<(String, Vec<String>)>, DataError> {
        heads
            .iter()
            .map(|head| {
                let mut labels: Vec<String> = self.examples.iter().filter_map(|e| e.labels.get(head).cloned()).collect();
                labels.sort();
                labels.dedup();
                match labels.len() {
                    0 => Err(DataError::NothingUsable(format!("no row carries a {head} label"))),
                    1 => Err(DataError::SingleClass { head: head.clone(), label: labels[0].clone() }),
                    _ => Ok((head.clone(), labels)),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns() -> ColumnMap {
        ColumnMap {
            id: None,
            text: vec!["subject".into(), "body".into()],
            language: None,
            labels: [("urgency".to_string(), "priority".to_string())].into_iter().collect(),
        }
    }

    fn file(dir: &tempfile::TempDir, name: &str, content: &str) -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, content).expect("write test file");
        path
    }

    #[test]
    fn bad_rows_are_counted_by_reason_and_good_rows_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = file(
            &dir,
            "t.csv",
            "subject,body,priority\nSite down,all users,high\n,,low\nHello,question,\nSlow,page,\"multi\nline\"\n",
        );
        let data = load(&[path], &columns()).expect("loads");
        assert_eq!(data.examples.len(), 1);
        assert_eq!(data.examples[0].text, "Site down\nall users");
        assert_eq!(data.skipped.counts["rows with empty text"], 1);
        assert_eq!(data.skipped.counts["rows with no usable label"], 2);
        assert_eq!(data.skipped.counts["unparsable label in urgency"], 1);
        assert_eq!(data.skipped.examples["rows with empty text"], vec!["t.csv:3".to_string()]);
        assert_eq!(data.files[0].rows_used, 1);
    }

    #[test]
    fn jsonl_and_several_files_with_different_labels_load_together() {
        let dir = tempfile::tempdir().expect("tempdir");
        let tickets = file(&dir, "a.csv", "subject,body,priority\nDown,now,high\nQuestion,later,low\n");
        let moods = file(&dir, "b.jsonl", "{\"subject\":\"\",\"body\":\"great\",\"sentiment\":\"positive\"}\n");
        let mut map = columns();
        map.labels.insert("sentiment".into(), "sentiment".into());
        let data = load(&[tickets, moods], &map).expect("loads");
        assert_eq!(data.examples.len(), 3);
        assert_eq!(data.examples[2].labels.get("sentiment").map(String::as_str), Some("positive"));
        assert!(!data.examples[2].labels.contains_key("urgency"));
    }

    #[test]
    fn each_bad_input_gets_its_own_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = load(&[dir.path().join("nope.csv")], &columns()).unwrap_err();
        assert!(missing.to_string().contains("no such file"), "{missing}");
        let empty = load(&[file(&dir, "e.csv", "subject,body,priority\n")], &columns()).unwrap_err();
        assert!(matches!(empty, DataError::Empty { .. }), "{empty}");
        let no_text = load(&[file(&dir, "n.csv", "title,priority\nx,high\n")], &columns()).unwrap_err();
        assert!(no_text.to_string().contains("no column \"subject\""), "{no_text}");
        let no_label = load(&[file(&dir, "l.csv", "subject,body,prio\nx,y,high\n")], &columns()).unwrap_err();
        assert!(matches!(no_label, DataError::LabelNowhere { .. }), "{no_label}");
        let format = load(&[file(&dir, "x.txt", "hello")], &columns()).unwrap_err();
        assert!(matches!(format, DataError::Format { .. }), "{format}");
        let one_class = load(&[file(&dir, "o.csv", "subject,body,priority\na,b,high\nc,d,high\n")], &columns())
            .expect("loads")
            .label_sets(&["urgency".into()])
            .unwrap_err();
        assert!(matches!(one_class, DataError::SingleClass { .. }), "{one_class}");
    }
}
