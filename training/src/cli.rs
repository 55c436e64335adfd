//! The `triage-train` commands: flags parsed once (clap) into the typed settings of the
//! library, then `train` (history -> bundle) or `eval` (bundle + labeled data -> metrics,
//! predictions, report). The work itself lives in the library's other modules.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use indicatif::ProgressBar;
use triage::model::bundle::HeadSpec;
use triage::model::classifier::Classifier;

use crate::bundle_writer::{write_bundle, RunRecord};
use crate::data::{ColumnMap, Dataset};
use crate::linear_fit::LinearForm;
use crate::train::{progress_style, train, TrainConfig};
use crate::{corrections, data, eval, faithfulness, report};

#[derive(Parser)]
#[command(name = "triage-train", version, about = "Train and evaluate triage's ticket classifier")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per process: the size difference between the variants costs nothing worth boxing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Fit a model on labeled tickets and write a new bundle directory.
    Train(TrainArgs),
    /// Score a bundle on labeled tickets: accuracy, macro-F1, per-class table, confusion, ECE.
    Eval(EvalArgs),
}

#[derive(Args, Clone)]
struct Columns {
    /// Text columns, joined with newlines in this order.
    #[arg(long, value_delimiter = ',', default_value = "subject,body")]
    text: Vec<String>,
    /// Column holding the urgency label.
    #[arg(long)]
    urgency: Option<String>,
    /// Column holding the sentiment label.
    #[arg(long)]
    sentiment: Option<String>,
    /// Column holding the category label.
    #[arg(long)]
    category: Option<String>,
    /// A head and the column holding its label, e.g. `product=product_area`; repeatable. Any
    /// head a helpdesk labels can be trained this way; --urgency, --sentiment and --category
    /// are shorthands for the usual three.
    #[arg(long = "label", value_name = "HEAD=COLUMN")]
    label: Vec<String>,
    /// Column holding the ticket language (used in reports).
    #[arg(long)]
    language: Option<String>,
    /// Column holding a stable ticket id.
    #[arg(long)]
    id: Option<String>,
}

impl Columns {
    fn to_map(&self) -> anyhow::Result<ColumnMap> {
        let shorthands = [("urgency", &self.urgency), ("sentiment", &self.sentiment), ("category", &self.category)];
        let mut labels: BTreeMap<String, String> =
            shorthands.into_iter().filter_map(|(head, column)| column.clone().map(|c| (head.to_string(), c))).collect();
        for pair in &self.label {
            let Some((head, column)) = pair.split_once('=').filter(|(h, c)| !h.trim().is_empty() && !c.trim().is_empty()) else {
                bail!("--label {pair:?}: write HEAD=COLUMN, e.g. --label product=product_area");
            };
            if labels.insert(head.trim().to_string(), column.trim().to_string()).is_some() {
                bail!("--label {pair:?}: head `{}` is mapped twice", head.trim());
            }
        }
        if labels.is_empty() {
            bail!("map at least one label column: --label HEAD=COLUMN, --urgency, --sentiment or --category");
        }
        Ok(ColumnMap { id: self.id.clone(), text: self.text.clone(), language: self.language.clone(), labels })
    }
}

#[derive(Args)]
struct TrainArgs {
    /// Training files (CSV, JSONL or Parquet); each head learns from the rows carrying its label.
    #[arg(long, required = true, num_args = 1..)]
    data: Vec<PathBuf>,
    /// Validation files for early stopping and calibration; by default a seeded
    /// --validation-fraction of the training rows is held back instead.
    #[arg(long, num_args = 1..)]
    dev: Vec<PathBuf>,
    /// Held-out files scored into metrics.json and the model card (never trained on).
    #[arg(long, num_args = 1..)]
    eval: Vec<PathBuf>,
    /// Reviewer corrections from `triage export-feedback`: they override the labels of the
    /// history row with the same ticket id (--id), or join as new rows.
    #[arg(long, num_args = 1..)]
    corrections: Vec<PathBuf>,
    /// The new bundle directory (must not exist).
    #[arg(long)]
    out: PathBuf,
    /// Model name recorded in the manifest (default: the directory name).
    #[arg(long)]
    name: Option<String>,
    /// A line for the model card's data section (source, license); repeatable.
    #[arg(long)]
    data_note: Vec<String>,
    #[arg(long, default_value_t = 0.1)]
    validation_fraction: f64,
    /// Seed of the validation hold-out; fixed apart from --seed so runs with different model
    /// seeds are compared on the same validation rows.
    #[arg(long, default_value_t = TrainConfig::default().seed)]
    split_seed: u64,
    #[arg(long, default_value_t = TrainConfig::default().epochs)]
    epochs: usize,
    /// Epochs without a better validation macro-F1 before training stops.
    #[arg(long, default_value_t = TrainConfig::default().patience)]
    patience: usize,
    /// Embedding columns per head.
    #[arg(long, default_value_t = TrainConfig::default().head_dim)]
    head_dim: usize,
    #[arg(long, default_value_t = TrainConfig::default().buckets)]
    buckets: usize,
    #[arg(long, default_value_t = TrainConfig::default().vocab_size)]
    vocab_size: usize,
    #[arg(long, default_value_t = TrainConfig::default().learning_rate)]
    learning_rate: f64,
    #[arg(long, default_value_t = TrainConfig::default().embedding_learning_rate)]
    embedding_learning_rate: f64,
    #[arg(long, default_value_t = TrainConfig::default().weight_decay)]
    weight_decay: f64,
    /// Shortest character n-gram.
    #[arg(long, default_value_t = TrainConfig::default().char_ngram_min)]
    char_ngram_min: usize,
    /// Longest character n-gram (below --char-ngram-min: no character n-grams).
    #[arg(long, default_value_t = TrainConfig::default().char_ngram_max)]
    char_ngram_max: usize,
    #[arg(long, default_value_t = TrainConfig::default().min_df)]
    min_df: u32,
    #[arg(long, default_value_t = TrainConfig::default().feature_dropout)]
    feature_dropout: f32,
    #[arg(long, default_value_t = TrainConfig::default().batch_size)]
    batch_size: usize,
    #[arg(long, default_value_t = TrainConfig::default().seed)]
    seed: u64,
    /// Members trained with seeds seed, seed+1, ... and averaged into one network.
    #[arg(long, default_value_t = TrainConfig::default().ensemble)]
    ensemble: usize,
    /// Accuracy the `high` band must hold on validation rows.
    #[arg(long, default_value_t = TrainConfig::default().target_accuracy)]
    target_accuracy: f32,
    /// Heads fitted as logistic regression on the features (convex, L-BFGS) in place of the
    /// embedding ensemble's head: `all` (every head of this run), `none`, or head names.
    #[arg(long, value_delimiter = ',', default_value = "all")]
    linear_heads: Vec<String>,
    /// Candidate inverse regularisation strengths (scikit-learn's C) for --linear-heads;
    /// the best macro-F1 on rows its fit did not see is kept (see --linear-folds and
    /// --linear-holdout-rows).
    #[arg(long, value_delimiter = ',', default_values_t = TrainConfig::default().linear_inverse_regularisation)]
    linear_c: Vec<f64>,
    /// Candidate forms of a linear head, each scored with every --linear-c:
    /// `multinomial` (one logistic regression over all classes) and `nb-one-vs-rest` (one
    /// binary logistic regression per class on naive-Bayes-scaled features).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = TrainConfig::default().linear_forms)]
    linear_forms: Vec<LinearForm>,
    /// Most L-BFGS iterations per linear-head fit.
    #[arg(long, default_value_t = TrainConfig::default().linear_max_iterations)]
    linear_max_iterations: u64,
    /// A linear-head solve stops once the L2 norm of its objective's gradient is below this.
    #[arg(long, default_value_t = TrainConfig::default().linear_tolerance)]
    linear_tolerance: f64,
    /// Folds of the cross-validation (over training plus validation rows, the training rows
    /// capped by --linear-selection-rows) that chooses C; at least 2.
    #[arg(long, default_value_t = TrainConfig::default().linear_folds)]
    linear_folds: usize,
    /// From this many validation rows carrying a head's label, C is chosen on those rows
    /// alone (scored by the fit on the training rows) instead of by cross-validation.
    #[arg(long, default_value_t = TrainConfig::default().linear_holdout_rows)]
    linear_holdout_rows: usize,
    /// Most training rows per head that the fits choosing C learn from (when there are more,
    /// every n-th row of each class; at least 1); the shipped fit always learns from every row.
    #[arg(long, default_value_t = TrainConfig::default().linear_selection_rows)]
    linear_selection_rows: usize,
    /// Candidate similarities (cosine of the word-level features, 0 to 1) from which a linear
    /// head takes the label of the most similar remembered ticket; each head keeps the one that
    /// most raises macro-F1 on the rows that scored C, or none. `none`: remember no tickets.
    #[arg(long, value_delimiter = ',', default_values_t = TrainConfig::default().recall_similarities.iter().map(f32::to_string).collect::<Vec<_>>())]
    recall_similarity: Vec<String>,
    /// A head with more labeled rows than this remembers no tickets.
    #[arg(long, default_value_t = TrainConfig::default().recall_rows)]
    recall_rows: usize,
    #[command(flatten)]
    columns: Columns,
}

#[derive(Args)]
struct EvalArgs {
    #[arg(long)]
    model: PathBuf,
    #[arg(long, required = true, num_args = 1..)]
    data: Vec<PathBuf>,
    /// Write the full metrics as JSON here.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Write an HTML report (index.html with inline charts, and the charts as .svg files)
    /// into this directory; with --language, it breaks the metrics down by language.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Write every scored row here as JSON lines: head, id (--id column, else file:line),
    /// truth, predicted label and its score.
    #[arg(long)]
    predictions: Option<PathBuf>,
    /// Seed for the random phrases of the evidence faithfulness check.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    #[command(flatten)]
    columns: Columns,
}

fn load(paths: &[PathBuf], columns: &Columns) -> anyhow::Result<Dataset> {
    let dataset = data::load(paths, &columns.to_map()?)?;
    eprintln!(
        "read {} usable rows from {} file(s); skipped {}: {}",
        dataset.examples.len(),
        dataset.files.len(),
        dataset.skipped.total(),
        dataset.skipped.summary()
    );
    Ok(dataset)
}

/// The history with any reviewer corrections applied, the head names, and how many
/// corrections were used.
fn training_data(args: &TrainArgs) -> anyhow::Result<(Dataset, Vec<String>, usize)> {
    let mut dataset = load(&args.data, &args.columns)?;
    let head_names: Vec<String> = args.columns.to_map()?.labels.into_keys().collect();
    if args.corrections.is_empty() {
        return Ok((dataset, head_names, 0));
    }
    let report = corrections::apply(&mut dataset, corrections::load(&args.corrections, &head_names)?);
    eprintln!(
        "applied {} correction(s): {} overrode history labels, {} new ticket(s)",
        report.used(),
        report.overridden,
        report.added
    );
    report.changes.iter().for_each(|change| eprintln!("  {change}"));
    Ok((dataset, head_names, report.used()))
}

/// The --linear-heads names, checked against this run's heads: `all` is every head, `none`
/// none; any other name must be a head the columns map (otherwise it is a typo).
fn linear_heads(names: &[String], heads: &[String]) -> anyhow::Result<Vec<String>> {
    if names.iter().any(|n| n == "all") {
        return Ok(heads.to_vec());
    }
    if let Some(unknown) = names.iter().find(|n| n.as_str() != "none" && !heads.contains(n)) {
        bail!("--linear-heads: `{unknown}` is not a head of this run (heads: {}; or all, none)", heads.join(", "));
    }
    Ok(names.iter().filter(|n| n.as_str() != "none").cloned().collect())
}

/// The `--recall-similarity` values: similarities between 0 and 1, or `none` for none.
fn recall_similarities(values: &[String]) -> anyhow::Result<Vec<f32>> {
    values
        .iter()
        .filter(|v| v.as_str() != "none")
        .map(|v| match v.parse::<f32>() {
            Ok(s) if (0.0..=1.0).contains(&s) => Ok(s),
            _ => bail!("--recall-similarity: `{v}` is not a similarity between 0 and 1 (or `none`)"),
        })
        .collect()
}

fn run_train(args: TrainArgs) -> anyhow::Result<()> {
    // Before minutes of training, not after: a bundle is immutable and never written over.
    anyhow::ensure!(
        !args.out.exists(),
        "{} already exists; a bundle is immutable, so train into a new directory",
        args.out.display()
    );
    let (dataset, head_names, corrections_used) = training_data(&args)?;
    let config = TrainConfig {
        vocab_size: args.vocab_size,
        buckets: args.buckets,
        head_dim: args.head_dim,
        epochs: args.epochs,
        patience: args.patience,
        batch_size: args.batch_size,
        learning_rate: args.learning_rate,
        embedding_learning_rate: args.embedding_learning_rate,
        weight_decay: args.weight_decay,
        feature_dropout: args.feature_dropout,
        min_df: args.min_df,
        char_ngram_min: args.char_ngram_min,
        char_ngram_max: args.char_ngram_max,
        seed: args.seed,
        ensemble: args.ensemble,
        target_accuracy: args.target_accuracy,
        linear_heads: linear_heads(&args.linear_heads, &head_names)?,
        linear_inverse_regularisation: args.linear_c.clone(),
        linear_forms: args.linear_forms.clone(),
        linear_max_iterations: args.linear_max_iterations,
        linear_tolerance: args.linear_tolerance,
        linear_folds: args.linear_folds,
        linear_holdout_rows: args.linear_holdout_rows,
        linear_selection_rows: args.linear_selection_rows,
        recall_similarities: recall_similarities(&args.recall_similarity)?,
        recall_rows: args.recall_rows,
        ..TrainConfig::default()
    };
    let heads: Vec<HeadSpec> =
        dataset.label_sets(&head_names)?.into_iter().map(|(name, labels)| HeadSpec { name, labels }).collect();
    let (train_rows, validation_rows) = if args.dev.is_empty() {
        data::split(dataset.examples.clone(), args.validation_fraction, args.split_seed)
    } else {
        (dataset.examples.clone(), load(&args.dev, &args.columns)?.examples)
    };
    eprintln!("training on {} rows, validating on {}", train_rows.len(), validation_rows.len());
    let progress = ProgressBar::new(config.epochs as u64).with_style(progress_style());
    let started = std::time::Instant::now();
    let trained = train(&train_rows, &validation_rows, heads, &config, &progress)?;
    progress.finish();
    eprintln!("trained in {:.1}s (best epoch per head, per member: {:?})", started.elapsed().as_secs_f64(), trained.best_epoch);
    eprintln!("validation macro-F1 of the final network: {:?}", trained.validation_macro_f1);

    let evaluated_on = if args.eval.is_empty() { args.dev.clone() } else { args.eval.clone() };
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| args.out.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| "model".into()));
    let classifier = trained.classifier(&name)?;
    if args.eval.is_empty() {
        eprintln!(
            "no --eval files: metrics come from the validation rows, which the shipped fits and the memory learned \
             from too (optimistic); pass --eval for held-out metrics"
        );
    }
    let report = if evaluated_on.is_empty() {
        eval::evaluate(&classifier, &validation_rows)?
    } else {
        eval::evaluate(&classifier, &load(&evaluated_on, &args.columns)?.examples)?
    };
    print!("{}", eval::render(&report));
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let run = RunRecord {
        name: &name,
        config: &config,
        dataset: &dataset,
        corrections_used,
        data_notes: &args.data_note,
        report: &report,
        evaluated_on: &evaluated_on,
        held_out: !args.eval.is_empty(),
        command: &command,
        created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    };
    let manifest = write_bundle(&args.out, &trained, &run)?;
    println!("wrote {} (model {} version {})", args.out.display(), manifest.name, manifest.version);
    Ok(())
}

fn run_eval(args: EvalArgs) -> anyhow::Result<()> {
    let classifier = Classifier::load(&args.model)?;
    let dataset = load(&args.data, &args.columns)?;
    let report = eval::evaluate(&classifier, &dataset.examples)?;
    print!("{}", eval::render(&report));
    let texts: Vec<&str> = dataset.examples.iter().map(|e| e.text.as_str()).collect();
    let faithful = faithfulness::measure(&classifier, &texts, args.seed)?;
    println!("evidence faithfulness (score drop of the predicted label when a phrase is deleted):");
    for (head, f) in &faithful {
        println!(
            "  {head}: top evidence phrase {:.3}, random phrase of the same length {:.3}; top hurts more on {:.0}% of {} tickets",
            f.top_phrase_drop,
            f.random_phrase_drop,
            100.0 * f.top_wins,
            f.tickets
        );
    }
    if let Some(out) = args.out {
        let evaluated_on: Vec<String> = args.data.iter().map(|p| p.display().to_string()).collect();
        let text = serde_json::to_vec_pretty(&serde_json::json!({
            "evaluated_on": evaluated_on,
            "report": report,
            "faithfulness": faithful,
        }))?;
        std::fs::write(&out, text).with_context(|| format!("writing {}", out.display()))?;
        println!("wrote {}", out.display());
    }
    if let Some(path) = args.predictions {
        let mut lines = String::new();
        for (head, rows) in &report.rows {
            for row in rows {
                let mut line = serde_json::to_value(row)?;
                line["head"] = serde_json::Value::from(head.as_str());
                lines.push_str(&serde_json::to_string(&line)?);
                lines.push('\n');
            }
        }
        std::fs::write(&path, lines).with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    if let Some(dir) = args.report {
        // Only for the abstain threshold the charts mark; the page is still written without it.
        let calibration: triage::model::calibration::Calibration =
            triage::model::bundle::read_json(&args.model, triage::model::bundle::CALIBRATION).unwrap_or_default();
        let info = report::ReportInfo {
            model: classifier.name().to_string(),
            version: classifier.version().to_string(),
            data: args.data.iter().map(|p| p.display().to_string()).collect(),
            rows: dataset.examples.len(),
            calibration: calibration.heads,
            faithfulness: faithful.clone(),
        };
        let index = report::write(&dir, &report, &info)?;
        println!("wrote {}", index.display());
    }
    Ok(())
}

/// Runs the command the flags name.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Train(args) => run_train(args),
        Command::Eval(args) => run_eval(args),
    }
}

#[cfg(test)]
mod end_to_end;
