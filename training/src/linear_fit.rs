//! The logistic-regression path of training: each head fitted by L-BFGS on the features in
//! the form and with the `C` that cross-validation chooses, its recall threshold, and the fit
//! written as the head's coefficient matrix and bias. What it records of each choice
//! (`LinearRecord`) goes into the manifest and the model card. Numeric work only: no files.

use std::collections::HashMap;

use candle_core::Tensor;
use rayon::prelude::*;
use serde::Serialize;
use triage::model::bundle::HeadSpec;
use triage::model::features::TicketFeatures;
use triage::model::sparse_linear::{bias_name, coefficients_name};

use crate::linear_head::{self, balanced_class_weights, LinearHead, Solve};
use crate::one_vs_rest;
use crate::recall::{choose_threshold, RecallChoice};
use crate::train::{argmax, labeled_rows, macro_f1, Prepared, TrainConfig, TrainError};

/// How a linear head models its classes from the features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum LinearForm {
    /// One multinomial logistic regression over all classes.
    Multinomial,
    /// One binary logistic regression per class on naive-Bayes-scaled features (`one_vs_rest`).
    #[value(name = "nb-one-vs-rest")]
    NaiveBayesOneVsRest,
}

impl std::fmt::Display for LinearForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LinearForm::Multinomial => "multinomial logistic regression",
            LinearForm::NaiveBayesOneVsRest => "one-vs-rest logistic regression with naive-Bayes feature scaling",
        })
    }
}

impl LinearForm {
    /// The name `--linear-forms` takes, as clap derives it.
    pub fn short_name(self) -> String {
        clap::ValueEnum::to_possible_value(&self).map(|value| value.get_name().to_string()).unwrap_or_default()
    }

    /// Fits `rows` in this form once per solve, as a warm-started path.
    fn fit_path(
        self,
        rows: &[(&TicketFeatures, usize)],
        classes: usize,
        solves: &[Solve],
        start: Option<&LinearHead>,
    ) -> Vec<LinearHead> {
        match self {
            LinearForm::Multinomial => {
                let weights = balanced_class_weights(rows.iter().map(|(_, t)| *t), classes);
                linear_head::fit_path(rows, classes, &weights, solves, start)
            }
            LinearForm::NaiveBayesOneVsRest => one_vs_rest::fit_path(rows, classes, solves, start),
        }
    }
}

/// How a linear head was chosen: every candidate form and `C` with its macro-F1 on rows its
/// fit did not see, and the rows the shipped fit learned from.
#[derive(Debug, Clone, Serialize)]
pub struct LinearRecord {
    pub form: LinearForm,
    pub inverse_regularisation: f64,
    pub iterations: u64,
    pub selection: Selection,
    /// Training rows that no fit scoring `C` learned from (beyond `--linear-selection-rows`).
    pub selection_set_aside: usize,
    /// Of `rows`, those from the training split.
    pub training_rows: usize,
    /// Macro-F1 of the chosen form and `C` on the rows that scored the candidates.
    pub selection_macro_f1: f64,
    pub candidates: Vec<Candidate>,
    /// Rows of the shipped fit: training plus validation rows.
    pub rows: usize,
    /// How the similarity from which the head recalls remembered tickets was chosen, on the
    /// same rows that scored `C`; `None` where recall was off or the head had too many rows.
    pub recall: Option<RecallChoice>,
}

impl LinearRecord {
    /// Names the training rows left out of choosing `C`, if any.
    pub fn set_aside_note(&self) -> String {
        match self.selection_set_aside {
            0 => String::new(),
            rows => format!("; C scored by fits on {} of {} training rows", self.training_rows - rows, self.training_rows),
        }
    }

    /// Says whether the head recalls remembered tickets, and what that did on the scoring rows.
    pub fn recall_note(&self) -> String {
        match &self.recall {
            None => "remembers no tickets".into(),
            Some(RecallChoice { threshold: None, without_macro_f1, .. }) => {
                format!("recalls no tickets: no similarity raised macro-F1 above {without_macro_f1:.3}")
            }
            Some(RecallChoice { threshold: Some(t), without_macro_f1, with_macro_f1, recalled, recalled_right, .. }) => format!(
                "recalls a remembered ticket's label from similarity {t:.2} (macro-F1 {without_macro_f1:.3} -> \
                 {with_macro_f1:.3}; {recalled_right} of {recalled} recalls right)"
            ),
        }
    }
}

/// One candidate form and `C` with its macro-F1 on the rows that scored the candidates.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Candidate {
    pub form: LinearForm,
    pub inverse_regularisation: f64,
    pub macro_f1: f64,
}

/// Which rows scored the candidate values of `C`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Selection {
    /// Every training and validation row, each by the fit on the other folds.
    CrossValidation { folds: usize },
    /// The validation rows, by the fit on the training rows: enough of them to score `C`
    /// steadily, at a third of cross-validation's solves.
    HeldOut { rows: usize },
}

impl std::fmt::Display for Selection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Selection::CrossValidation { folds } => write!(f, "{folds}-fold cross-validated macro-F1"),
            Selection::HeldOut { rows } => write!(f, "macro-F1 on {rows} held-out validation rows"),
        }
    }
}

/// A linear head as fitted: the fit shipped (on training plus validation rows) and the
/// validation rows' out-of-fold logits (what scores and calibrates it).
pub(crate) struct FittedLinear {
    pub(crate) shipped: LinearHead,
    pub(crate) validation_logits: Vec<Vec<f32>>,
    pub(crate) record: LinearRecord,
}

/// Which of `folds` folds each row belongs to: rows dealt out round-robin within each class,
/// so every fold holds each class in proportion.
pub(crate) fn stratified_folds(targets: &[usize], folds: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..targets.len()).collect();
    order.sort_by_key(|&i| targets[i]);
    let mut fold = vec![0; targets.len()];
    for (position, &i) in order.iter().enumerate() {
        fold[i] = position % folds;
    }
    fold
}

/// The fold of a row that no fit scoring `C` learns from or scores.
pub(crate) const SET_ASIDE: usize = usize::MAX;

/// Per solve, per row, the logits (empty for a row no fit held out).
pub(crate) type PerSolveLogits = Vec<Vec<Vec<f32>>>;

/// Per solve, the logits of each row of a held-out fold from the fit on the rows of every
/// other fold except rows `SET_ASIDE` (each fit's solves run as one warm-started path); rows
/// of other folds get no logits. Also the last fit's path, a warm start for the shipped fit.
pub(crate) fn out_of_fold_logits(
    rows: &[(&TicketFeatures, usize)],
    fold: &[usize],
    held_out_folds: &[usize],
    classes: usize,
    form: LinearForm,
    solves: &[Solve],
) -> (PerSolveLogits, Vec<LinearHead>) {
    // The folds' fits are independent; side by side they keep both cores busy through each
    // other's serial L-BFGS steps.
    let paths: Vec<Vec<LinearHead>> = held_out_folds
        .par_iter()
        .map(|&held_out| {
            let training: Vec<(&TicketFeatures, usize)> =
                rows.iter().zip(fold).filter(|(_, &f)| f != held_out && f != SET_ASIDE).map(|(row, _)| *row).collect();
            form.fit_path(&training, classes, solves, None)
        })
        .collect();
    let mut logits = vec![vec![Vec::new(); rows.len()]; solves.len()];
    let mut last_path = Vec::new();
    for (&held_out, path) in held_out_folds.iter().zip(paths) {
        for (head, per_row) in path.iter().zip(logits.iter_mut()) {
            for ((features, _), (slot, _)) in rows.iter().zip(per_row.iter_mut().zip(fold)).filter(|(_, (_, &f))| f == held_out) {
                *slot = head.logits(features).iter().map(|&l| l as f32).collect();
            }
        }
        last_path = path;
    }
    (logits, last_path)
}

/// Fits head `h` as logistic regression on its training and validation rows together. Each
/// candidate `C` is scored by stratified k-fold cross-validated macro-F1 over all those rows
/// (far steadier than one small validation split), or, once the validation rows alone are
/// many, by the fit on the training rows scored on them; past `linear_selection_rows`
/// training rows, a stratified sample of at most that many stands in for them in those fits.
/// The best is fitted on every row, starting from its last out-of-fold fit, and shipped. The
/// validation rows keep their out-of-fold logits, which score and calibrate the head.
///
/// With `features_below`, the head reads only the features with smaller ids: the hashed
/// text features, where the rows carry an embedding this head is not to read.
pub(crate) fn fit_linear(
    train_set: &Prepared,
    validation_set: &Prepared,
    h: usize,
    spec: &HeadSpec,
    config: &TrainConfig,
    features_below: Option<usize>,
) -> Result<FittedLinear, TrainError> {
    let mut rows = labeled_rows(train_set, h);
    let training_rows = rows.len();
    rows.extend(labeled_rows(validation_set, h));
    let kept: Vec<TicketFeatures> = match features_below {
        Some(first_left_out) => rows.iter().map(|(features, _)| ids_below(features, first_left_out)).collect(),
        None => Vec::new(),
    };
    if features_below.is_some() {
        rows.iter_mut().zip(&kept).for_each(|((features, _), kept)| *features = kept);
    }
    let targets: Vec<usize> = rows.iter().map(|(_, t)| *t).collect();
    let validation_rows = rows.len() - training_rows;
    // Past the cap, the training rows are dealt into `stride` stratified parts and the first
    // part alone is kept for scoring C; the folds are dealt over the kept rows only.
    // Validation rows are always kept: their out-of-fold logits calibrate the head.
    let stride = training_rows.div_ceil(config.linear_selection_rows.max(1)).max(1);
    let part = stratified_folds(&targets[..training_rows], stride);
    let mut used: Vec<usize> = (0..training_rows).filter(|&i| part[i] == 0).collect();
    let selection_set_aside = training_rows - used.len();
    used.extend(training_rows..rows.len());
    let mut fold = vec![SET_ASIDE; rows.len()];
    let (selection, held_out_folds) = if validation_rows >= config.linear_holdout_rows {
        used.iter().for_each(|&i| fold[i] = usize::from(i < training_rows));
        (Selection::HeldOut { rows: validation_rows }, vec![0])
    } else {
        let folds = config.linear_folds.max(2);
        let used_targets: Vec<usize> = used.iter().map(|&i| targets[i]).collect();
        used.iter().zip(stratified_folds(&used_targets, folds)).for_each(|(&i, f)| fold[i] = f);
        (Selection::CrossValidation { folds }, (0..folds).collect())
    };
    let scored_rows: Vec<usize> = (0..rows.len()).filter(|&i| held_out_folds.contains(&fold[i])).collect();
    let scored: Vec<usize> = scored_rows.iter().map(|&i| targets[i]).collect();
    let classes = spec.labels.len();
    let mut values = config.linear_inverse_regularisation.clone();
    values.sort_by(f64::total_cmp);
    let solves: Vec<Solve> = values
        .iter()
        .map(|&c| Solve {
            inverse_regularisation: c,
            max_iterations: config.linear_max_iterations,
            gradient_tolerance: config.linear_tolerance,
        })
        .collect();
    // Per candidate: its out-of-fold logits, and its fold's fit as a warm start.
    let mut best: Option<(Candidate, Vec<Vec<f32>>, LinearHead)> = None;
    let mut candidates = Vec::new();
    for &form in &config.linear_forms {
        let (out_of_fold, last_path) = out_of_fold_logits(&rows, &fold, &held_out_folds, classes, form, &solves);
        for ((solve, logits), start) in solves.iter().zip(out_of_fold).zip(last_path) {
            let predicted: Vec<usize> = scored_rows.iter().map(|&i| argmax(&logits[i])).collect();
            let macro_f1 = macro_f1(&spec.labels, &scored, &predicted);
            let candidate = Candidate { form, inverse_regularisation: solve.inverse_regularisation, macro_f1 };
            candidates.push(candidate);
            if best.as_ref().is_none_or(|(b, _, _)| macro_f1 > b.macro_f1) {
                best = Some((candidate, logits, start));
            }
        }
    }
    let (chosen, out_of_fold, start) =
        best.ok_or_else(|| TrainError::Data("--linear-c and --linear-forms need at least one value each".into()))?;
    let solve = Solve { inverse_regularisation: chosen.inverse_regularisation, ..solves[0] };
    let shipped = chosen.form.fit_path(&rows, classes, &[solve], Some(&start)).pop();
    let shipped = shipped.ok_or_else(|| TrainError::Data(format!("{}: logistic regression returned no fit", spec.name)))?;
    let recall = choose_recall(&rows, &used, &scored_rows, &out_of_fold, spec, config);
    // Validation rows without this head's label are never scored; the shipped fit fills them.
    let mut held_out = out_of_fold.into_iter().skip(training_rows);
    let validation_logits = validation_set
        .features
        .iter()
        .zip(&validation_set.targets)
        .map(|(f, t)| match t[h] {
            Some(_) => held_out.next().unwrap_or_default(),
            None => shipped.logits(f).iter().map(|&l| l as f32).collect(),
        })
        .collect();
    let record = LinearRecord {
        form: chosen.form,
        inverse_regularisation: chosen.inverse_regularisation,
        iterations: shipped.iterations,
        selection,
        selection_set_aside,
        training_rows,
        selection_macro_f1: chosen.macro_f1,
        candidates,
        rows: rows.len(),
        recall,
    };
    Ok(FittedLinear { shipped, validation_logits, record })
}

/// The head's recall threshold (see `recall`), chosen on the rows that scored `C`, each
/// recalling the most similar other row kept for that scoring. `None` without candidate
/// similarities or past `recall_rows` rows.
pub(crate) fn choose_recall(
    rows: &[(&TicketFeatures, usize)],
    used: &[usize],
    scored_rows: &[usize],
    out_of_fold: &[Vec<f32>],
    spec: &HeadSpec,
    config: &TrainConfig,
) -> Option<RecallChoice> {
    if config.recall_similarities.0.is_empty() || rows.len() > config.recall_rows {
        return None;
    }
    let vectors: Vec<(&[u32], &[f32])> = used.iter().map(|&i| rows[i].0.word_level_part()).collect();
    let targets: Vec<usize> = used.iter().map(|&i| rows[i].1).collect();
    let mut position = vec![None; rows.len()];
    used.iter().enumerate().for_each(|(p, &i)| position[i] = Some(p));
    let scored: Vec<(usize, &[f32])> =
        scored_rows.iter().filter_map(|&i| position[i].map(|p| (p, out_of_fold[i].as_slice()))).collect();
    Some(choose_threshold(&vectors, &targets, &scored, &spec.labels, &config.recall_similarities.0))
}

/// `features` without the entries from id `first_left_out` on (the word-level group, whose ids
/// are all smaller, is kept whole).
fn ids_below(features: &TicketFeatures, first_left_out: usize) -> TicketFeatures {
    let (ids, weights) = features.ids.iter().zip(&features.weights).filter(|(&id, _)| (id as usize) < first_left_out).unzip();
    TicketFeatures { ids, weights, word_level: features.word_level }
}

/// Writes a linear head's coefficients and intercepts as head `spec`'s weights, in place of
/// whatever the ensemble fitted for it.
pub(crate) fn install_linear_head(
    weights: &mut HashMap<String, Tensor>,
    feature_dimension: usize,
    spec: &HeadSpec,
    head: &LinearHead,
) -> Result<(), TrainError> {
    let classes = head.classes();
    let device = triage::model::compute::device();
    let mut block = vec![0.0f32; feature_dimension * classes];
    for (id, coefficients) in head.feature_ids.iter().zip(head.coefficients.chunks(classes)) {
        let slot = block.get_mut(*id as usize * classes..(*id as usize + 1) * classes).ok_or_else(|| {
            TrainError::Data(format!("{}: feature {id} lies outside the {feature_dimension} features", spec.name))
        })?;
        slot.iter_mut().zip(coefficients).for_each(|(v, &c)| *v = c as f32);
    }
    weights.insert(coefficients_name(&spec.name), Tensor::from_vec(block, (feature_dimension, classes), &device)?);
    let intercepts: Vec<f32> = head.intercepts.iter().map(|&b| b as f32).collect();
    weights.insert(bias_name(&spec.name), Tensor::from_vec(intercepts, classes, &device)?);
    Ok(())
}
