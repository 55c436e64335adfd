//! Reviewed decisions as training rows: the CSV that `triage export-feedback` writes and
//! `triage-train train --corrections` reads. Columns are fixed (`id`, `subject`, `body`,
//! `language`, one per corrected head, then provenance), so the trainer needs no column flags
//! for them. Only decisions whose feedback corrects at least one model label become rows: a
//! priority-only correction or a note teaches the model nothing. Writes to any `Write`; opens
//! no files.

use std::io::Write;

use super::{Correction, StoreError};

/// The header of the corrections file; the label columns are named after the model's heads.
pub const COLUMNS: [&str; 11] = [
    "id",
    "subject",
    "body",
    "language",
    "urgency",
    "sentiment",
    "category",
    "final_priority",
    "reviewer",
    "reviewed_at",
    "decision_id",
];

/// How many reviewed decisions became rows, and how many carried no label correction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportSummary {
    pub written: usize,
    pub without_label: usize,
}

/// Writes `corrections` as CSV. A ticket without its own id is keyed by its decision, so it
/// joins the training data as a new row instead of overriding an unrelated one.
pub fn write_corrections(corrections: &[Correction], out: impl Write) -> Result<ExportSummary, StoreError> {
    let mut writer = csv::Writer::from_writer(out);
    let csv_error = |e: csv::Error| StoreError::Io(std::io::Error::other(e));
    writer.write_record(COLUMNS).map_err(csv_error)?;
    let mut summary = ExportSummary { written: 0, without_label: 0 };
    for correction in corrections {
        let feedback = &correction.feedback;
        if feedback.urgency.is_none() && feedback.sentiment.is_none() && feedback.category.is_none() {
            summary.without_label += 1;
            continue;
        }
        let id = correction.ticket_id.clone().unwrap_or_else(|| format!("decision:{}", correction.decision_id));
        let reviewed_at = correction.reviewed_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let text = |value: &Option<String>| value.clone().unwrap_or_default();
        writer
            .write_record([
                id,
                correction.subject.clone(),
                correction.body.clone(),
                text(&correction.language),
                text(&feedback.urgency),
                text(&feedback.sentiment),
                text(&feedback.category),
                text(&feedback.priority),
                feedback.reviewer.clone(),
                reviewed_at,
                correction.decision_id.clone(),
            ])
            .map_err(csv_error)?;
        summary.written += 1;
    }
    writer.flush()?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::FeedbackInput;

    fn correction(ticket_id: Option<&str>, category: Option<&str>, priority: Option<&str>) -> Correction {
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
                category: category.map(Into::into),
                priority: priority.map(Into::into),
                ..FeedbackInput::default()
            },
        }
    }

    #[test]
    fn label_corrections_become_quoted_csv_rows() {
        let mut out = Vec::new();
        let rows = [correction(Some("T-1"), Some("billing"), Some("P2")), correction(None, None, Some("P1"))];
        let summary = write_corrections(&rows, &mut out).expect("written");
        assert_eq!(summary, ExportSummary { written: 1, without_label: 1 });
        let mut reader = csv::Reader::from_reader(out.as_slice());
        assert_eq!(reader.headers().expect("header").iter().collect::<Vec<_>>(), COLUMNS);
        let records: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().expect("parses back");
        assert_eq!(records.len(), 1);
        assert_eq!(&records[0][0], "T-1");
        assert_eq!(&records[0][1], "Invoice, \"again\"");
        assert_eq!(&records[0][2], "line one\nline two");
        assert_eq!(&records[0][6], "billing");
        assert_eq!(&records[0][4], "", "an uncorrected head stays empty");
        assert_eq!(&records[0][7], "P2");
    }

    #[test]
    fn a_ticket_without_id_is_keyed_by_its_decision() {
        let mut out = Vec::new();
        write_corrections(&[correction(None, Some("billing"), None)], &mut out).expect("written");
        let text = String::from_utf8(out).expect("utf-8");
        assert!(text.lines().nth(1).is_some_and(|row| row.starts_with("decision:d-1,")), "{text}");
    }
}
