//! Reviewed decisions as training rows: the CSV that `triage export-feedback` writes and
//! `triage-train train --corrections` reads. Columns: `id`, `subject`, `body`, `language`, one
//! per head that any correction names (the head's own name, so the trainer needs no column
//! flags for them), then provenance. Only decisions whose feedback corrects at least one model
//! label become rows: a priority-only correction or a note teaches the model nothing. Writes to
//! any `Write`; opens no files.

use std::collections::BTreeSet;
use std::io::Write;

use super::{Correction, StoreError};

/// The columns before the label columns.
pub const TICKET_COLUMNS: [&str; 4] = ["id", "subject", "body", "language"];
/// The columns after the label columns.
pub const PROVENANCE_COLUMNS: [&str; 4] = ["final_priority", "reviewer", "reviewed_at", "decision_id"];

/// How many reviewed decisions became rows, and how many carried no label correction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportSummary {
    pub written: usize,
    pub without_label: usize,
}

/// Writes `corrections` as CSV. A ticket without its own id is keyed by its decision, so it
/// joins the training data as a new row instead of overriding an unrelated one.
pub fn write_corrections(corrections: &[Correction], out: impl Write) -> Result<ExportSummary, StoreError> {
    let heads: BTreeSet<&str> = corrections.iter().flat_map(|c| c.feedback.labels.keys().map(String::as_str)).collect();
    let mut writer = csv::Writer::from_writer(out);
    let csv_error = |e: csv::Error| StoreError::Io(std::io::Error::other(e));
    let header = TICKET_COLUMNS.iter().chain(&heads).chain(&PROVENANCE_COLUMNS);
    writer.write_record(header).map_err(csv_error)?;
    let mut summary = ExportSummary { written: 0, without_label: 0 };
    for correction in corrections {
        let feedback = &correction.feedback;
        if feedback.labels.is_empty() {
            summary.without_label += 1;
            continue;
        }
        let id = correction.ticket_id.clone().unwrap_or_else(|| format!("decision:{}", correction.decision_id));
        let reviewed_at = correction.reviewed_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let labels = heads.iter().map(|head| feedback.labels.get(*head).cloned().unwrap_or_default());
        let ticket = [id, correction.subject.clone(), correction.body.clone(), correction.language.clone().unwrap_or_default()];
        let provenance = [
            feedback.priority.clone().unwrap_or_default(),
            feedback.reviewer.clone(),
            reviewed_at,
            correction.decision_id.clone(),
        ];
        writer.write_record(ticket.into_iter().chain(labels).chain(provenance)).map_err(csv_error)?;
        summary.written += 1;
    }
    writer.flush()?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::FeedbackInput;

    fn correction(ticket_id: Option<&str>, labels: &[(&str, &str)], priority: Option<&str>) -> Correction {
        Correction {
            decision_id: "d-1".into(),
            ticket_id: ticket_id.map(Into::into),
            subject: "Invoice, \"again\"".into(),
            body: "line one\nline two".into(),
            language: Some("en".into()),
            version: 2,
            reviewed_at: "2026-11-24T10:00:00Z".parse().expect("time"),
            feedback: FeedbackInput {
                reviewer: "ana".into(),
                labels: labels.iter().map(|(head, label)| (head.to_string(), label.to_string())).collect(),
                priority: priority.map(Into::into),
                ..FeedbackInput::default()
            },
        }
    }

    #[test]
    fn label_corrections_become_quoted_csv_rows() {
        let mut out = Vec::new();
        let rows = [
            correction(Some("T-1"), &[("category", "billing")], Some("P2")),
            correction(None, &[], Some("P1")),
            correction(Some("T-2"), &[("product", "mobile app")], None),
        ];
        let summary = write_corrections(&rows, &mut out).expect("written");
        assert_eq!(summary, ExportSummary { written: 2, without_label: 1 });
        let mut reader = csv::Reader::from_reader(out.as_slice());
        let header: Vec<String> = reader.headers().expect("header").iter().map(String::from).collect();
        let expected = [&TICKET_COLUMNS[..], &["category", "product"], &PROVENANCE_COLUMNS[..]].concat();
        assert_eq!(header, expected, "one column per corrected head, whatever its name");
        let records: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().expect("parses back");
        assert_eq!(records.len(), 2);
        assert_eq!(&records[0][0], "T-1");
        assert_eq!(&records[0][1], "Invoice, \"again\"");
        assert_eq!(&records[0][2], "line one\nline two");
        assert_eq!(&records[0][4], "billing");
        assert_eq!(&records[0][5], "", "a head this ticket's reviewer left alone stays empty");
        assert_eq!(&records[0][6], "P2");
        assert_eq!(&records[1][5], "mobile app");
    }

    #[test]
    fn a_ticket_without_id_is_keyed_by_its_decision() {
        let mut out = Vec::new();
        write_corrections(&[correction(None, &[("category", "billing")], None)], &mut out).expect("written");
        let text = String::from_utf8(out).expect("utf-8");
        assert!(text.lines().nth(1).is_some_and(|row| row.starts_with("decision:d-1,")), "{text}");
    }
}
