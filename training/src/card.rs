//! The model card (`MODEL_CARD.md`) written into every bundle: what the model was trained on,
//! how, its labels, its held-out metrics and its known limits. Text formatting only.

use std::fmt::Write;

use triage::model::bundle::Manifest;

use crate::bundle_writer::RunRecord;
use crate::train::Trained;

const TOKENIZER_NOTE: &str = "WordPiece, trained on the training text: frequent words stay whole \
(they carry most of the signal in short tickets) and rare or misspelt words fall apart into \
pieces the model has seen. Character 3-5-grams of every word add robustness to typos and to \
German and Spanish inflection; word bigrams catch phrases such as \"not working\".";

const LIMITS_NOTE: &str = "- Learns only what the training labels say: if they are noisy (the \
ticket set's priorities were assigned loosely by its generator), so is the model.\n\
- A bag of words and n-grams: it does not read negation scope or long-range structure.\n\
- Languages and domains absent from training get low-confidence predictions; watch the \
abstain rate when the traffic changes.\n\
- Scores are calibrated on held-out rows of the training distribution only.";

pub fn model_card(manifest: &Manifest, trained: &Trained, run: &RunRecord) -> String {
    let mut card = String::new();
    let _ = writeln!(card, "# Model card: {}\n", manifest.name);
    let _ = writeln!(
        card,
        "Created {} by `triage-train`. The manifest holds the version (a hash of the files).\n",
        manifest.created_at
    );
    let _ = writeln!(card, "## Training data\n");
    for source in &manifest.data {
        let _ = writeln!(card, "- `{}`: {} rows used, sha256 `{}`", source.path, source.rows_used, &source.sha256[..16]);
    }
    let _ = writeln!(card, "- skipped: {}", run.dataset.skipped.summary());
    if manifest.corrections_used > 0 {
        let _ = writeln!(card, "- reviewer corrections applied: {}", manifest.corrections_used);
    }
    for note in run.data_notes {
        let _ = writeln!(card, "- {note}");
    }
    let _ = writeln!(card);
    let _ = writeln!(card, "## Labels\n");
    for head in &manifest.heads {
        let _ = writeln!(card, "- **{}**: {}", head.name, head.labels.join(", "));
    }
    let _ = writeln!(card, "\n## Model\n");
    let _ = writeln!(
        card,
        "Kind `{}`. Each head is a coefficient matrix over {} TF-IDF features (subword tokens, whole \
         words, {} hashed buckets for word bigrams and character n-grams), and over the sentence \
         encoder's embedding where a head reads it (below), and a bias: a linear model whose \
         per-feature contributions are exact.",
        manifest.kind.name(),
        manifest.features.dimension(),
        manifest.features.buckets,
    );
    if !trained.best_epoch.is_empty() {
        let _ = writeln!(
            card,
            "Heads not listed below were fitted as a low-rank network (an embedding table and a layer per \
             head, collapsed into the head's coefficients) and are the exact average of {} members trained \
             with consecutive seeds; in each, every head keeps its best epoch on validation rows: {:?}.",
            trained.best_epoch.len(),
            trained.best_epoch
        );
    }
    let _ = writeln!(card);
    for (head, fit) in &trained.linear_heads {
        let candidates: Vec<String> = fit
            .candidates
            .iter()
            .map(|c| format!("{} C {} → {:.3}", c.form.short_name(), c.inverse_regularisation, c.macro_f1))
            .collect();
        let candidates = candidates.join(", ");
        let _ = writeln!(
            card,
            "The **{head}** head is a {} on the same features \
             (convex, class-weighted, L2 with C = {} chosen with its form by {}: {}{}; \
             then fitted on all {} training and validation rows, {} L-BFGS iterations), stored as its \
             coefficient matrix (one column per class) and bias. Its validation scores and calibration \
             come from the out-of-fold fits.\n",
            fit.form,
            fit.inverse_regularisation,
            fit.selection,
            candidates,
            fit.set_aside_note(),
            fit.rows,
            fit.iterations
        );
        let _ = writeln!(card, "The {head} head {}.\n", fit.recall_note());
    }
    if let Some(memory) = &trained.memory {
        let _ = writeln!(
            card,
            "**Memory.** The bundle remembers {} labeled training and validation tickets: each one's id (from the data) and \
             its word-level features (hashed ids and TF-IDF weights, not its text). After calibration, a head \
             that recalls gives the label of the most similar remembered ticket (cosine of those features), \
             once the similarity reaches its threshold, the probability that such a recall is right (a \
             logistic curve in the similarity, fitted on held-out recalls); the text model's other labels \
             share the rest, the most probable label wins, and the response names the ticket a label came \
             from. Near-duplicate tickets are common in a helpdesk and their labels agree far more often \
             than the text model's guess. Per head, chosen on the rows that scored C (each recalling the \
             most similar other row): {}.\n",
            memory.spec.tickets.len(),
            memory
                .spec
                .recall
                .iter()
                .map(|(head, recall)| format!(
                    "{head} from similarity {:.2}, agreement {:.2} there and {:.2} at 0.9",
                    recall.from_similarity,
                    recall.agreement.at(recall.from_similarity),
                    recall.agreement.at(0.9)
                ))
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    if let Some(encoder) = run.encoder {
        let spec = &encoder.spec;
        let _ = writeln!(
            card,
            "**Sentence encoder.** The bundle carries a pretrained sentence encoder in `encoder.bin` ({}), cut to {} \
             vocabulary pieces, reading at most {} tokens of each ticket. {} The policy compares each ticket's \
             embedding with its level examples by meaning{}.{}\n",
            spec.source,
            spec.pieces,
            spec.max_tokens,
            match &trained.reads_embedding {
                Some(read) => format!(
                    "The {} head(s) read its embedding as {} more features next to the hashed ones (each component \
                     times {}); the other heads do not.",
                    read.heads.join(", "),
                    read.dimension,
                    read.scale
                ),
                None => "The heads above do not read it.".to_string(),
            },
            match &spec.severity {
                Some(probe) => format!(
                    ", and a severity probe (logistic regression on the embeddings: is the ticket at {}?) was fitted on \
                     {}",
                    probe.severe_levels.join(" or "),
                    probe.fitted_on
                ),
                None => String::new(),
            },
            match &spec.whitening {
                Some(whitening) => format!(
                    " Repeat issues are grouped by the embeddings whitened with the mean and covariance of the {} \
                     training and validation tickets' embeddings ({} times the mean eigenvalue added to its diagonal){}.",
                    whitening.tickets,
                    whitening.shrink,
                    match whitening.languages_removed.as_slice() {
                        [] => String::new(),
                        languages =>
                            format!(", after taking out the directions of the mean embeddings of {}", languages.join(", ")),
                    }
                ),
                None => String::new(),
            }
        );
    }
    let _ = writeln!(card, "Tokenizer: {TOKENIZER_NOTE}\n");
    let _ = writeln!(card, "Training command:\n\n```\n{}\n```\n", run.command);
    let sources: Vec<String> = run.evaluated_on.iter().map(|p| format!("`{}`", p.display())).collect();
    let heading = if run.held_out { "Held-out metrics" } else { "In-sample metrics (not held out)" };
    let _ = writeln!(card, "## {heading}\n");
    if run.held_out {
        let _ =
            writeln!(card, "Evaluated on {} (never used for training, epoch selection or calibration).\n", sources.join(", "));
    } else {
        let _ = writeln!(
            card,
            "Evaluated on the validation rows{}: the shipped fits and the memory learned from them too, so these \
             numbers are optimistic. Pass `--eval` files for held-out metrics.\n",
            if sources.is_empty() { String::new() } else { format!(" ({})", sources.join(", ")) }
        );
    }
    let _ = writeln!(card, "| head | examples | accuracy | macro-F1 | ECE |\n|---|---|---|---|---|");
    for (head, m) in &run.report.heads {
        let _ = writeln!(
            card,
            "| {head} | {} | {:.3} | {:.3} | {:.3} |",
            m.examples, m.accuracy, m.macro_f1, m.expected_calibration_error
        );
    }
    for (head, m) in &run.report.heads {
        let _ = writeln!(card, "\n### {head}\n\n| class | precision | recall | F1 | support |\n|---|---|---|---|---|");
        for c in &m.classes {
            let _ = writeln!(card, "| {} | {:.3} | {:.3} | {:.3} | {} |", c.label, c.precision, c.recall, c.f1, c.support);
        }
    }
    let _ = writeln!(
        card,
        "\n## Calibration\n\n| head | temperature | medium from | high from | abstain below |\n|---|---|---|---|---|"
    );
    for (head, c) in &trained.calibration.heads {
        let _ = writeln!(
            card,
            "| {head} | {:.3} | {:.3} | {:.3} | {:.3} |",
            c.temperature, c.medium_from, c.high_from, c.abstain_below
        );
    }
    let _ = writeln!(card, "\n## Known limits\n\n{LIMITS_NOTE}");
    card
}
