//! The report's pictures, drawn with plotters into SVG strings: per-class F1 bars, the
//! confusion heatmap, the reliability diagram and the coverage / accuracy curve. Text is
//! left to the SVG viewer (no font files needed); widths are estimated from character counts.

use plotters::element::{DashedPathElement, EmptyElement};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::eval::{Abstention, SweepPoint};
use crate::metrics::{ClassMetrics, ReliabilityBin};

const FONT: &str = "sans-serif";
const INK: RGBColor = RGBColor(34, 34, 34);
const MUTED: RGBColor = RGBColor(110, 110, 110);
const GRID: RGBColor = RGBColor(221, 221, 221);
const BAR: RGBColor = RGBColor(59, 117, 175);
const GAP: RGBColor = RGBColor(214, 96, 77);
const EMPTY_ROW: RGBColor = RGBColor(240, 240, 240);
/// Longest label drawn in a chart; longer ones are cut with an ellipsis (tables keep them whole).
const MAX_CHART_LABEL: usize = 34;

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

/// The SVG backend writes `size / 1.24` as the font size; scale up so `size` is the pixel size.
fn font(size: f64, weight: FontStyle) -> FontDesc<'static> {
    FontDesc::new(FontFamily::Name(FONT), size * 1.24, weight)
}

fn style(size: f64, color: RGBColor, h: HPos, v: VPos) -> TextStyle<'static> {
    font(size, FontStyle::Normal).color(&color).pos(Pos::new(h, v))
}

fn bold(size: f64, color: RGBColor, h: HPos, v: VPos) -> TextStyle<'static> {
    font(size, FontStyle::Bold).color(&color).pos(Pos::new(h, v))
}

/// A generous estimate of a sans-serif text's width in pixels at `size` pixels.
fn text_width(text: &str, size: f64) -> i32 {
    (text.chars().count() as f64 * size * 0.56).ceil() as i32
}

fn short(label: &str) -> String {
    if label.chars().count() <= MAX_CHART_LABEL {
        label.to_string()
    } else {
        format!("{}…", label.chars().take(MAX_CHART_LABEL - 1).collect::<String>())
    }
}

/// Draws with `draw` on a white `width` x `height` canvas and returns the SVG text.
fn svg(width: u32, height: u32, draw: impl FnOnce(&Area) -> anyhow::Result<()>) -> anyhow::Result<String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (width, height)).into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root)?;
        root.present()?;
    }
    Ok(out)
}

/// Row-normalised share to a white-to-dark-blue fill (ColorBrewer "Blues" stops, so small
/// shares are already visible and large ones clearly dark).
fn heat(share: f64) -> RGBColor {
    const STOPS: [(f64, f64, f64); 5] =
        [(247.0, 251.0, 255.0), (198.0, 219.0, 239.0), (107.0, 174.0, 214.0), (33.0, 113.0, 181.0), (8.0, 48.0, 107.0)];
    let at = share.clamp(0.0, 1.0) * (STOPS.len() - 1) as f64;
    let i = (at.floor() as usize).min(STOPS.len() - 2);
    let (low, high, s) = (STOPS[i], STOPS[i + 1], at - i as f64);
    let mix = |a: f64, b: f64| (a + (b - a) * s).round() as u8;
    RGBColor(mix(low.0, high.0), mix(low.1, high.1), mix(low.2, high.2))
}

/// Horizontal F1 bars, one per class, with support; a dashed line at the macro-F1.
pub fn f1_bars(classes: &[ClassMetrics], macro_f1: f64) -> anyhow::Result<String> {
    let label_size = 13.0;
    let label_w = classes.iter().map(|c| text_width(&short(&c.label), label_size)).max().unwrap_or(40) + 16;
    let (row, top, bar_w, value_w) = (26, 36, 320, 96);
    let width = (label_w + bar_w + value_w + 10) as u32;
    let height = (top + row * classes.len() as i32 + 44) as u32;
    svg(width, height, |root| {
        root.draw(&Text::new("F1 per class", (10, 8), bold(15.0, INK, HPos::Left, VPos::Top)))?;
        let x = |v: f64| label_w + (v.clamp(0.0, 1.0) * bar_w as f64).round() as i32;
        let bottom = top + row * classes.len() as i32;
        for tick in [0.0, 0.25, 0.5, 0.75, 1.0] {
            root.draw(&PathElement::new(vec![(x(tick), top - 4), (x(tick), bottom)], GRID))?;
            root.draw(&Text::new(format!("{tick:.2}"), (x(tick), bottom + 4), style(11.0, MUTED, HPos::Center, VPos::Top)))?;
        }
        // The macro-F1 line goes under the bars and their numbers, so it never hides them.
        root.draw(&DashedPathElement::new(vec![(x(macro_f1), top - 6), (x(macro_f1), bottom)], 5, 4, GAP.stroke_width(2)))?;
        let caption = format!("macro-F1 {macro_f1:.3}");
        root.draw(&Text::new(caption, (x(macro_f1), bottom + 20), style(12.0, GAP, HPos::Center, VPos::Top)))?;
        for (i, c) in classes.iter().enumerate() {
            let y = top + row * i as i32;
            let mid = y + row / 2;
            let color = if c.support == 0 { MUTED } else { INK };
            root.draw(&Text::new(short(&c.label), (label_w - 8, mid), style(label_size, color, HPos::Right, VPos::Center)))?;
            root.draw(&Rectangle::new([(x(0.0), y + 4), (x(c.f1).max(x(0.0) + 1), y + row - 4)], BAR.filled()))?;
            let note = format!("{:.2}  n={}", c.f1, c.support);
            let width = text_width(&note, 12.0);
            let at = x(c.f1) + 6;
            root.draw(&Rectangle::new([(at - 2, mid - 8), (at + width, mid + 8)], WHITE.mix(0.85).filled()))?;
            root.draw(&Text::new(note, (at, mid), style(12.0, INK, HPos::Left, VPos::Center)))?;
        }
        Ok(())
    })
}

/// Confusion heatmap: rows are the true labels, columns the predicted ones; each cell shows
/// its count, coloured by its share of the row; the row totals sit on the right.
pub fn confusion_heatmap(labels: &[String], confusion: &[Vec<usize>]) -> anyhow::Result<String> {
    let n = labels.len().max(1) as i32;
    let cell = (560 / n).clamp(38, 76);
    let label_size = 12.0;
    let count_size = if cell >= 48 { 14.0 } else { 12.0 };
    let label_w = labels.iter().map(|l| text_width(&short(l), label_size)).max().unwrap_or(40) + 14;
    let (title_h, axis_w, total_w) = (34, 24, 64);
    let (left, top) = (axis_w + label_w, title_h);
    let title = "Confusion matrix";
    let width = (left + n * cell + total_w).max(text_width(title, 15.0) + 30) as u32;
    let height = (top + n * cell + label_w + 30) as u32;
    svg(width, height, |root| {
        root.draw(&Text::new(title, (10, 8), bold(15.0, INK, HPos::Left, VPos::Top)))?;
        for (r, row) in confusion.iter().enumerate() {
            let total: usize = row.iter().sum();
            let y = top + cell * r as i32;
            for (c, &count) in row.iter().enumerate() {
                let x = left + cell * c as i32;
                let share = if total > 0 { count as f64 / total as f64 } else { 0.0 };
                let fill = if total > 0 { heat(share) } else { EMPTY_ROW };
                root.draw(&Rectangle::new([(x, y), (x + cell, y + cell)], fill.filled()))?;
                root.draw(&Rectangle::new([(x, y), (x + cell, y + cell)], WHITE.stroke_width(1)))?;
                let ink = if share > 0.55 { WHITE } else { INK };
                let text = if r == c {
                    bold(count_size, ink, HPos::Center, VPos::Center)
                } else {
                    style(count_size, ink, HPos::Center, VPos::Center)
                };
                root.draw(&Text::new(count.to_string(), (x + cell / 2, y + cell / 2), text))?;
            }
            root.draw(&Text::new(
                short(&labels[r]),
                (left - 8, y + cell / 2),
                style(label_size, INK, HPos::Right, VPos::Center),
            ))?;
            root.draw(&Text::new(
                format!("n={total}"),
                (left + n * cell + 8, y + cell / 2),
                style(11.0, MUTED, HPos::Left, VPos::Center),
            ))?;
        }
        // The diagonal framed, so the correct cells stand out whatever their colour.
        for d in 0..confusion.len() as i32 {
            let (x, y) = (left + cell * d, top + cell * d);
            root.draw(&Rectangle::new([(x + 1, y + 1), (x + cell - 1, y + cell - 1)], INK.stroke_width(1)))?;
        }
        let bottom = top + n * cell;
        for (c, label) in labels.iter().enumerate() {
            let x = left + cell * c as i32 + cell / 2;
            let rotated = style(label_size, INK, HPos::Right, VPos::Center).transform(FontTransform::Rotate270);
            root.draw(&Text::new(short(label), (x, bottom + 8), rotated))?;
        }
        let axis = style(13.0, MUTED, HPos::Center, VPos::Center);
        root.draw(&Text::new("predicted", (left + n * cell / 2, bottom + label_w + 16), axis.clone()))?;
        root.draw(&Text::new("true", (12, top + n * cell / 2), axis.transform(FontTransform::Rotate270)))?;
        Ok(())
    })
}

/// How a legend entry is drawn.
enum Mark {
    Bar(RGBColor),
    Line(RGBColor),
    Dashed(RGBColor),
    Ring(RGBColor),
}

const LEGEND_ROW: i32 = 20;

/// Legend entries one per row, in an area of their own below the plot so they never cover data.
fn legend(area: &Area, left: i32, entries: &[(Mark, String)]) -> anyhow::Result<()> {
    for (i, (mark, text)) in entries.iter().enumerate() {
        let y = 8 + LEGEND_ROW * i as i32;
        match *mark {
            Mark::Bar(c) => area.draw(&Rectangle::new([(left, y - 6), (left + 18, y + 6)], c.mix(0.85).filled()))?,
            Mark::Line(c) => area.draw(&PathElement::new(vec![(left, y), (left + 18, y)], c.stroke_width(3)))?,
            Mark::Dashed(c) => area.draw(&DashedPathElement::new(vec![(left, y), (left + 18, y)], 4, 3, c))?,
            Mark::Ring(c) => area.draw(&Circle::new((left + 9, y), 6, c.stroke_width(3)))?,
        }
        area.draw(&Text::new(text.clone(), (left + 26, y), style(12.0, INK, HPos::Left, VPos::Center)))?;
    }
    Ok(())
}

const PLOT: (u32, u32) = (540, 400);

/// Reliability diagram: per confidence bin a bar to its accuracy, a red tick at its mean
/// confidence, its row count above, and the diagonal of perfect calibration.
pub fn reliability_diagram(bins: &[ReliabilityBin], ece: f64) -> anyhow::Result<String> {
    let entries = vec![
        (Mark::Bar(BAR), "accuracy of the bin's rows (n = rows in the bin)".to_string()),
        (Mark::Line(GAP), "their mean confidence".to_string()),
        (Mark::Dashed(MUTED), "perfect calibration".to_string()),
    ];
    svg(PLOT.0, PLOT.1 + 12 + LEGEND_ROW as u32 * entries.len() as u32, |root| {
        let (plot, below) = root.split_vertically(PLOT.1);
        let mut chart = ChartBuilder::on(&plot)
            .caption(format!("Reliability (ECE {ece:.3})"), bold(15.0, INK, HPos::Left, VPos::Top))
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(50)
            .build_cartesian_2d(0f64..1f64, 0f64..1.08f64)?;
        chart
            .configure_mesh()
            .x_labels(11)
            .y_labels(6)
            .x_label_formatter(&|v| format!("{v:.1}"))
            .y_label_formatter(&|v| format!("{v:.1}"))
            .x_desc("confidence (top score)")
            .y_desc("accuracy")
            .light_line_style(WHITE)
            .bold_line_style(GRID)
            .label_style(style(11.0, MUTED, HPos::Center, VPos::Center))
            .axis_desc_style(style(13.0, MUTED, HPos::Center, VPos::Center))
            .draw()?;
        let filled: Vec<&ReliabilityBin> = bins.iter().filter(|b| b.count > 0).collect();
        chart.draw_series(
            filled
                .iter()
                .map(|b| Rectangle::new([(b.lower + 0.008, 0.0), (b.upper - 0.008, b.accuracy)], BAR.mix(0.85).filled())),
        )?;
        chart.draw_series(filled.iter().map(|b| {
            PathElement::new(
                vec![(b.lower + 0.008, b.mean_confidence), (b.upper - 0.008, b.mean_confidence)],
                GAP.stroke_width(3),
            )
        }))?;
        chart.draw_series(std::iter::once(DashedPathElement::new(vec![(0.0, 0.0), (1.0, 1.0)], 5, 4, MUTED)))?;
        chart.draw_series(filled.iter().map(|b| {
            let top = b.accuracy.max(b.mean_confidence) + 0.012;
            Text::new(format!("n={}", b.count), ((b.lower + b.upper) / 2.0, top), style(10.0, INK, HPos::Center, VPos::Bottom))
        }))?;
        legend(&below, 62, &entries)
    })
}

/// Coverage / accuracy curve over score thresholds, every tenth threshold labelled, and the
/// bundle's abstain operating point marked when known.
pub fn coverage_curve(curve: &[SweepPoint], operating: Option<(&Abstention, Option<f32>)>) -> anyhow::Result<String> {
    let lowest = curve.iter().map(|p| p.accuracy).chain(operating.map(|(a, _)| a.accuracy)).fold(1.0f64, f64::min);
    let y_low = ((lowest - 0.05) * 10.0).floor().max(0.0) / 10.0;
    let mut entries = vec![(Mark::Line(BAR), "rows scoring at least the threshold (a point every 0.02)".to_string())];
    if let Some((a, threshold)) = operating {
        let what = match threshold {
            Some(t) => format!("the bundle abstains below {t:.2}"),
            None => "the bundle's abstain threshold".to_string(),
        };
        entries.push((Mark::Ring(GAP), format!("{what}: coverage {:.0}%, accuracy {:.3}", a.coverage * 100.0, a.accuracy)));
    }
    svg(PLOT.0, PLOT.1 + 12 + LEGEND_ROW as u32 * entries.len() as u32, |root| {
        let (plot, below) = root.split_vertically(PLOT.1);
        let mut chart = ChartBuilder::on(&plot)
            .caption("Coverage / accuracy by score threshold", bold(15.0, INK, HPos::Left, VPos::Top))
            .margin(12)
            .margin_right(24)
            .x_label_area_size(42)
            .y_label_area_size(50)
            .build_cartesian_2d(0f64..1.02f64, y_low..1.02f64)?;
        chart
            .configure_mesh()
            .x_labels(11)
            .y_labels(8)
            .x_label_formatter(&|v| format!("{:.0}%", v * 100.0))
            .y_label_formatter(&|v| format!("{v:.2}"))
            .x_desc("coverage (share of rows at or above the threshold)")
            .y_desc("accuracy on those rows")
            .light_line_style(WHITE)
            .bold_line_style(GRID)
            .label_style(style(11.0, MUTED, HPos::Center, VPos::Center))
            .axis_desc_style(style(13.0, MUTED, HPos::Center, VPos::Center))
            .draw()?;
        let points: Vec<(f64, f64)> = curve.iter().map(|p| (p.coverage, p.accuracy)).collect();
        chart.draw_series(LineSeries::new(points.clone(), BAR.stroke_width(2)))?;
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 2, BAR.filled())))?;
        // Label thresholds 0.1, 0.2, ... where they crowd neither the previous label nor the
        // operating point's ring.
        let mut last_x = f64::NEG_INFINITY;
        let ring = operating.map(|(a, _)| a.coverage);
        for p in curve.iter().filter(|p| (p.threshold * 10.0 - (p.threshold * 10.0).round()).abs() < 1e-4) {
            if (p.coverage - last_x).abs() < 0.07 || ring.is_some_and(|r| (p.coverage - r).abs() < 0.03) {
                continue;
            }
            last_x = p.coverage;
            let label = format!("≥{:.1}", p.threshold);
            // Up and to the right of the point (up and left at the right edge): the curve
            // falls as coverage grows, so that side is off the line.
            let (dx, h) = if p.coverage > 0.92 { (-5, HPos::Right) } else { (5, HPos::Left) };
            let marked = EmptyElement::at((p.coverage, p.accuracy))
                + Circle::new((0, 0), 4, BAR.filled())
                + Text::new(label, (dx, -5), style(11.0, BAR, h, VPos::Bottom));
            chart.draw_series(std::iter::once(marked))?;
        }
        if let Some((a, _)) = operating {
            chart.draw_series(std::iter::once(Circle::new((a.coverage, a.accuracy), 7, GAP.stroke_width(3))))?;
        }
        legend(&below, 62, &entries)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heat_runs_from_white_to_dark_blue() {
        assert_eq!(heat(0.0), RGBColor(247, 251, 255));
        assert_eq!(heat(1.0), RGBColor(8, 48, 107));
        assert_eq!(heat(0.5), RGBColor(107, 174, 214));
    }

    #[test]
    fn long_labels_are_shortened_for_charts() {
        assert_eq!(short("IT Support"), "IT Support");
        let cut = short(&"x".repeat(60));
        assert_eq!(cut.chars().count(), MAX_CHART_LABEL);
        assert!(cut.ends_with('…'));
    }
}
