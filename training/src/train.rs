//! Fitting the model, in one orchestration that reads top to bottom (`train`): the tokenizer,
//! idf and features; each head fitted as logistic regression (`linear_fit`) or by the AdamW
//! ensemble (`ensemble`); the memory of past tickets and each head's recall threshold; the
//! calibration on the validation rows. Returns an in-memory `Classifier` plus what the bundle
//! writer needs; writes no files itself.

use std::collections::{BTreeMap, HashMap};

use candle_core::Tensor;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde::Serialize;
use triage::model::bundle::{head_input_dimension, EmbeddingFeatures, HeadSpec, Manifest, MemorySpec, FORMAT_VERSION};
use triage::model::calibration::{calibrated_probabilities, Calibration};
use triage::model::classifier::recalling_memory;
use triage::model::encoder::SentenceEncoder;
use triage::model::features::{inverse_document_frequency, FeatureConfig, TicketFeatures};
use triage::model::kind::TextModel;
use triage::model::nearest_ticket::{take_recalled, HeadRecall, MemoryArrays, Recall, NO_LABEL};
use triage::model::sparse_linear::{Batch, SparseLinear};
use triage::model::Classifier;
use triage::text::TextPipeline;

use crate::calibrate::fit_head_calibration;
use crate::data::Example;
use crate::ensemble::{fit_member, merge_members};
use crate::linear_fit::{fit_linear, install_linear_head, FittedLinear};
use crate::linear_fit::{LinearForm, LinearRecord};
use crate::metrics::head_metrics;

/// Hyper-parameters: parsed from `triage-train train`'s flags (clap) and recorded in the
/// manifest as far as the run used them (`used`).
#[derive(Debug, Clone, Serialize, clap::Args)]
pub struct TrainConfig {
    #[arg(long, default_value_t = TrainConfig::default().vocab_size)]
    pub vocab_size: usize,
    #[arg(long, default_value_t = TrainConfig::default().buckets)]
    pub buckets: usize,
    /// Shortest character n-gram.
    #[arg(long, default_value_t = TrainConfig::default().char_ngram_min)]
    pub char_ngram_min: usize,
    /// Longest character n-gram (below --char-ngram-min: no character n-grams).
    #[arg(long, default_value_t = TrainConfig::default().char_ngram_max)]
    pub char_ngram_max: usize,
    #[arg(skip = TrainConfig::default().word_bigrams)]
    pub word_bigrams: bool,
    /// Features seen in fewer training tickets than this are switched off.
    #[arg(long, default_value_t = TrainConfig::default().min_df)]
    pub min_df: u32,
    /// Embedding columns per head.
    #[arg(long, default_value_t = TrainConfig::default().head_dim)]
    pub head_dim: usize,
    #[arg(long, default_value_t = TrainConfig::default().epochs)]
    pub epochs: usize,
    /// Epochs without a better validation macro-F1 before training stops.
    #[arg(long, default_value_t = TrainConfig::default().patience)]
    pub patience: usize,
    #[arg(long, default_value_t = TrainConfig::default().batch_size)]
    pub batch_size: usize,
    /// AdamW learning rate of the heads.
    #[arg(long, default_value_t = TrainConfig::default().learning_rate)]
    pub learning_rate: f64,
    /// SGD learning rate of the embedding table.
    #[arg(long, default_value_t = TrainConfig::default().embedding_learning_rate)]
    pub embedding_learning_rate: f64,
    #[arg(long, default_value_t = TrainConfig::default().weight_decay)]
    pub weight_decay: f64,
    /// Probability of dropping each feature of a training ticket at each step.
    #[arg(long, default_value_t = TrainConfig::default().feature_dropout)]
    pub feature_dropout: f32,
    #[arg(long, default_value_t = TrainConfig::default().seed)]
    pub seed: u64,
    /// Members trained with seeds `seed, seed + 1, ...` and averaged.
    #[arg(long, default_value_t = TrainConfig::default().ensemble)]
    pub ensemble: usize,
    /// Accuracy the `high` band must hold on validation rows.
    #[arg(long, default_value_t = TrainConfig::default().target_accuracy)]
    pub target_accuracy: f32,
    /// Heads fitted as convex logistic regression on the features (see `linear_head`)
    /// instead of through the embedding.
    /// `all` (every head of this run), `none`, or head names; resolved against the run's heads
    /// before training.
    #[arg(long, value_delimiter = ',', default_values_t = TrainConfig::default().linear_heads)]
    pub linear_heads: Vec<String>,
    /// Candidate values of the inverse regularisation `C` for linear heads; the one with the
    /// best cross-validated macro-F1 is kept.
    /// (`--linear-c`, scikit-learn's C; see --linear-folds and --linear-holdout-rows.)
    #[arg(long = "linear-c", value_delimiter = ',', default_values_t = TrainConfig::default().linear_inverse_regularisation)]
    pub linear_inverse_regularisation: Vec<f64>,
    /// Candidate forms of a linear head, scored with each `C` by the same cross-validation.
    /// `multinomial` (one logistic regression over all classes) and `nb-one-vs-rest` (one
    /// binary logistic regression per class on naive-Bayes-scaled features).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = TrainConfig::default().linear_forms)]
    pub linear_forms: Vec<LinearForm>,
    /// Most L-BFGS iterations per linear-head fit.
    #[arg(long, default_value_t = TrainConfig::default().linear_max_iterations)]
    pub linear_max_iterations: u64,
    /// A linear-head solve stops once its gradient's L2 norm is below this.
    #[arg(long, default_value_t = TrainConfig::default().linear_tolerance)]
    pub linear_tolerance: f64,
    /// Folds of the cross-validation that chooses `C` (fewer than 2 count as 2).
    #[arg(long, default_value_t = TrainConfig::default().linear_folds)]
    pub linear_folds: usize,
    /// From this many validation rows carrying a head's label, `C` is chosen on those rows
    /// alone (fits on the training rows) instead of by cross-validation.
    #[arg(long, default_value_t = TrainConfig::default().linear_holdout_rows)]
    pub linear_holdout_rows: usize,
    /// Most training rows a fit that scores `C` learns from (when there are more, every n-th
    /// row of each class); the shipped fit always learns from every row.
    #[arg(long, default_value_t = TrainConfig::default().linear_selection_rows)]
    pub linear_selection_rows: usize,
    /// Candidate similarities from which a linear head recalls the label of the most similar
    /// remembered ticket (see `recall`); empty: the model remembers no tickets.
    /// (`--recall-similarity 0.3,0.35,...` cosines of the word-level features, or `none`.)
    #[arg(long = "recall-similarity", default_value_t = TrainConfig::default().recall_similarities)]
    pub recall_similarities: Similarities,
    /// A head with more labeled rows than this remembers none (the memory is searched on
    /// every request and stored in the bundle).
    #[arg(long, default_value_t = TrainConfig::default().recall_rows)]
    pub recall_rows: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            vocab_size: 30000,
            buckets: 1 << 17,
            char_ngram_min: 3,
            char_ngram_max: 5,
            word_bigrams: true,
            min_df: 2,
            head_dim: 8,
            epochs: 30,
            patience: 4,
            batch_size: 32,
            learning_rate: 0.01,
            embedding_learning_rate: 1.0,
            weight_decay: 1e-4,
            feature_dropout: 0.2,
            seed: 17,
            ensemble: 3,
            target_accuracy: 0.8,
            linear_heads: vec![ALL_HEADS.into()],
            linear_inverse_regularisation: vec![1.0, 4.0, 16.0],
            linear_forms: vec![LinearForm::Multinomial, LinearForm::NaiveBayesOneVsRest],
            linear_max_iterations: 300,
            linear_tolerance: 1e-4,
            linear_folds: 3,
            linear_holdout_rows: 5000,
            linear_selection_rows: 20000,
            recall_similarities: Similarities((6..=18).map(|step| step as f32 / 20.0).collect()),
            recall_rows: 50000,
        }
    }
}

/// Candidate recall similarities as a flag writes them: `0.3,0.35,0.4` or `none`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Similarities(pub Vec<f32>);

impl std::str::FromStr for Similarities {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        if text.trim() == "none" {
            return Ok(Self(Vec::new()));
        }
        text.split(',')
            .map(|value| match value.trim().parse::<f32>() {
                Ok(s) if (0.0..=1.0).contains(&s) => Ok(s),
                _ => Err(format!("`{value}` is not a similarity between 0 and 1 (or `none`)")),
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

impl std::fmt::Display for Similarities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_empty() {
            return f.write_str("none");
        }
        f.write_str(&self.0.iter().map(f32::to_string).collect::<Vec<_>>().join(","))
    }
}

/// Settings only the embedding ensemble reads.
const ENSEMBLE_SETTINGS: [&str; 10] = [
    "head_dim",
    "epochs",
    "patience",
    "batch_size",
    "learning_rate",
    "embedding_learning_rate",
    "weight_decay",
    "feature_dropout",
    "seed",
    "ensemble",
];
/// Settings only the logistic-regression heads read.
const LINEAR_SETTINGS: [&str; 7] = [
    "linear_inverse_regularisation",
    "linear_forms",
    "linear_max_iterations",
    "linear_tolerance",
    "linear_folds",
    "linear_holdout_rows",
    "linear_selection_rows",
];

/// `--linear-heads` value naming every head of the run.
pub const ALL_HEADS: &str = "all";

impl TrainConfig {
    /// Whether head `name` is fitted as logistic regression (`all` names every head).
    pub fn is_linear(&self, name: &str) -> bool {
        self.linear_heads.iter().any(|h| h == ALL_HEADS || h == name)
    }

    /// The settings this run used, for the manifest: the ensemble's only when some head went
    /// through it, the linear fits' only when some head was linear, the memory's only when it
    /// was on. A reader of the bundle then sees what shaped the model, not every flag's default.
    pub fn used(&self, heads: &[HeadSpec]) -> serde_json::Value {
        let mut used = serde_json::to_value(self).unwrap_or_default();
        let linear = heads.iter().filter(|h| self.is_linear(&h.name)).count();
        let fields = used.as_object_mut().expect("a struct serialises to an object");
        let mut unused: Vec<&str> = Vec::new();
        if linear == heads.len() {
            unused.extend(ENSEMBLE_SETTINGS);
        }
        if linear == 0 {
            unused.extend(LINEAR_SETTINGS);
            unused.extend(["recall_similarities", "recall_rows"]);
        }
        if self.recall_similarities.0.is_empty() {
            unused.push("recall_rows");
        }
        unused.iter().for_each(|key| {
            fields.remove(*key);
        });
        used
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Text(#[from] triage::text::TextError),
    #[error("tensor computation failed: {0}")]
    Tensor(#[from] candle_core::Error),
    #[error("{0}")]
    Data(String),
}

/// One epoch's numbers, kept for the manifest and the progress display.
#[derive(Debug, Clone, Serialize)]
pub struct EpochLog {
    pub epoch: usize,
    pub loss: f64,
    pub validation_macro_f1: BTreeMap<String, f64>,
}

pub struct Trained {
    pub text: TextPipeline,
    pub features: FeatureConfig,
    pub heads: Vec<HeadSpec>,
    pub idf: Vec<f32>,
    /// Each head's coefficient matrix and bias by name (`sparse_linear::coefficients_name`),
    /// in f32: from its linear fit or the ensemble members' average.
    pub weights: HashMap<String, Tensor>,
    pub calibration: Calibration,
    /// Per ensemble member, its epochs.
    pub epochs: Vec<Vec<EpochLog>>,
    /// Per ensemble member, the epoch each head's weights come from.
    pub best_epoch: Vec<BTreeMap<String, usize>>,
    /// The heads fitted as convex logistic regression, and how.
    pub linear_heads: BTreeMap<String, LinearRecord>,
    /// Macro-F1 of the final network per head on the validation rows (what chooses between
    /// runs; the held-out eval files never do).
    pub validation_macro_f1: BTreeMap<String, f64>,
    /// The labeled tickets the model recalls, when any head recalls.
    pub memory: Option<TrainedMemory>,
    /// How the heads read the sentence encoder's embedding, when they do.
    pub reads_embedding: Option<EmbeddingFeatures>,
}

/// The model's memory as the bundle stores it: the arrays and what the manifest says of them.
pub struct TrainedMemory {
    pub arrays: MemoryArrays,
    pub spec: MemorySpec,
}

/// Label index per head for one example (`None` where the example lacks that label).
fn targets(example: &Example, heads: &[HeadSpec]) -> Vec<Option<u32>> {
    heads
        .iter()
        .map(|h| example.labels.get(&h.name).and_then(|l| h.labels.iter().position(|x| x == l)).map(|i| i as u32))
        .collect()
}

/// Head `h`'s rows of `prepared`: features and target class.
pub(crate) fn labeled_rows(prepared: &Prepared, h: usize) -> Vec<(&TicketFeatures, usize)> {
    prepared.features.iter().zip(&prepared.targets).filter_map(|(f, t)| t[h].map(|t| (f, t as usize))).collect()
}

pub(crate) struct Prepared {
    pub features: Vec<TicketFeatures>,
    pub targets: Vec<Vec<Option<u32>>>,
}

pub(crate) fn featurize(
    examples: &[Example],
    text: &TextPipeline,
    config: &FeatureConfig,
    idf: &[f32],
    heads: &[HeadSpec],
    embeddings: Option<(&[Vec<f32>], &EmbeddingInput)>,
) -> Result<Prepared, TrainError> {
    let features = examples
        .par_iter()
        .enumerate()
        .map(|(row, example)| {
            let hashed = config.featurize(&text.words(&example.text)?, idf);
            let mut features = match embeddings {
                Some((embeddings, input)) => input.head_input(&hashed, &embeddings[row], config.dimension()),
                None => hashed,
            };
            // Held for the whole run, and built by pushing: without this a third of it can be slack.
            features.ids.shrink_to_fit();
            features.weights.shrink_to_fit();
            Ok(features)
        })
        .collect::<Result<_, TrainError>>()?;
    Ok(Prepared { features, targets: examples.iter().map(|e| targets(e, heads)).collect() })
}

/// Logits of every validation example: `[head][example][class]`.
pub(crate) fn all_logits(
    scorer: &SparseLinear,
    features: &[TicketFeatures],
    batch: usize,
) -> Result<Vec<Vec<Vec<f32>>>, TrainError> {
    let mut per_head: Vec<Vec<Vec<f32>>> = Vec::new();
    for chunk in features.chunks(batch.max(1) * 8) {
        let refs: Vec<&TicketFeatures> = chunk.iter().collect();
        for ticket in scorer.logits(&Batch::new(&refs, &triage::model::compute::device())?)? {
            per_head.resize(ticket.len(), Vec::new());
            for (head, logits) in ticket.into_iter().enumerate() {
                per_head[head].push(logits);
            }
        }
    }
    Ok(per_head)
}

pub(crate) fn argmax(values: &[f32]) -> usize {
    values.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map_or(0, |(i, _)| i)
}

/// Macro-F1 per head on the rows that carry that head's label.
pub(crate) fn validation_scores(logits: &[Vec<Vec<f32>>], prepared: &Prepared, heads: &[HeadSpec]) -> BTreeMap<String, f64> {
    heads
        .iter()
        .enumerate()
        .map(|(h, spec)| {
            let (truth, predicted): (Vec<usize>, Vec<usize>) =
                prepared.targets.iter().zip(&logits[h]).filter_map(|(t, l)| t[h].map(|t| (t as usize, argmax(l)))).unzip();
            (spec.name.clone(), macro_f1(&spec.labels, &truth, &predicted))
        })
        .collect()
}

/// Macro-F1 of hard predictions (the confidence `head_metrics` also takes plays no part in it).
pub(crate) fn macro_f1(labels: &[String], truth: &[usize], predicted: &[usize]) -> f64 {
    head_metrics(labels, truth, predicted, &vec![1.0; truth.len()]).macro_f1
}

/// What the heads read of a sentence encoder's embedding of each row, when they do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum EncoderFeatures {
    /// The heads read the hashed text features only.
    Off,
    /// The embedding's components as more features next to the hashed ones.
    WithText,
    /// The embedding alone: the hashed features' coefficients stay zero, and the memory,
    /// which compares word-level features, recalls nothing.
    Alone,
}

/// How the heads read the rows' embeddings (`features.heads` read them; every other head's
/// embedding coefficients stay zero).
pub struct EmbeddingInput {
    pub features: EmbeddingFeatures,
    pub alone: bool,
}

impl EmbeddingInput {
    fn read_by(&self, head: &str) -> bool {
        self.features.heads.iter().any(|h| h == head)
    }

    /// A row's head input: its hashed features (none when the embedding is read alone), then
    /// its embedding as features from `first` on.
    fn head_input(&self, hashed: &TicketFeatures, embedding: &[f32], first: usize) -> TicketFeatures {
        let text = if self.alone { TicketFeatures::default() } else { hashed.clone() };
        text.with_embedding(first, embedding, self.features.scale)
    }
}

/// The embeddings of the training and the validation rows, in their order.
pub struct RowEmbeddings<'a> {
    pub train: &'a [Vec<f32>],
    pub validation: &'a [Vec<f32>],
    pub input: EmbeddingInput,
}

/// Fits the model on `train`, selecting the epoch and the calibration on `validation`; with
/// `embeddings`, the heads read each row's sentence embedding as well.
pub fn train(
    train: &[Example],
    validation: &[Example],
    heads: Vec<HeadSpec>,
    config: &TrainConfig,
    embeddings: Option<&RowEmbeddings>,
    progress: &ProgressBar,
) -> Result<Trained, TrainError> {
    if validation.is_empty() {
        return Err(TrainError::Data("validation set is empty; give more rows or --dev files".into()));
    }
    if let Some(unread) =
        embeddings.and_then(|e| heads.iter().find(|spec| !config.is_linear(&spec.name) && !e.input.read_by(&spec.name)))
    {
        return Err(TrainError::Data(format!(
            "{} is fitted as a network, which reads the embedding whenever the rows carry it: list it with the heads that \
             read the encoder's embedding, or fit it as a linear head",
            unread.name
        )));
    }
    let text = TextPipeline::train(train.iter().map(|e| e.text.as_str()), config.vocab_size)?;
    let features = FeatureConfig {
        vocab_size: text.vocab_size(),
        buckets: config.buckets,
        char_ngram_min: config.char_ngram_min,
        char_ngram_max: config.char_ngram_max,
        word_bigrams: config.word_bigrams,
    };
    // The tickets are tokenized twice, for the document frequencies and then for the features:
    // every ticket's words held between the two passes take several times the features' memory.
    let document_frequency = train
        .par_iter()
        .try_fold(
            || vec![0u32; features.dimension()],
            |mut counts, example| {
                for id in features.distinct_ids(&text.words(&example.text)?) {
                    counts[id as usize] += 1;
                }
                Ok::<_, TrainError>(counts)
            },
        )
        .try_reduce(
            || vec![0u32; features.dimension()],
            |mut a, b| {
                a.iter_mut().zip(&b).for_each(|(a, b)| *a += b);
                Ok(a)
            },
        )?;
    let idf = inverse_document_frequency(&document_frequency, train.len(), config.min_df);
    let train_set = featurize(train, &text, &features, &idf, &heads, embeddings.map(|e| (e.train, &e.input)))?;
    let validation_set = featurize(validation, &text, &features, &idf, &heads, embeddings.map(|e| (e.validation, &e.input)))?;
    let input_dimension = head_input_dimension(&features, embeddings.map(|e| &e.input.features));
    let every_head_linear = heads.iter().all(|spec| config.is_linear(&spec.name));
    let members = if every_head_linear {
        Vec::new()
    } else {
        progress.set_length((config.epochs * config.ensemble.max(1)) as u64);
        (0..config.ensemble.max(1))
            .map(|k| fit_member(&train_set, &validation_set, &heads, input_dimension, config, k, progress))
            .collect::<Result<Vec<_>, _>>()?
    };
    let mut best_weights = if members.is_empty() { HashMap::new() } else { merge_members(&members, &heads)? };
    let mut linear_heads = BTreeMap::new();
    let mut held_out_logits = HashMap::new();
    // The heads' fits are independent, like the folds' within each (see `out_of_fold_logits`).
    let linear: Vec<(usize, &HeadSpec)> = heads.iter().enumerate().filter(|(_, spec)| config.is_linear(&spec.name)).collect();
    let fits: Vec<FittedLinear> = linear
        .par_iter()
        .map(|&(h, spec)| {
            let features_below = embeddings.filter(|e| !e.input.read_by(&spec.name)).map(|_| features.dimension());
            fit_linear(&train_set, &validation_set, h, spec, config, features_below)
        })
        .collect::<Result<_, _>>()?;
    for ((h, spec), fitted) in linear.into_iter().zip(fits) {
        install_linear_head(&mut best_weights, input_dimension, spec, &fitted.shipped)?;
        let record = fitted.record;
        eprintln!(
            "{}: {} C {} ({} {:.3}{}; shipped fit on {} rows, {} L-BFGS iterations); {}",
            spec.name,
            record.form,
            record.inverse_regularisation,
            record.selection,
            record.selection_macro_f1,
            record.set_aside_note(),
            record.rows,
            record.iterations,
            record.recall_note()
        );
        held_out_logits.insert(h, fitted.validation_logits);
        linear_heads.insert(spec.name.clone(), record);
    }
    let best_epoch = members.iter().map(|m| m.best_epoch.clone()).collect();
    let epochs = members.into_iter().map(|m| m.epochs).collect();

    let scorer = SparseLinear::from_tensors(&best_weights, input_dimension, &heads).map_err(TrainError::Data)?;
    let mut logits = all_logits(&scorer, &validation_set.features, config.batch_size)?;
    // A linear head's shipped fit has seen the validation rows; their out-of-fold logits
    // score and calibrate it.
    for (h, head_logits) in held_out_logits {
        logits[h] = head_logits;
    }
    let recall: BTreeMap<String, HeadRecall> = linear_heads
        .iter()
        .filter_map(|(name, record)| record.recall.as_ref()?.head_recall().map(|r| (name.clone(), r)))
        .collect();
    let memory = (!recall.is_empty()).then(|| remember(&[(train, &train_set), (validation, &validation_set)], &heads, recall));
    // Each validation row recalls as serving would: the most similar remembered ticket other
    // than itself.
    let recalls: Vec<Vec<Option<Recall>>> = match &memory {
        Some((memory, places)) => {
            let recalling = recalling_memory(&heads, &memory.spec, &memory.arrays).map_err(TrainError::Data)?;
            validation_set.features.par_iter().zip(&places[1]).map(|(features, &own)| recalling.recall(features, own)).collect()
        }
        None => vec![vec![None; heads.len()]; validation_set.features.len()],
    };
    // A head's calibration is fitted on the text model's logits of the rows no recall takes
    // over: the memory step comes after it, and gives those rows their score by its agreement.
    let mut calibration = Calibration::default();
    for (h, spec) in heads.iter().enumerate() {
        let (rows, truth): (Vec<Vec<f32>>, Vec<usize>) = validation_set
            .targets
            .iter()
            .zip(&logits[h])
            .zip(&recalls)
            .filter(|(_, recalled)| recalled[h].is_none())
            .filter_map(|((t, l), _)| t[h].map(|t| (l.clone(), t as usize)))
            .unzip();
        calibration.heads.insert(spec.name.clone(), fit_head_calibration(&rows, &truth, config.target_accuracy));
    }
    apply_recalls(&mut logits, &recalls, &calibration, &heads);
    let memory = memory.map(|(memory, _)| memory);
    let validation_macro_f1 = validation_scores(&logits, &validation_set, &heads);
    Ok(Trained {
        text,
        features,
        heads,
        idf,
        weights: best_weights,
        calibration,
        epochs,
        best_epoch,
        linear_heads,
        validation_macro_f1,
        memory,
        reads_embedding: embeddings.map(|e| e.input.features.clone()),
    })
}

/// Every ticket of `sets` labeled for a head that recalls: its word-level vector, its class
/// per head and its id. Also, per set, each row's place in the memory (if remembered).
pub(crate) fn remember(
    sets: &[(&[Example], &Prepared)],
    heads: &[HeadSpec],
    recall: BTreeMap<String, HeadRecall>,
) -> (TrainedMemory, Vec<Vec<Option<usize>>>) {
    let recalling: Vec<bool> = heads.iter().map(|spec| recall.contains_key(&spec.name)).collect();
    let mut arrays = MemoryArrays::new(heads.len());
    let mut tickets = Vec::new();
    let mut places = Vec::new();
    for (examples, prepared) in sets {
        let mut place = Vec::with_capacity(examples.len());
        for ((example, features), targets) in examples.iter().zip(&prepared.features).zip(&prepared.targets) {
            if targets.iter().zip(&recalling).any(|(t, &r)| r && t.is_some()) {
                let labels: Vec<u32> = targets.iter().map(|t| t.unwrap_or(NO_LABEL)).collect();
                let (ids, weights) = features.word_level_part();
                place.push(Some(tickets.len()));
                arrays.push(ids, weights, &labels);
                tickets.push(example.id.clone());
            } else {
                place.push(None);
            }
        }
        places.push(place);
    }
    (TrainedMemory { arrays, spec: MemorySpec { tickets, recall } }, places)
}

/// `logits[head][row]` after the memory step, as serving takes it: where row `row` recalled a
/// ticket for a head (`recalls[row][head]`), its logits become ones that the head's
/// calibration turns into exactly the probabilities the step gives (temperature times their
/// logarithms).
fn apply_recalls(logits: &mut [Vec<Vec<f32>>], recalls: &[Vec<Option<Recall>>], calibration: &Calibration, heads: &[HeadSpec]) {
    for (row, recalled) in recalls.iter().enumerate() {
        for ((head_logits, recall), spec) in logits.iter_mut().zip(recalled).zip(heads) {
            let Some(recall) = recall else { continue };
            let temperature = calibration.heads.get(&spec.name).map_or(1.0, |c| c.temperature);
            let mut probabilities = calibrated_probabilities(&head_logits[row], temperature);
            take_recalled(&mut probabilities, recall);
            head_logits[row] = probabilities.iter().map(|p| temperature * p.max(1e-30).ln()).collect();
        }
    }
}

impl Trained {
    /// The trained model as a `Classifier`, to evaluate it before any bundle is written; with
    /// the sentence encoder, which heads that read embeddings need. Its manifest is
    /// provisional: unsealed, without data, metrics or the encoder's description.
    pub fn classifier(&self, name: &str, encoder: Option<SentenceEncoder>) -> Result<Classifier, TrainError> {
        let input_dimension = head_input_dimension(&self.features, self.reads_embedding.as_ref());
        let heads = SparseLinear::from_tensors(&self.weights, input_dimension, &self.heads).map_err(TrainError::Data)?;
        let model =
            TextModel::new(heads, encoder, self.reads_embedding.as_ref(), self.features.dimension()).map_err(TrainError::Data)?;
        let manifest = Manifest {
            format_version: FORMAT_VERSION,
            kind: model.kind(),
            name: name.to_string(),
            version: "unsealed".into(),
            created_at: String::new(),
            heads: self.heads.clone(),
            features: self.features,
            training: serde_json::Value::Null,
            data: Vec::new(),
            data_fingerprint: String::new(),
            corrections_used: 0,
            metrics: serde_json::Value::Null,
            files: std::collections::BTreeMap::new(),
            memory: self.memory.as_ref().map(|m| m.spec.clone()),
            encoder: None,
        };
        let memory = match &self.memory {
            Some(m) => Some(recalling_memory(&self.heads, &m.spec, &m.arrays).map_err(TrainError::Data)?),
            None => None,
        };
        Ok(Classifier::from_parts(manifest, self.text.clone(), self.idf.clone(), model, self.calibration.clone(), memory))
    }
}

/// Style for the per-epoch progress bar.
pub fn progress_style() -> ProgressStyle {
    ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::data::{load, split, ColumnMap};
    use crate::eval::evaluate;
    use crate::linear_fit::{stratified_folds, Selection};

    fn sample() -> Vec<Example> {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/sample/tickets.csv");
        let labels = ["urgency", "sentiment", "category"].iter().map(|h| (h.to_string(), h.to_string())).collect();
        let map = ColumnMap { id: Some("id".into()), text: vec!["subject".into(), "body".into()], language: None, labels };
        load(&[path], &map).expect("the sample loads").examples
    }

    fn majority_accuracy(train: &[Example], held_out: &[Example], head: &str) -> f64 {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for example in train {
            *counts.entry(example.labels[head].as_str()).or_default() += 1;
        }
        let majority = counts.iter().max_by_key(|(_, n)| **n).map(|(l, _)| *l).unwrap_or_default();
        held_out.iter().filter(|e| e.labels[head] == majority).count() as f64 / held_out.len() as f64
    }

    fn sample_heads(rows: &[Example]) -> Vec<HeadSpec> {
        ["category", "sentiment", "urgency"]
            .iter()
            .map(|&name| {
                let mut labels: Vec<String> = rows.iter().map(|e| e.labels[name].clone()).collect();
                labels.sort();
                labels.dedup();
                HeadSpec { name: name.to_string(), labels }
            })
            .collect()
    }

    /// Every head, however it was fitted, ends as a coefficient matrix over the features and a
    /// bias, one column and one entry per class.
    fn assert_coefficients_per_class(trained: &Trained) {
        for spec in &trained.heads {
            let classes = spec.labels.len();
            let coefficients = &trained.weights[&triage::model::sparse_linear::coefficients_name(&spec.name)];
            assert_eq!(coefficients.dims(), [trained.features.dimension(), classes], "{}", spec.name);
            assert_eq!(trained.weights[&triage::model::sparse_linear::bias_name(&spec.name)].dims(), [classes], "{}", spec.name);
        }
        assert_eq!(trained.weights.len(), 2 * trained.heads.len(), "nothing but coefficients and biases");
    }

    fn assert_beats_majority(trained: &Trained, train_rows: &[Example], held_out: &[Example]) {
        let report = evaluate(&trained.classifier("sample", None).expect("classifier"), held_out).expect("evaluates");
        for head in ["category", "sentiment", "urgency"] {
            let accuracy = report.heads[head].accuracy;
            let baseline = majority_accuracy(train_rows, held_out, head);
            assert!(accuracy > baseline, "{head}: accuracy {accuracy:.3} vs majority {baseline:.3}");
        }
    }

    #[test]
    fn recall_similarities_parse_as_a_flag_writes_them() {
        assert_eq!("0.3,0.5".parse::<Similarities>(), Ok(Similarities(vec![0.3, 0.5])));
        assert_eq!("none".parse::<Similarities>(), Ok(Similarities(Vec::new())));
        assert!("0.3,1.5".parse::<Similarities>().unwrap_err().contains("`1.5`"));
        let round_trip = TrainConfig::default().recall_similarities;
        assert_eq!(round_trip.to_string().parse::<Similarities>(), Ok(round_trip), "the default shown in --help parses back");
    }

    #[test]
    fn the_manifest_records_only_the_settings_a_run_used() {
        let heads = |names: &[&str]| -> Vec<HeadSpec> {
            names.iter().map(|n| HeadSpec { name: n.to_string(), labels: vec!["a".into(), "b".into()] }).collect()
        };
        let linear = TrainConfig { linear_heads: vec!["urgency".into(), "topic".into()], ..TrainConfig::default() };
        let all_linear = linear.used(&heads(&["urgency", "topic"]));
        assert!(all_linear.get("epochs").is_none() && all_linear.get("ensemble").is_none(), "{all_linear}");
        assert!(all_linear.get("linear_folds").is_some() && all_linear.get("recall_rows").is_some());
        let network = TrainConfig { linear_heads: Vec::new(), ..TrainConfig::default() }.used(&heads(&["urgency"]));
        assert!(network.get("epochs").is_some() && network.get("linear_folds").is_none(), "{network}");
        assert!(network.get("recall_similarities").is_none());
        let mixed = linear.used(&heads(&["urgency", "sentiment"]));
        assert!(mixed.get("epochs").is_some() && mixed.get("linear_folds").is_some(), "{mixed}");
        let forgetful = TrainConfig { recall_similarities: Similarities(Vec::new()), ..linear }.used(&heads(&["urgency"]));
        assert!(forgetful.get("recall_rows").is_none() && forgetful.get("vocab_size").is_some());
    }

    /// A config that trains on the sample in seconds.
    fn small() -> TrainConfig {
        TrainConfig { vocab_size: 2000, buckets: 1 << 14, epochs: 20, patience: 6, ensemble: 2, ..TrainConfig::default() }
    }

    #[test]
    fn a_model_trained_on_the_sample_beats_the_majority_class_on_held_out_rows() {
        let (train_rows, held_out) = split(sample(), 0.25, 3);
        let (fit_rows, validation_rows) = split(train_rows.clone(), 0.15, 3);
        let config =
            TrainConfig { linear_heads: vec!["urgency".into()], linear_inverse_regularisation: vec![1.0, 4.0], ..small() };
        let trained =
            train(&fit_rows, &validation_rows, sample_heads(&train_rows), &config, None, &ProgressBar::hidden()).expect("trains");
        assert!(trained.linear_heads.contains_key("urgency"));
        assert_coefficients_per_class(&trained);
        assert_beats_majority(&trained, &train_rows, &held_out);
    }

    #[test]
    fn folds_hold_each_class_in_proportion() {
        let targets = [0, 1, 0, 2, 0, 1, 0, 2, 0, 1, 0, 2];
        let fold = stratified_folds(&targets, 3);
        for f in 0..3 {
            let mut counts = [0; 3];
            targets.iter().zip(&fold).filter(|(_, &g)| g == f).for_each(|(&t, _)| counts[t] += 1);
            assert_eq!(counts, [2, 1, 1], "fold {f}");
        }
    }

    /// The sample split into rows to fit, validation rows and held-out rows, with every head
    /// linear in `config`, and the model trained on it.
    struct AllLinear {
        fit_rows: Vec<Example>,
        validation_rows: Vec<Example>,
        train_rows: Vec<Example>,
        held_out: Vec<Example>,
        trained: Trained,
    }

    /// Rows of `rows` that carry head `h`'s label.
    fn labeled_count(rows: &[Example], heads: &[HeadSpec], h: usize) -> usize {
        rows.iter().filter(|e| targets(e, heads)[h].is_some()).count()
    }

    fn train_all_linear(config: TrainConfig) -> AllLinear {
        let (train_rows, held_out) = split(sample(), 0.25, 3);
        let (fit_rows, validation_rows) = split(train_rows.clone(), 0.15, 3);
        let heads = sample_heads(&train_rows);
        let config = TrainConfig { linear_heads: heads.iter().map(|h| h.name.clone()).collect(), ..config };
        let trained = train(&fit_rows, &validation_rows, heads, &config, None, &ProgressBar::hidden()).expect("trains");
        AllLinear { fit_rows, validation_rows, train_rows, held_out, trained }
    }

    #[test]
    fn when_every_head_is_linear_no_member_is_trained_and_the_shipped_fit_sees_every_row() {
        let AllLinear { fit_rows, validation_rows, train_rows, held_out, trained } =
            train_all_linear(TrainConfig { linear_inverse_regularisation: vec![4.0], ..small() });
        assert!(trained.epochs.is_empty(), "no ensemble member trained");
        assert_coefficients_per_class(&trained);
        for record in trained.linear_heads.values() {
            assert_eq!(record.rows, fit_rows.len() + validation_rows.len());
            assert_eq!(record.selection, Selection::CrossValidation { folds: 3 });
        }
        assert_beats_majority(&trained, &train_rows, &held_out);
    }

    #[test]
    fn with_enough_validation_rows_c_is_chosen_on_them_alone() {
        let config = TrainConfig { linear_holdout_rows: 1, ..small() };
        let candidates = config.linear_inverse_regularisation.len() * config.linear_forms.len();
        let forms = config.linear_forms.clone();
        let AllLinear { fit_rows, validation_rows, train_rows, held_out, trained } = train_all_linear(config);
        for (h, spec) in trained.heads.iter().enumerate() {
            let labeled = labeled_count(&validation_rows, &trained.heads, h);
            let record = &trained.linear_heads[&spec.name];
            assert_eq!(record.selection, Selection::HeldOut { rows: labeled }, "{}", spec.name);
            assert_eq!(record.candidates.len(), candidates);
            assert!(forms.iter().all(|form| record.candidates.iter().any(|c| c.form == *form)), "every form is scored");
            let best = record.candidates.iter().map(|c| c.macro_f1).fold(f64::NEG_INFINITY, f64::max);
            let chosen = record.candidates.iter().find(|c| c.macro_f1 == best).expect("a best candidate");
            assert_eq!((record.form, record.inverse_regularisation), (chosen.form, chosen.inverse_regularisation));
            assert_eq!(record.selection_macro_f1, best, "{}: the best-scoring form and C are shipped", spec.name);
            assert_eq!(record.rows, labeled_count(&fit_rows, &trained.heads, h) + labeled);
        }
        assert_beats_majority(&trained, &train_rows, &held_out);
    }

    #[test]
    fn near_twins_in_the_history_are_recalled_by_id_and_lend_their_label() {
        let (train_rows, held_out) = split(sample(), 0.25, 3);
        let twins = train_rows.iter().map(|e| Example {
            id: format!("{}-again", e.id),
            text: format!("{} Thanks again.", e.text),
            ..e.clone()
        });
        let rows: Vec<Example> = train_rows.iter().cloned().chain(twins).collect();
        let (fit_rows, validation_rows) = split(rows.clone(), 0.15, 3);
        let heads = sample_heads(&rows);
        let config = TrainConfig { linear_heads: heads.iter().map(|h| h.name.clone()).collect(), ..small() };
        let trained = train(&fit_rows, &validation_rows, heads, &config, None, &ProgressBar::hidden()).expect("trains");
        let memory = trained.memory.as_ref().expect("twins make recall pay");
        assert_eq!(memory.spec.tickets.len(), rows.len(), "every labeled row is remembered");
        for spec in &trained.heads {
            let choice = trained.linear_heads[&spec.name].recall.as_ref().expect("recall was considered");
            assert!(choice.threshold.is_some() && choice.with_macro_f1 > choice.without_macro_f1, "{}: {choice:?}", spec.name);
        }
        let classifier = trained.classifier("twins", None).expect("classifier");
        let ticket = &train_rows[0];
        for (head, prediction) in &classifier.predict(&[ticket.text.as_str()]).expect("predicts")[0] {
            let recalled =
                prediction.recalled.as_ref().unwrap_or_else(|| panic!("{head}: a past ticket asked again is recalled"));
            assert_eq!(recalled.ticket, ticket.id, "{head}: the identical ticket, not its twin");
            assert!(recalled.similarity > 0.999, "{head}: {}", recalled.similarity);
            assert_eq!(prediction.label, ticket.labels[head], "{head}: the recalled ticket's label");
        }
        assert_beats_majority(&trained, &train_rows, &held_out);
    }

    #[test]
    fn past_the_selection_cap_c_is_scored_by_fits_on_fewer_rows_and_the_shipped_fit_sees_every_row() {
        let cap = 60;
        // Scored on the validation rows alone, and by cross-validation.
        for holdout_rows in [1, usize::MAX] {
            let config = TrainConfig { linear_holdout_rows: holdout_rows, linear_selection_rows: cap, ..small() };
            assert_capped_selection(train_all_linear(config), cap);
        }
    }

    fn assert_capped_selection(all_linear: AllLinear, cap: usize) {
        let AllLinear { fit_rows, validation_rows, train_rows, held_out, trained } = all_linear;
        for (h, spec) in trained.heads.iter().enumerate() {
            let (training, validation) =
                (labeled_count(&fit_rows, &trained.heads, h), labeled_count(&validation_rows, &trained.heads, h));
            assert!(training > cap, "{}: {training} training rows", spec.name);
            let record = &trained.linear_heads[&spec.name];
            let kept = training - record.selection_set_aside;
            assert!(kept <= cap && 2 * kept > cap, "{}: {kept} of {training} training rows kept", spec.name);
            assert_eq!(record.training_rows, training);
            assert_eq!(record.rows, training + validation);
        }
        assert_beats_majority(&trained, &train_rows, &held_out);
    }
}
