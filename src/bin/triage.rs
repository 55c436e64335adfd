//! `triage`: the command line. `serve` runs the HTTP server, `classify` answers JSONL tickets
//! from a file or stdin in the classify response shape, `check-policy` validates a policy. Flags are parsed here, once, into the
//! typed configs of the library; the work itself lives in the library.

use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use triage::classify::{classify_now, policy_for, read_ticket};
use triage::clusters::{group_all, likeness_of, pair_score, ClusterSettings};
use triage::model::Classifier;
use triage::model::EmbeddingEvidence;
use triage::priority_check::{Case, Report};
use triage::registry::{self, Kind, Store};
use triage::server::auth::Auth;
use triage::server::state::{Decisions, Loaded, Sources};
use triage::server::{AppState, ServerConfig, DEFAULT_CLUSTERS};
use triage::store::{DecisionStore, Location, Retention, StoreError};
use triage::ticket::{Ticket, TicketRequest};

#[derive(Parser)]
#[command(name = "triage", version, about = "Support-ticket prioritisation: model + policy behind an HTTP API")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API.
    Serve(ServeArgs),
    /// Validate a policy file: errors with line and column (exit 1), warnings either way.
    CheckPolicy(CheckPolicyArgs),
    /// Print the sha256 of an API key read from stdin, for the keys file.
    HashKey,
    /// Write reviewers' label corrections from the decision log as training rows (CSV) for
    /// `triage-train train --corrections`.
    ExportFeedback(ExportFeedbackArgs),
    /// Classify JSONL tickets (one classify request per line) from FILE or stdin; writes one
    /// response per line. A bad line gets an error object in its place and exit status 1.
    Classify(ClassifyArgs),
    /// Score final priorities against a labeled set: the common-sense set (JSONL with
    /// `acceptable` levels per ticket) or a CSV with an urgency column. Prints agreement,
    /// dangerous misses, over-escalation and review rate per language and context.
    CheckPriorities(CheckPrioritiesArgs),
    /// Score the grouping of repeat issues against a labeled sample (JSONL: id, group, at,
    /// subject, body): pairwise precision and recall at the given similarity and over a sweep.
    CheckClusters(CheckClustersArgs),
    /// Report over the decision log: volume, SLA met and business-hour times, satisfaction,
    /// agreement with reviewers, tickets escalated after the fact, review and abstention
    /// rates, rule hits. Markdown on stdout; with --out, each table as CSV too.
    Report(ReportArgs),
    /// Work with a candidate policy before it goes live.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// The model store: list its bundles, roll back to the previous one.
    #[command(subcommand)]
    Models(ModelsCommand),
}

#[derive(Subcommand)]
enum ModelsCommand {
    /// The store's bundles with their headline metrics, which is active, and the history.
    List(StoreArgs),
    /// Make the bundle that was active before the current one active again; a running server
    /// picks it up on reload (SIGHUP or POST /admin/reload).
    Rollback(StoreArgs),
}

#[derive(clap::Args)]
struct StoreArgs {
    /// The store: a directory of model bundles or policy files with registry.json, or a
    /// `postgres://` URL naming the database servers share.
    #[arg(long)]
    store: PathBuf,
    /// Who rolls back, for the registry.
    #[arg(long, env = "USER", default_value = "unknown")]
    by: String,
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Decide the logged tickets again, with their logged predictions, under a candidate
    /// policy, and print what would change: level moves, queue moves, review rate, and the
    /// tickets reviewers set a level for that it now gets right or wrong.
    Replay(ReplayArgs),
    /// Check a policy file (and, with --model, its labels against the model) and make it the
    /// store's active policy; a running server started with --policy STORE picks it up on
    /// reload (SIGHUP or POST /admin/reload).
    Promote(PolicyPromoteArgs),
    /// Make the policy that was active before the current one active again.
    Rollback(StoreArgs),
    /// The store's policies, which is active, and the history.
    List(StoreArgs),
}

#[derive(clap::Args)]
struct PolicyPromoteArgs {
    /// The policy store: a directory of policy files with registry.json (created on first
    /// use), or a `postgres://` URL naming the database servers share.
    #[arg(long)]
    store: PathBuf,
    /// The policy file to promote.
    #[arg(long)]
    policy: PathBuf,
    /// Check the policy's labels against this model (a bundle or a model store) too.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Who promotes, for the registry.
    #[arg(long, env = "USER", default_value = "unknown")]
    by: String,
}

#[derive(clap::Args)]
struct ReplayArgs {
    /// The decision log: a SQLite file or a `postgres://` URL.
    #[arg(long, env = "TRIAGE_DB", default_value = "decisions.db")]
    db: Location,
    /// The candidate policy file.
    #[arg(long)]
    policy: PathBuf,
    /// First day or instant replayed (RFC 3339 or YYYY-MM-DD, UTC); default 30 days ago.
    #[arg(long)]
    since: Option<String>,
    /// First day or instant not replayed; default now.
    #[arg(long)]
    until: Option<String>,
}

#[derive(clap::Args)]
struct ReportArgs {
    /// The decision log: a SQLite file or a `postgres://` URL.
    #[arg(long, env = "TRIAGE_DB", default_value = "decisions.db")]
    db: Location,
    /// The policy whose calendars and levels the SLA figures use.
    #[arg(long, env = "TRIAGE_POLICY", default_value = "config/policy.toml")]
    policy: PathBuf,
    /// The served model (a bundle or store): drift compares the labels with its predictions on
    /// its held-out data.
    #[arg(long, env = "TRIAGE_MODEL", default_value = "models/default")]
    model: PathBuf,
    /// First day or instant included (RFC 3339 or YYYY-MM-DD, UTC); default 30 days before --until.
    #[arg(long)]
    since: Option<String>,
    /// First day or instant excluded; default now.
    #[arg(long)]
    until: Option<String>,
    /// Directory for report.md and one CSV per table (created; files in it are replaced).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// How repeat issues are grouped (`triage serve` and `triage check-clusters`).
#[derive(clap::Args)]
struct ClusterArgs {
    /// Least similarity (cosine of the model's TF-IDF features) for a ticket to join a recent
    /// ticket's cluster, with a model that does not group by meaning.
    #[arg(long, env = "TRIAGE_CLUSTER_SIMILARITY", default_value_t = DEFAULT_CLUSTERS.similarity)]
    cluster_similarity: f32,
    /// The same, as the cosine of whitened sentence embeddings, with a model whose encoder carries
    /// the whitening (older encoder bundles group by features).
    #[arg(long, env = "TRIAGE_CLUSTER_MEANING_SIMILARITY", default_value_t = DEFAULT_CLUSTERS.meaning_similarity)]
    cluster_meaning_similarity: f32,
    /// How far back, in minutes, a new ticket looks for one like it.
    #[arg(long, env = "TRIAGE_CLUSTER_WINDOW_MINUTES", default_value_t = DEFAULT_CLUSTERS.window.num_minutes())]
    cluster_window_minutes: i64,
    /// Most recent tickets a new one is compared with (the newest within the window).
    #[arg(long, env = "TRIAGE_CLUSTER_MAX_RECENT", default_value_t = DEFAULT_CLUSTERS.max_recent)]
    cluster_max_recent: usize,
}

impl ClusterArgs {
    fn settings(&self) -> anyhow::Result<ClusterSettings> {
        anyhow::ensure!((0.0..=1.0).contains(&self.cluster_similarity), "--cluster-similarity must be between 0 and 1");
        anyhow::ensure!(
            (0.0..=1.0).contains(&self.cluster_meaning_similarity),
            "--cluster-meaning-similarity must be between 0 and 1"
        );
        anyhow::ensure!(self.cluster_window_minutes > 0, "--cluster-window-minutes must be positive");
        anyhow::ensure!(self.cluster_max_recent > 0, "--cluster-max-recent must be positive");
        Ok(ClusterSettings {
            similarity: self.cluster_similarity,
            meaning_similarity: self.cluster_meaning_similarity,
            window: chrono::TimeDelta::minutes(self.cluster_window_minutes),
            max_recent: self.cluster_max_recent,
        })
    }
}

#[derive(clap::Args)]
struct CheckClustersArgs {
    /// Model bundle directory.
    #[arg(long, env = "TRIAGE_MODEL", default_value = "models/default")]
    model: PathBuf,
    /// The labeled sample (JSONL).
    sample: PathBuf,
    #[command(flatten)]
    clusters: ClusterArgs,
}

#[derive(clap::Args)]
struct CheckPrioritiesArgs {
    /// Model bundle directory.
    #[arg(long, env = "TRIAGE_MODEL", default_value = "models/default")]
    model: PathBuf,
    /// Policy file.
    #[arg(long, env = "TRIAGE_POLICY", default_value = "config/policy.toml")]
    policy: PathBuf,
    /// `.jsonl`: one `{"id", "language", "acceptable": ["P1", ...], "request": {classify request}}`
    /// per line (data/commonsense/). `.csv`: columns subject, body, language and
    /// --urgency-column, whose high / medium / low accept the policy's levels 1-2 / 2-3 / 3-4.
    set: PathBuf,
    /// CSV only: the column with the urgency label.
    #[arg(long, default_value = "priority")]
    urgency_column: String,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Also print each ticket placed outside its acceptable levels, with the summary.
    #[arg(long)]
    disagreements: bool,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Model bundle directory.
    #[arg(long, env = "TRIAGE_MODEL", default_value = "models/default")]
    model: PathBuf,
    /// Policy file.
    #[arg(long, env = "TRIAGE_POLICY", default_value = "config/policy.toml")]
    policy: PathBuf,
    /// Address to listen on.
    #[arg(long, env = "TRIAGE_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Most tickets in one batch request.
    #[arg(long, env = "TRIAGE_MAX_BATCH", default_value_t = ServerConfig::default().max_batch)]
    max_batch: usize,
    /// Largest request body in bytes.
    #[arg(long, env = "TRIAGE_MAX_BODY_BYTES", default_value_t = ServerConfig::default().max_body_bytes)]
    max_body_bytes: usize,
    /// Requests that may wait for the model before new ones are refused with 429.
    #[arg(long, env = "TRIAGE_QUEUE", default_value_t = ServerConfig::default().queue)]
    queue: usize,
    /// API keys file (TOML: [[key]] name, sha256, roles). Required unless --no-auth.
    #[arg(long, env = "TRIAGE_KEYS", required_unless_present = "no_auth")]
    keys: Option<PathBuf>,
    /// Serve without API keys; accepted only on a loopback address.
    #[arg(long, conflicts_with = "keys")]
    no_auth: bool,
    /// Log format.
    #[arg(long, env = "TRIAGE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Decision log: a SQLite file (created on first start) or a `postgres://` URL naming a
    /// database that several servers may share.
    #[arg(long, env = "TRIAGE_DB", default_value = "decisions.db")]
    db: Location,
    /// Days a decision (and its feedback) is kept; 0 keeps everything.
    #[arg(long, env = "TRIAGE_RETENTION_DAYS", default_value_t = 365)]
    retention_days: u32,
    /// The period the drift gauges of /metrics compare with the one before (refreshed hourly
    /// from the decision log); 0 turns them off.
    #[arg(long, env = "TRIAGE_DRIFT_DAYS", default_value_t = 7)]
    drift_days: u32,
    /// Minutes between background computations of the reports page's default period (the last
    /// 30 days), which the page shows with the time it was computed; 0 computes it on every
    /// request instead.
    #[arg(long, env = "TRIAGE_REPORT_REFRESH_MINUTES", default_value_t = 5)]
    report_refresh_minutes: u64,
    /// Threads of candle's element-wise work in one forward pass (see `DEFAULT_MODEL_THREADS`).
    #[arg(long, env = "TRIAGE_MODEL_THREADS", default_value_t = triage::model::compute::DEFAULT_MODEL_THREADS)]
    model_threads: usize,
    /// Weigh the evidence of the heads that read the sentence embedding by occlusion (each
    /// phrase deleted and the ticket read again: an encoder pass per phrase, several times a
    /// classify's cost) instead of by the words' shares alone.
    #[arg(long, env = "TRIAGE_OCCLUSION_EVIDENCE")]
    occlusion_evidence: bool,
    #[command(flatten)]
    clusters: ClusterArgs,
    /// This server's name among those sharing a decision log (shown by /readyz, recorded with
    /// the retention runs it makes); default the host name and port.
    #[arg(long, env = "TRIAGE_SERVER_NAME")]
    server_name: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(clap::Args)]
struct ExportFeedbackArgs {
    /// The decision log: a SQLite file or a `postgres://` URL.
    #[arg(long, env = "TRIAGE_DB", default_value = "decisions.db")]
    db: Location,
    /// The corrections file to write (CSV).
    #[arg(long)]
    out: PathBuf,
}

#[derive(clap::Args)]
struct CheckPolicyArgs {
    /// The policy file (TOML).
    file: PathBuf,
    /// Also check rule conditions against this model bundle's label sets.
    #[arg(long)]
    model: Option<PathBuf>,
}

#[derive(clap::Args)]
struct ClassifyArgs {
    /// Model bundle directory.
    #[arg(long, env = "TRIAGE_MODEL", default_value = "models/default")]
    model: PathBuf,
    /// Policy file.
    #[arg(long, env = "TRIAGE_POLICY", default_value = "config/policy.toml")]
    policy: PathBuf,
    /// JSONL file of tickets; stdin when absent.
    file: Option<PathBuf>,
    /// Weigh the evidence of the heads that read the sentence embedding by occlusion (each
    /// phrase deleted and the ticket read again: an encoder pass per phrase) instead of by the
    /// words' shares alone, which miss what a phrase does through the embedding.
    #[arg(long)]
    occlusion_evidence: bool,
}

/// The evidence weighing that an `--occlusion-evidence` flag asks for.
fn embedding_evidence(occlusion: bool) -> EmbeddingEvidence {
    if occlusion {
        EmbeddingEvidence::Occlusion
    } else {
        EmbeddingEvidence::Shares
    }
}

/// One JSONL line as a ticket, or the error object the server would answer for it, which
/// stands in its place.
fn parse_line(line: &str) -> Result<Ticket, String> {
    read_ticket(line.as_bytes()).map_err(|e| {
        let error = triage::server::error::ApiError::from(e);
        serde_json::to_string(&error.envelope()).unwrap_or_else(|_| error.to_string())
    })
}

/// Lines parsed and answered at a time by `classify`.
const CLASSIFY_CHUNK: usize = 256;

/// A labeled set as (case, ticket) pairs; see `CheckPrioritiesArgs::set`.
fn read_labeled_set(args: &CheckPrioritiesArgs, levels: &[String]) -> anyhow::Result<Vec<(Case, Ticket)>> {
    let path = &args.set;
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let at = |line: usize| format!("{}:{line}", path.display());
    if path.extension().is_some_and(|e| e == "csv") {
        let accepted = |from: usize| levels.iter().skip(from).take(2).cloned().collect::<Vec<_>>();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let headers = reader.headers()?.clone();
        let column = |name: &str| {
            headers.iter().position(|h| h == name).with_context(|| format!("{} has no column {name:?}", path.display()))
        };
        let (subject, body, language, urgency) =
            (column("subject")?, column("body")?, column("language")?, column(&args.urgency_column)?);
        let mut set = Vec::new();
        let mut skipped = 0;
        for (index, record) in reader.records().enumerate() {
            let record = record.with_context(|| at(index + 2))?;
            let acceptable = match &record[urgency] {
                "high" => accepted(0),
                "medium" => accepted(1),
                "low" => accepted(2),
                other => anyhow::bail!("{}: urgency {other:?} is not high, medium or low", at(index + 2)),
            };
            let request = TicketRequest {
                id: Some(format!("row-{}", index + 2)),
                subject: Some(record[subject].to_string()),
                body: Some(record[body].to_string()),
                language: Some(record[language].to_string()),
                ..TicketRequest::default()
            };
            let ticket = match request.validate() {
                Ok(ticket) => ticket,
                Err(e) => {
                    eprintln!("{}: skipped: {e}", at(index + 2));
                    skipped += 1;
                    continue;
                }
            };
            let case =
                Case { id: format!("row-{}", index + 2), language: record[language].to_string(), acceptable, context: false };
            set.push((case, ticket));
        }
        if skipped > 0 {
            eprintln!("{}: {skipped} row(s) skipped (not a valid ticket), {} scored", path.display(), set.len());
        }
        return Ok(set);
    }
    triage::priority_check::parse_jsonl(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn check_priorities(args: CheckPrioritiesArgs) -> anyhow::Result<()> {
    let classifier = Classifier::load(&args.model)?;
    let policy = policy_for(&classifier, triage::policy_file::load(&args.policy)?)?;
    let levels: Vec<String> = policy.levels().iter().map(|l| l.level.clone()).collect();
    let set = read_labeled_set(&args, &levels)?;
    let tickets: Vec<&Ticket> = set.iter().map(|(_, t)| t).collect();
    let responses = classify_now(&classifier, &policy, &tickets, chrono::Utc::now(), EmbeddingEvidence::Shares)?;
    if args.disagreements {
        for ((case, _), response) in set.iter().zip(&responses).filter(|((c, _), r)| !c.acceptable.contains(&r.priority.level)) {
            println!(
                "{} [{}] got {}{}: {}",
                case.id,
                case.acceptable.join(","),
                response.priority.level,
                if response.needs_review { " (review)" } else { "" },
                response.explanation.summary
            );
        }
    }
    let cases: Vec<Case> = set.into_iter().map(|(case, _)| case).collect();
    let report = Report::of_responses(&cases, &responses, &levels);
    println!("{} on {} with {} and {}\n", args.set.display(), cases.len(), args.model.display(), args.policy.display());
    print!("{report}");
    if let Some(out) = &args.json {
        std::fs::write(out, serde_json::to_string_pretty(&report)?).with_context(|| format!("writing {}", out.display()))?;
    }
    Ok(())
}

fn report(args: ReportArgs) -> anyhow::Result<()> {
    let policy = triage::policy_file::load(&args.policy)?;
    let now = chrono::Utc::now();
    let (since, until) = triage::report::period(args.since.as_deref(), args.until.as_deref(), now)
        .map_err(|e| anyhow::anyhow!("--{}: {}", e.field, e.message))?;
    // Drift compares with the period of the same length just before.
    let before = since - (until - since);
    let (period, previous) =
        read_log(&args.db, |store| async move { tokio::try_join!(store.reported(since, until), store.reported(before, since)) })?;
    let mut tables = triage::report::build(&period, &policy, now);
    let held_out = triage::model::bundle::held_out_predictions(&registry::resolve(&args.model, Kind::Model)?)?;
    tables.push(triage::report::drift(&period.decisions, &previous.decisions, &held_out));
    let mut markdown = format!(
        "# triage report\n\n{} decisions from {} to {} (UTC), decision log {}, policy {}\n\n",
        period.decisions.len(),
        since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        args.db,
        args.policy.display()
    );
    for table in &tables {
        markdown.push_str(&table.to_markdown());
        markdown.push('\n');
    }
    print!("{markdown}");
    if let Some(out) = &args.out {
        std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
        std::fs::write(out.join("report.md"), &markdown).with_context(|| format!("writing into {}", out.display()))?;
        for table in &tables {
            let path = out.join(format!("{}.csv", table.name));
            std::fs::write(&path, table.to_csv()?).with_context(|| format!("writing {}", path.display()))?;
        }
        eprintln!("wrote report.md and {} CSV tables to {}", tables.len(), out.display());
    }
    Ok(())
}

fn models_list(args: StoreArgs) -> anyhow::Result<()> {
    let store = open_store(&args.store, Kind::Model)?;
    let registry = store.read()?;
    println!("| bundle | active | heads: macro-F1 (held out) |\n|---|---|---|");
    for bundle in store.versions()? {
        let Some(manifest) = store.version_file(&bundle, triage::model::bundle::MANIFEST)? else { continue };
        let manifest: serde_json::Value = serde_json::from_slice(&manifest)?;
        let heads = manifest["metrics"]["heads"]
            .as_object()
            .map(|heads| {
                heads
                    .iter()
                    .map(|(head, m)| format!("{head} {:.3}", m["macro_f1"].as_f64().unwrap_or(f64::NAN)))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        let active = if registry.active.as_deref() == Some(bundle.as_str()) { "yes" } else { "" };
        println!("| {bundle} | {active} | {heads} |");
    }
    println!("\nhistory (oldest first):");
    print_history(&registry);
    Ok(())
}

/// The store at `path`, or an error saying a directory there is not a store.
fn open_store(path: &std::path::Path, kind: Kind) -> anyhow::Result<Store> {
    let store = Store::at(path, kind);
    if let Store::Dir(dir) = &store {
        anyhow::ensure!(registry::is_store(dir), "{} is not a store (no {})", dir.display(), registry::REGISTRY);
    }
    Ok(store)
}

fn print_history(registry: &triage::registry::Registry) {
    for entry in &registry.history {
        let active = if registry.active.as_deref() == Some(entry.bundle.as_str()) { " (active)" } else { "" };
        println!("  {entry}{active}");
    }
}

/// Rolls a model or policy store back to the version active before the current one.
fn rollback_store(args: StoreArgs, kind: Kind) -> anyhow::Result<()> {
    let store = open_store(&args.store, kind)?;
    let (active, previous) = store.update(|registry| {
        let active = registry.active.clone().unwrap_or_default();
        (active, registry.rollback(&args.by, chrono::Utc::now()))
    })?;
    let previous =
        previous.ok_or_else(|| anyhow::anyhow!("{active} was the first version promoted; there is nothing to roll back to"))?;
    println!("rolled back from {active} to {previous}; a running server picks it up on reload (SIGHUP or POST /admin/reload)");
    Ok(())
}

fn policy_promote(args: PolicyPromoteArgs) -> anyhow::Result<()> {
    let (text, report) = policy_check(&args.policy, args.model.as_deref())?;
    if !report.is_ok() {
        print_check(&args.policy, &report);
        anyhow::bail!("{} has errors; nothing was promoted", args.policy.display());
    }
    let version = triage::policy::Policy::from_toml(&text)?.version().to_string();
    let store = Store::at(&args.store, Kind::Policy);
    let name = format!("policy-{version}.toml");
    store.add_version(&name, &args.policy)?;
    let checked =
        serde_json::json!({"version": version, "checked_against": args.model.as_ref().map(|m| m.display().to_string())});
    store.update(|registry| registry.promote(&name, false, &args.by, checked, chrono::Utc::now()))?;
    println!("promoted {name} in {store}; a running server picks it up on reload (SIGHUP or POST /admin/reload)");
    Ok(())
}

fn policies_list(args: StoreArgs) -> anyhow::Result<()> {
    print_history(&open_store(&args.store, Kind::Policy)?.read()?);
    Ok(())
}

fn replay(args: ReplayArgs) -> anyhow::Result<()> {
    let candidate = triage::policy_file::load(&args.policy)?;
    let (since, until) = triage::report::period(args.since.as_deref(), args.until.as_deref(), chrono::Utc::now())
        .map_err(|e| anyhow::anyhow!("--{}: {}", e.field, e.message))?;
    let decisions = read_log(&args.db, |store| async move { store.between(since, until).await })?;
    let replay = triage::replay::replay(&decisions, &candidate);
    println!(
        "# Replay of {} under {} (policy version {})\n\n{} of {} logged decisions from {} to {} decided again\n",
        args.db,
        args.policy.display(),
        candidate.version(),
        replay.replayed,
        decisions.len(),
        since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    for table in &replay.tables {
        println!("{}", table.to_markdown());
    }
    for (decision, reason) in &replay.skipped {
        eprintln!("skipped {decision}: {reason}");
    }
    Ok(())
}

/// One line of a labeled repeat-issue sample.
#[derive(serde::Deserialize)]
struct SampleTicket {
    id: String,
    group: String,
    at: chrono::DateTime<chrono::Utc>,
    #[serde(flatten)]
    request: TicketRequest,
}

fn check_clusters(args: CheckClustersArgs) -> anyhow::Result<()> {
    let classifier = Classifier::load(&args.model)?;
    let text = std::fs::read_to_string(&args.sample).with_context(|| format!("reading {}", args.sample.display()))?;
    let mut sample = Vec::new();
    for (line, row) in text.lines().enumerate().filter(|(_, row)| !row.trim().is_empty()) {
        let ticket: SampleTicket =
            serde_json::from_str(row).with_context(|| format!("{}:{}: not a sample ticket", args.sample.display(), line + 1))?;
        let valid =
            ticket.request.clone().validate().map_err(|e| anyhow::anyhow!("{}:{}: {e}", args.sample.display(), line + 1))?;
        let (text, body_start) = valid.model_input();
        let analysis = classifier.analyse(&[(text.as_str(), body_start)])?.remove(0);
        sample.push((ticket, likeness_of(&analysis.features, analysis.grouping.as_deref(), classifier.version())));
    }
    sample.sort_by_key(|(ticket, _)| ticket.at);
    let settings = args.clusters.settings()?;
    let groups: Vec<&str> = sample.iter().map(|(ticket, _)| ticket.group.as_str()).collect();
    let score_at = |similarity: f32| {
        let arrivals = sample.iter().map(|(t, v)| (t.id.clone(), t.at, v.clone())).collect();
        let clusters = group_all(arrivals, ClusterSettings { similarity, meaning_similarity: similarity, ..settings });
        let assigned: Vec<(&str, &str)> = groups.iter().copied().zip(clusters.iter().map(String::as_str)).collect();
        let distinct = clusters.iter().collect::<std::collections::BTreeSet<_>>().len();
        (pair_score(&assigned), distinct)
    };
    let percent = |share: Option<f64>| share.map_or("-".to_string(), |s| format!("{:.1}%", s * 100.0));
    let true_groups = groups.iter().collect::<std::collections::BTreeSet<_>>().len();
    println!(
        "{} on {} tickets in {true_groups} groups with {}, window {} min\n",
        args.sample.display(),
        sample.len(),
        args.model.display(),
        settings.window.num_minutes()
    );
    // Whitened embeddings' useful thresholds lie in a band around 0.4, in finer steps.
    let (basis, chosen_at, mut sweep): (&str, f32, Vec<f32>) = if classifier.groups_by_meaning() {
        ("embedding similarity", settings.meaning_similarity, (0..=15).map(|step| 0.26 + step as f32 * 0.02).collect())
    } else {
        ("feature similarity", settings.similarity, (1..=12).map(|step| step as f32 * 0.05).collect())
    };
    println!("| {basis} | pairwise precision | pairwise recall | clusters |\n|---:|---:|---:|---:|");
    if !sweep.iter().any(|s| (s - chosen_at).abs() < 1e-6) {
        sweep.push(chosen_at);
        sweep.sort_by(f32::total_cmp);
    }
    for similarity in sweep {
        let (score, clusters) = score_at(similarity);
        let chosen = if (similarity - chosen_at).abs() < 1e-6 { " (chosen)" } else { "" };
        println!("| {similarity:.2}{chosen} | {} | {} | {clusters} |", percent(score.precision), percent(score.recall));
    }
    Ok(())
}

fn classify(args: ClassifyArgs) -> anyhow::Result<bool> {
    let classifier = Classifier::load(&args.model)?;
    let policy = policy_for(&classifier, triage::policy_file::load(&args.policy)?)?;
    let now = chrono::Utc::now();
    let evidence = embedding_evidence(args.occlusion_evidence);
    let input: Box<dyn BufRead> = match &args.file {
        Some(path) => {
            Box::new(std::io::BufReader::new(std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?))
        }
        None => Box::new(std::io::stdin().lock()),
    };
    let lines: Vec<String> = input.lines().collect::<Result<_, _>>().context("reading tickets")?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut all_ok = true;
    for (chunk_index, chunk) in lines.chunks(CLASSIFY_CHUNK).enumerate() {
        let parsed: Vec<Result<Ticket, String>> = chunk.iter().map(|line| parse_line(line)).collect();
        let tickets: Vec<&Ticket> = parsed.iter().filter_map(|p| p.as_ref().ok()).collect();
        let mut responses = classify_now(&classifier, &policy, &tickets, now, evidence)?.into_iter();
        for (offset, item) in parsed.iter().enumerate() {
            match item {
                Ok(_) => {
                    let response = responses.next().context("model returned too few predictions")?;
                    writeln!(out, "{}", serde_json::to_string(&response)?)?;
                }
                Err(error) => {
                    all_ok = false;
                    eprintln!("line {}: {error}", chunk_index * CLASSIFY_CHUNK + offset + 1);
                    writeln!(out, "{error}")?;
                }
            }
        }
    }
    out.flush()?;
    Ok(all_ok)
}

/// Prints the check report; `Ok(true)` when the policy has no errors.
fn check_policy(args: CheckPolicyArgs) -> anyhow::Result<bool> {
    let (_, report) =
        policy_check(&triage::registry::resolve(&args.file, triage::registry::Kind::Policy)?, args.model.as_deref())?;
    print_check(&args.file, &report);
    Ok(report.is_ok())
}

/// A policy file's text and its check, against a model's labels too when one (a bundle or a
/// model store) is given.
fn policy_check(
    file: &std::path::Path,
    model: Option<&std::path::Path>,
) -> anyhow::Result<(String, triage::policy::CheckReport)> {
    let text = triage::policy_file::read_text(file)?;
    let report = match model {
        Some(dir) => {
            let manifest =
                triage::model::bundle::Manifest::load_verified(&triage::registry::resolve(dir, triage::registry::Kind::Model)?)?;
            let labels = manifest.heads.iter().map(|h| (h.name.clone(), h.labels.clone())).collect();
            triage::policy::check_with_labels(&text, &labels)
        }
        None => triage::policy::check(&text),
    };
    Ok((text, report))
}

fn print_check(file: &std::path::Path, report: &triage::policy::CheckReport) {
    for problem in &report.errors {
        println!("error: {}:{problem}", file.display());
    }
    for warning in &report.warnings {
        println!("warning: {}: {warning}", file.display());
    }
    println!("{}: {} error(s), {} warning(s)", file.display(), report.errors.len(), report.warnings.len());
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("shutting down: finishing in-flight requests");
}

/// Reloads model and policy on every SIGHUP; a failed reload is logged and the old pair kept.
#[cfg(unix)]
fn reload_on_sighup(state: AppState) {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(mut hangups) => {
            tokio::spawn(async move {
                while hangups.recv().await.is_some() {
                    let _ = triage::server::admin::reload_served(&state).await;
                }
            });
        }
        Err(e) => tracing::warn!("SIGHUP reload unavailable: {e}"),
    }
}

fn auth_for(args: &ServeArgs) -> anyhow::Result<Auth> {
    match &args.keys {
        Some(path) => Ok(Auth::load(path)?),
        None if args.addr.ip().is_loopback() => {
            tracing::warn!("authentication is OFF (--no-auth): every caller may classify, review and reload");
            Ok(Auth::Disabled)
        }
        None => anyhow::bail!("--no-auth is accepted only on a loopback address, not {}; use --keys", args.addr),
    }
}

/// How long a starting server waits for an unreachable database (restarted with it, say)
/// before giving up.
const DATABASE_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Opens the decision log, waiting up to `DATABASE_WAIT` while its database is unreachable.
async fn open_decisions(location: &Location, queue: usize) -> Result<Decisions, StoreError> {
    let started = std::time::Instant::now();
    loop {
        match Decisions::open(location, queue).await {
            Err(StoreError::Unavailable(why)) if started.elapsed() < DATABASE_WAIT => {
                tracing::warn!(db = %location, "the decision log's database is unreachable, retrying in 2 s: {why}");
                tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            }
            other => return other,
        }
    }
}

/// Refreshes the drift gauges now and then every hour.
fn drift_hourly(state: AppState, days: u32) {
    if days == 0 {
        return;
    }
    tokio::spawn(async move {
        let mut hourly = tokio::time::interval(std::time::Duration::from_secs(60 * 60));
        loop {
            hourly.tick().await;
            if let Err(e) = triage::server::reports::refresh_drift_gauges(&state, days, chrono::Utc::now()).await {
                tracing::warn!("refreshing the drift gauges failed: {e}");
            }
        }
    });
}

/// Computes the reports page's default period now and then every `report_reuse`, so the page
/// never waits for a month of decisions to be read.
fn refresh_reports(state: AppState) {
    let Some(every) = state.config.report_reuse else {
        return;
    };
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        loop {
            ticks.tick().await;
            let started = std::time::Instant::now();
            match triage::server::reports::refresh_latest_report(&state, chrono::Utc::now()).await {
                Ok(report) => tracing::info!(
                    decisions = report.decisions,
                    seconds = started.elapsed().as_secs_f64(),
                    "computed the reports page's default period"
                ),
                Err(e) => tracing::warn!("computing the reports page's default period failed: {e}"),
            }
        }
    });
}

/// How often retention runs: servers sharing a log skip a run that another ran less than this
/// long ago (slightly under a day, so one server's daily tick is never skipped for its own
/// previous run).
const RETENTION_EVERY: chrono::Duration = chrono::Duration::hours(23);

/// Deletes decisions older than the retention period now and then once a day, unless another
/// server sharing the log did.
fn prune_daily(decisions: Decisions, days: u32, server: String) {
    if days == 0 {
        return;
    }
    tokio::spawn(async move {
        let mut daily = tokio::time::interval(std::time::Duration::from_secs(24 * 60 * 60));
        loop {
            daily.tick().await;
            let now = chrono::Utc::now();
            let retention = Retention {
                older_than: now - chrono::Duration::days(i64::from(days)),
                now,
                skip_if_ran_after: now - RETENTION_EVERY,
                server: server.clone(),
            };
            match decisions.store.prune(retention).await {
                Ok(Some(pruned)) => tracing::info!(pruned, retention_days = days, "pruned old decisions"),
                Ok(None) => tracing::info!("retention skipped: another server sharing the log ran it less than a day ago"),
                Err(e) => tracing::error!("pruning the decision log failed: {e}"),
            }
        }
    });
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    // Before anything loads a model: candle sizes its pool on first use.
    triage::model::compute::set_model_threads(args.model_threads);
    let auth = auth_for(&args)?;
    let sources = Sources { model_dir: args.model.clone(), policy_path: args.policy.clone() };
    let loaded = Loaded::read(&sources)?;
    let versions = loaded.versions();
    tracing::info!(model = versions.model.name, version = versions.model.version, policy = versions.policy.version, "loaded");
    let config = ServerConfig {
        max_batch: args.max_batch,
        max_body_bytes: args.max_body_bytes,
        queue: args.queue,
        clusters: args.clusters.settings()?,
        name: args.server_name.clone().unwrap_or_else(|| default_server_name(args.addr)),
        report_reuse: (args.report_refresh_minutes > 0).then(|| std::time::Duration::from_secs(args.report_refresh_minutes * 60)),
        embedding_evidence: embedding_evidence(args.occlusion_evidence),
    };
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let decisions = open_decisions(&args.db, args.queue).await?;
        tracing::info!(db = %args.db, retention_days = args.retention_days, "decision log open");
        prune_daily(decisions.clone(), args.retention_days, config.name.clone());
        let state = AppState::new(loaded, sources, auth, decisions, config);
        drift_hourly(state.clone(), args.drift_days);
        refresh_reports(state.clone());
        #[cfg(unix)]
        reload_on_sighup(state.clone());
        let listener = tokio::net::TcpListener::bind(args.addr).await.with_context(|| format!("binding {}", args.addr))?;
        tracing::info!("listening on http://{}", listener.local_addr()?);
        triage::server::run(listener, state, shutdown_signal()).await?;
        tracing::info!("stopped");
        anyhow::Ok(())
    })
}

/// The host's name (as the kernel reports it) and the port, e.g. `web-2:8080`.
fn default_server_name(addr: SocketAddr) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").map(|name| name.trim().to_string()).unwrap_or_default();
    let host = if host.is_empty() { "triage".to_string() } else { host };
    format!("{host}:{}", addr.port())
}

/// Opens the decision log at `location` (which must exist when it is a file) and runs `read`
/// on it, for the commands that read the log outside a server.
fn read_log<T, F: std::future::Future<Output = Result<T, StoreError>>>(
    location: &Location,
    read: impl FnOnce(DecisionStore) -> F,
) -> anyhow::Result<T> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let value = runtime.block_on(async {
        let store = DecisionStore::open(location.existing()?).await?;
        read(store).await
    });
    value.with_context(|| format!("reading the decision log {location}"))
}

fn export_feedback(args: ExportFeedbackArgs) -> anyhow::Result<()> {
    let corrections = read_log(&args.db, |store| async move { store.corrections().await })?;
    let file = std::fs::File::create(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let summary = triage::store::export::write_corrections(&corrections, std::io::BufWriter::new(file))?;
    eprintln!(
        "wrote {} correction(s) to {}; {} reviewed decision(s) corrected no label (priority or note only) and are not training rows",
        summary.written,
        args.out.display(),
        summary.without_label
    );
    Ok(())
}

fn hash_key() -> anyhow::Result<()> {
    let mut key = String::new();
    std::io::stdin().read_line(&mut key).context("reading the key from stdin")?;
    let key = key.trim_end_matches(['\r', '\n']);
    anyhow::ensure!(!key.is_empty(), "no key on stdin");
    println!("{}", triage::server::auth::hash_key(key));
    Ok(())
}

/// Exit status 1 for a run that finished but found bad input.
fn exit_unless(ok: bool) -> anyhow::Result<()> {
    if !ok {
        std::process::exit(1);
    }
    Ok(())
}

fn init_logs(format: LogFormat) {
    let logs = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
}

fn main() -> anyhow::Result<()> {
    let command = Cli::parse().command;
    init_logs(match &command {
        Command::Serve(args) => args.log_format,
        _ => LogFormat::Text,
    });
    match command {
        Command::Serve(args) => serve(args),
        Command::HashKey => hash_key(),
        Command::ExportFeedback(args) => export_feedback(args),
        Command::CheckPolicy(args) => exit_unless(check_policy(args)?),
        Command::Classify(args) => exit_unless(classify(args)?),
        Command::CheckPriorities(args) => check_priorities(args),
        Command::CheckClusters(args) => check_clusters(args),
        Command::Report(args) => report(args),
        Command::Policy(PolicyCommand::Replay(args)) => replay(args),
        Command::Models(ModelsCommand::List(args)) => models_list(args),
        Command::Models(ModelsCommand::Rollback(args)) => rollback_store(args, Kind::Model),
        Command::Policy(PolicyCommand::Promote(args)) => policy_promote(args),
        Command::Policy(PolicyCommand::Rollback(args)) => rollback_store(args, Kind::Policy),
        Command::Policy(PolicyCommand::List(args)) => policies_list(args),
    }
}
