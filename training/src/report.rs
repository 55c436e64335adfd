//! `triage-train eval --report DIR`: renders an `EvalReport` as one self-contained HTML page
//! (`index.html`: inline CSS and SVG, nothing fetched) plus each chart as an `.svg` file
//! beside it. Renders only: every number comes from `eval` / `metrics`. Labels come from the
//! data, so everything put into the page is HTML-escaped (plotters escapes its SVG text).

mod charts;

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use triage::model::calibration::HeadCalibration;

use crate::eval::EvalReport;
use crate::faithfulness::Faithfulness;
use crate::metrics::HeadMetrics;

/// What the page says about where the numbers come from.
#[derive(Debug, Clone, Default)]
pub struct ReportInfo {
    pub model: String,
    pub version: String,
    pub data: Vec<String>,
    pub rows: usize,
    /// The bundle's calibration per head, when it could be read (for the abstain threshold).
    pub calibration: BTreeMap<String, HeadCalibration>,
    /// The evidence deletion check per head (`faithfulness`).
    pub faithfulness: BTreeMap<String, Faithfulness>,
}

/// The page and its charts as separate files (file name, SVG text).
pub struct Page {
    pub html: String,
    pub charts: Vec<(String, String)>,
}

const STYLE: &str = "
body { font-family: sans-serif; color: #222; margin: 24px auto; max-width: 1320px; padding: 0 16px; line-height: 1.4; }
h1 { font-size: 24px; margin-bottom: 4px; } h2 { font-size: 20px; border-bottom: 2px solid #3b75af; padding-bottom: 4px; margin-top: 40px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
.meta { color: #555; font-size: 13px; } code { background: #f3f3f3; padding: 0 3px; border-radius: 3px; }
table { border-collapse: collapse; font-size: 13px; margin: 6px 0 12px; }
th, td { border-bottom: 1px solid #e2e2e2; padding: 4px 10px; text-align: right; }
th { background: #f5f7fa; } td.label, th.label { text-align: left; }
.row { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
figure { margin: 8px 0; } svg { max-width: 100%; height: auto; border: 1px solid #eee; }
.note { color: #8a4b00; font-size: 13px; }
.bar { display: inline-block; height: 10px; background: #3b75af; vertical-align: middle; margin-right: 6px; }
";

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// A head name made safe for an element id and a file name.
fn slug(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c.to_ascii_lowercase() } else { '_' }).collect()
}

fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

fn inline_bar(value: f64) -> String {
    format!("<span class=\"bar\" style=\"width:{:.0}px\"></span>{value:.3}", value.clamp(0.0, 1.0) * 80.0)
}

fn summary_table(out: &mut String, report: &EvalReport, info: &ReportInfo) {
    out.push_str("<table><tr><th class=\"label\">head</th><th>examples</th><th>accuracy</th><th>macro-F1</th><th>ECE</th>");
    out.push_str("<th>abstain below</th><th>coverage</th><th>accuracy when answering</th></tr>\n");
    for (head, m) in &report.heads {
        let threshold = info.calibration.get(head).map_or("–".to_string(), |c| format!("{:.3}", c.abstain_below));
        let (coverage, accuracy) = report
            .abstention
            .get(head)
            .map_or(("–".into(), "–".into()), |a| (percent(a.coverage), format!("{:.3}", a.accuracy)));
        let _ = writeln!(
            out,
            "<tr><td class=\"label\"><a href=\"#head-{}\">{}</a></td><td>{}</td><td>{:.3}</td><td>{:.3}</td><td>{:.3}</td><td>{threshold}</td><td>{coverage}</td><td>{accuracy}</td></tr>",
            slug(head),
            escape(head),
            m.examples,
            m.accuracy,
            m.macro_f1,
            m.expected_calibration_error
        );
    }
    out.push_str("</table>\n");
}

/// Does the evidence point at what the model uses: the score drop when the top phrase is
/// deleted against a random phrase of the same length.
fn faithfulness_table(out: &mut String, info: &ReportInfo) {
    if info.faithfulness.is_empty() {
        return;
    }
    out.push_str("<h2>Evidence faithfulness</h2>\n<p class=\"meta\">Score drop of the predicted label when the top evidence phrase is deleted, against a random phrase of as many words.</p>\n");
    out.push_str("<table><tr><th class=\"label\">head</th><th>tickets</th><th>drop, top phrase</th><th>drop, random phrase</th><th>top hurts more</th></tr>\n");
    for (head, f) in &info.faithfulness {
        let _ = writeln!(
            out,
            "<tr><td class=\"label\">{}</td><td>{}</td><td>{:.3}</td><td>{:.3}</td><td>{}</td></tr>",
            escape(head),
            f.tickets,
            f.top_phrase_drop,
            f.random_phrase_drop,
            percent(f.top_wins)
        );
    }
    out.push_str("</table>\n");
}

fn class_table(out: &mut String, m: &HeadMetrics) {
    out.push_str("<table><tr><th class=\"label\">class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>\n");
    for c in &m.classes {
        let _ = writeln!(
            out,
            "<tr><td class=\"label\">{}</td><td>{:.3}</td><td>{:.3}</td><td>{}</td><td>{}</td></tr>",
            escape(&c.label),
            c.precision,
            c.recall,
            inline_bar(c.f1),
            c.support
        );
    }
    out.push_str("</table>\n");
}

fn head_section(
    out: &mut String,
    charts: &mut Vec<(String, String)>,
    head: &str,
    m: &HeadMetrics,
    report: &EvalReport,
    info: &ReportInfo,
) -> anyhow::Result<()> {
    let id = slug(head);
    let mut figure = |out: &mut String, name: &str, svg: String| {
        let _ = writeln!(out, "<figure>{svg}</figure>");
        charts.push((format!("{id}-{name}.svg"), svg));
    };
    let _ = writeln!(out, "<section id=\"head-{id}\">\n<h2>{}</h2>", escape(head));
    let _ = writeln!(
        out,
        "<p>{} examples · accuracy <strong>{:.3}</strong> · macro-F1 <strong>{:.3}</strong> · expected calibration error {:.3}</p>",
        m.examples, m.accuracy, m.macro_f1, m.expected_calibration_error
    );
    if let Some(n) = report.unknown_labels.get(head) {
        let _ =
            writeln!(out, "<p class=\"note\">{n} rows had a {} label this model does not know; not scored.</p>", escape(head));
    }
    out.push_str("<h3>Per class</h3>\n<div class=\"row\">\n");
    class_table(out, m);
    figure(out, "f1", charts::f1_bars(&m.classes, m.macro_f1)?);
    out.push_str("</div>\n<h3>Confusion matrix</h3>\n<p class=\"meta\">Rows are the true labels (row totals on the right), columns the predicted ones; a cell's colour is its share of its row, and the framed diagonal cells are the correct predictions.</p>\n");
    figure(out, "confusion", charts::confusion_heatmap(&m.labels, &m.confusion)?);
    out.push_str("<h3>Calibration and abstention</h3>\n<div class=\"row\">\n");
    if let Some(bins) = report.reliability.get(head) {
        figure(out, "reliability", charts::reliability_diagram(bins, m.expected_calibration_error)?);
    }
    if let Some(curve) = report.curves.get(head) {
        let threshold = info.calibration.get(head).map(|c| c.abstain_below);
        let operating = report.abstention.get(head).map(|a| (a, threshold));
        figure(out, "coverage", charts::coverage_curve(curve, operating)?);
    }
    out.push_str("</div>\n");
    if let Some(sweep) = report.sweeps.get(head) {
        out.push_str("<table><tr><th>score threshold</th><th>coverage</th><th>accuracy</th></tr>\n");
        for p in sweep {
            // A cut that keeps no row has no accuracy (eval reports 0 there).
            let accuracy = if p.coverage > 0.0 { format!("{:.3}", p.accuracy) } else { "–".to_string() };
            let _ = writeln!(out, "<tr><td>≥ {:.2}</td><td>{}</td><td>{accuracy}</td></tr>", p.threshold, percent(p.coverage));
        }
        out.push_str("</table>\n");
    }
    if let Some(languages) = report.languages.get(head) {
        out.push_str("<h3>By language</h3>\n<table><tr><th class=\"label\">language</th><th>examples</th><th>accuracy</th><th>macro-F1</th></tr>\n");
        for (language, g) in languages {
            let _ = writeln!(
                out,
                "<tr><td class=\"label\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(language),
                g.examples,
                inline_bar(g.accuracy),
                inline_bar(g.macro_f1)
            );
        }
        out.push_str("</table>\n");
    }
    out.push_str("</section>\n");
    Ok(())
}

/// The whole page, and the charts it embeds.
pub fn render(report: &EvalReport, info: &ReportInfo) -> anyhow::Result<Page> {
    let mut out = String::new();
    let mut charts = Vec::new();
    let title = format!("Evaluation of {} {}", info.model, info.version);
    let _ = writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>",
        escape(&title)
    );
    let _ = writeln!(out, "<h1>{}</h1>", escape(&title));
    let files: Vec<String> = info.data.iter().map(|d| format!("<code>{}</code>", escape(d))).collect();
    let _ = writeln!(out, "<p class=\"meta\">{} rows from {}</p>", info.rows, files.join(", "));
    summary_table(&mut out, report, info);
    faithfulness_table(&mut out, info);
    for (head, m) in &report.heads {
        head_section(&mut out, &mut charts, head, m, report, info)?;
    }
    out.push_str("</body>\n</html>\n");
    Ok(Page { html: out, charts })
}

/// Writes `dir/index.html` and the chart files beside it; returns the page's path.
pub fn write(dir: &Path, report: &EvalReport, info: &ReportInfo) -> anyhow::Result<PathBuf> {
    let page = render(report, info)?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    // Charts of an earlier run (a head or chart this run lacks) would sit beside the page as
    // if they belonged to it.
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "svg") {
            std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        }
    }
    for (name, svg) in &page.charts {
        let path = dir.join(name);
        std::fs::write(&path, svg).with_context(|| format!("writing {}", path.display()))?;
    }
    let index = dir.join("index.html");
    std::fs::write(&index, &page.html).with_context(|| format!("writing {}", index.display()))?;
    Ok(index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::{sweep, Abstention};
    use crate::metrics::{group_metrics, head_metrics, reliability_bins};

    fn labels(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    /// Two heads; the category head has labels that would be markup if not escaped.
    fn sample() -> EvalReport {
        let mut report = EvalReport::default();
        let heads = [("category", labels(&["<b>", "Tom & Jerry's \"queue\""])), ("urgency", labels(&["high", "low"]))];
        let (truth, predicted) = ([0, 0, 1, 1], [0, 1, 1, 1]);
        let confidence = [0.9, 0.55, 0.7, 0.95];
        let correct: Vec<bool> = truth.iter().zip(&predicted).map(|(t, p)| t == p).collect();
        let scored: Vec<(f32, bool)> = confidence.iter().copied().zip(correct.iter().copied()).collect();
        for (head, names) in heads {
            report.heads.insert(head.into(), head_metrics(&names, &truth, &predicted, &confidence));
            report.sweeps.insert(head.into(), sweep(&scored, [0.0, 0.5, 0.9]));
            report.curves.insert(head.into(), sweep(&scored, (0..=10).map(|i| i as f32 / 10.0)));
            report.abstention.insert(head.into(), Abstention { coverage: 0.75, accuracy: 1.0 });
            report.reliability.insert(head.into(), reliability_bins(&confidence, &correct));
            let groups = [Some("en"), Some("<de>"), Some("en"), None];
            report.languages.insert(head.into(), group_metrics(&names, &truth, &predicted, &groups));
        }
        report
    }

    #[test]
    fn page_has_each_head_charts_and_escaped_labels() {
        let info = ReportInfo {
            model: "m<1>".into(),
            version: "v1".into(),
            data: vec!["dev.csv".into()],
            rows: 4,
            ..ReportInfo::default()
        };
        let page = render(&sample(), &info).expect("renders");
        let html = &page.html;
        assert!(html.contains("<section id=\"head-category\">") && html.contains("<section id=\"head-urgency\">"));
        assert!(html.contains("<svg"));
        assert!(html.contains("&lt;b&gt;"), "the label <b> is escaped");
        assert!(!html.contains("<b>"), "no raw label markup anywhere, SVG text included");
        assert!(html.contains("Tom &amp; Jerry&#39;s &quot;queue&quot;") || html.contains("Tom &amp; Jerry"));
        assert!(html.contains("&lt;de&gt;") && !html.contains("<de>"));
        assert!(html.contains("m&lt;1&gt;"));
        assert!(!html.contains("src=") && !html.contains("<link") && !html.contains("href=\"http"), "self-contained");
        // Four charts per head.
        assert_eq!(page.charts.len(), 8);
        assert!(page.charts.iter().all(|(name, svg)| name.ends_with(".svg") && svg.starts_with("<svg")));
    }

    #[test]
    fn the_page_shows_the_faithfulness_check() {
        let faithful = Faithfulness { tickets: 12, top_phrase_drop: 0.31, random_phrase_drop: 0.02, top_wins: 0.75 };
        let info = ReportInfo { faithfulness: BTreeMap::from([("urgency".to_string(), faithful)]), ..ReportInfo::default() };
        let html = render(&sample(), &info).expect("renders").html;
        assert!(html.contains("Evidence faithfulness") && html.contains("<td>0.310</td><td>0.020</td><td>75.0%</td>"), "{html}");
    }

    #[test]
    fn a_rerun_leaves_no_chart_of_the_earlier_run() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("sentiment-f1.svg"), "<svg/>").expect("stale chart");
        write(dir.path(), &sample(), &ReportInfo::default()).expect("writes");
        assert!(!dir.path().join("sentiment-f1.svg").exists(), "the stale chart is gone");
        assert!(dir.path().join("urgency-f1.svg").exists());
    }

    #[test]
    fn writes_the_page_and_chart_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("report");
        let index = write(&out, &sample(), &ReportInfo::default()).expect("writes");
        assert_eq!(index, out.join("index.html"));
        assert!(std::fs::read_to_string(&index).expect("page").contains("<svg"));
        assert!(out.join("category-confusion.svg").exists() && out.join("urgency-reliability.svg").exists());
    }

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }
}
