//! Minimises a smooth convex function of many parameters with L-BFGS: the lbfgs crate's
//! two-loop recursion turns each gradient into a direction in place, over history allocated
//! once, and a backtracking line search takes the first step that lowers the cost enough.
//! A linear head has up to millions of parameters. argmin's L-BFGS, which this replaces,
//! allocates a new vector of that size for each arithmetic step of its recursion; those
//! vectors took about as long as the objective itself (two fifths of a training run).
//! Must not know what it minimises: no rows, no features, no logistic regression.

use lbfgs::Lbfgs;

/// History pairs kept, as in scikit-learn's (SciPy's) L-BFGS.
const HISTORY: usize = 10;
/// A step is taken once the cost falls by at least this fraction of what the slope promises.
const SUFFICIENT_DECREASE: f64 = 1e-4;
/// Step shrinks tried before a direction is given up on: by then the step is below 1e-9 of
/// the first, and the point is as good as the cost's precision can tell.
const MAX_SHRINKS: usize = 30;

/// When a minimisation stops.
#[derive(Debug, Clone, Copy)]
pub struct Stopping {
    pub max_iterations: u64,
    /// Stop once the gradient's L2 norm is below this.
    pub gradient_tolerance: f64,
    /// Stop once an iteration lowers the cost by less than this.
    pub cost_tolerance: f64,
}

/// Where a minimisation stopped.
#[derive(Debug)]
pub struct Minimum {
    pub params: Vec<f64>,
    pub iterations: u64,
}

/// Minimises the function whose cost and gradient `evaluate` returns, from `start`.
pub fn minimise(start: Vec<f64>, stopping: Stopping, mut evaluate: impl FnMut(&[f64]) -> (f64, Vec<f64>)) -> Minimum {
    let mut params = start;
    // The lbfgs crate needs at least one parameter; with none, the start is the minimum.
    if params.is_empty() {
        return Minimum { params, iterations: 0 };
    }
    let (mut cost, mut gradient) = evaluate(&params);
    // Only pairs of positive curvature enter the history: the inverse Hessian it stands for
    // stays positive definite, so every direction descends.
    let mut history = Lbfgs::new(params.len(), HISTORY).with_sy_epsilon(f64::MIN_POSITIVE);
    history.update_hessian(&gradient, &params);
    let mut history_empty = true;
    let mut direction = vec![0.0; params.len()];
    let mut trial = vec![0.0; params.len()];
    let mut iterations = 0;
    while iterations < stopping.max_iterations && norm(&gradient) >= stopping.gradient_tolerance {
        direction.copy_from_slice(&gradient);
        history.apply_hessian(&mut direction);
        // The step moves against `direction`; `slope` is the cost's derivative along it.
        let slope = -dot(&gradient, &direction);
        // Without history the direction is the raw gradient, whose length says nothing about
        // how far to go: the first step is one unit long instead.
        let mut step = if history_empty { 1.0 / norm(&gradient) } else { 1.0 };
        let mut accepted = None;
        for _ in 0..MAX_SHRINKS {
            trial.iter_mut().zip(&params).zip(&direction).for_each(|((t, p), d)| *t = p - step * d);
            let (trial_cost, trial_gradient) = evaluate(&trial);
            if trial_cost <= cost + SUFFICIENT_DECREASE * step * slope {
                accepted = Some((trial_cost, trial_gradient));
                break;
            }
            step = shrunk_step(step, cost, slope, trial_cost);
        }
        let Some((trial_cost, trial_gradient)) = accepted else { break };
        iterations += 1;
        std::mem::swap(&mut params, &mut trial);
        let decrease = cost - trial_cost;
        (cost, gradient) = (trial_cost, trial_gradient);
        history.update_hessian(&gradient, &params);
        history_empty = false;
        if decrease < stopping.cost_tolerance {
            break;
        }
    }
    Minimum { params, iterations }
}

/// The next step to try after `step` lowered the cost too little: the minimum of the
/// quadratic through the cost and slope at the start and the cost at `step`, kept between a
/// tenth and a half of `step` so that the search neither stalls nor crawls.
fn shrunk_step(step: f64, cost: f64, slope: f64, trial_cost: f64) -> f64 {
    let curvature = trial_cost - cost - slope * step;
    let minimum = -slope * step * step / (2.0 * curvature);
    if minimum.is_finite() && curvature > 0.0 {
        minimum.clamp(0.1 * step, 0.5 * step)
    } else {
        0.5 * step
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIGHT: Stopping = Stopping { max_iterations: 5000, gradient_tolerance: 1e-9, cost_tolerance: 0.0 };

    /// Where `quadratic(dimension)` is least.
    fn centre(dimension: usize) -> Vec<f64> {
        (0..dimension).map(|i| (i as f64 * 0.7).sin()).collect()
    }

    /// `sum_i scale_i / 2 * (x_i - centre_i)^2`: condition number 1e4. L-BFGS needs many
    /// iterations for it (SciPy's, with the same history: 1,265 to a gradient of 1e-12).
    fn quadratic(dimension: usize) -> impl Fn(&[f64]) -> (f64, Vec<f64>) {
        let centre = centre(dimension);
        let scale: Vec<f64> = (0..dimension).map(|i| 10f64.powf(4.0 * i as f64 / (dimension - 1) as f64)).collect();
        move |x: &[f64]| {
            let offsets: Vec<f64> = x.iter().zip(&centre).map(|(x, c)| x - c).collect();
            let cost = offsets.iter().zip(&scale).map(|(o, s)| 0.5 * s * o * o).sum();
            (cost, offsets.iter().zip(&scale).map(|(o, s)| s * o).collect())
        }
    }

    #[test]
    fn an_ill_conditioned_quadratic_is_minimised_at_its_centre() {
        let (centre, evaluate) = (centre(50), quadratic(50));
        let minimum = minimise(vec![0.0; 50], TIGHT, &evaluate);
        let farthest = minimum.params.iter().zip(&centre).map(|(x, c)| (x - c).abs()).fold(0.0, f64::max);
        assert!(farthest < 1e-6, "farthest coordinate {farthest} from the centre after {} iterations", minimum.iterations);
        assert!(evaluate(&minimum.params).0 < 1e-12, "cost {}", evaluate(&minimum.params).0);
    }

    #[test]
    fn the_rosenbrock_valley_is_followed_to_its_minimum() {
        let rosenbrock = |x: &[f64]| {
            let (a, b) = (1.0 - x[0], x[1] - x[0] * x[0]);
            (a * a + 100.0 * b * b, vec![-2.0 * a - 400.0 * x[0] * b, 200.0 * b])
        };
        let minimum = minimise(vec![-1.2, 1.0], TIGHT, rosenbrock);
        assert!((minimum.params[0] - 1.0).abs() < 1e-6 && (minimum.params[1] - 1.0).abs() < 1e-6, "{:?}", minimum.params);
    }

    #[test]
    fn a_start_at_the_minimum_takes_no_iterations() {
        let minimum = minimise(centre(5), TIGHT, quadratic(5));
        assert_eq!(minimum.iterations, 0);
        assert_eq!(minimum.params, centre(5));
    }

    #[test]
    fn a_function_of_no_parameters_is_left_as_it_is() {
        let minimum = minimise(Vec::new(), TIGHT, |_| (0.0, Vec::new()));
        assert_eq!((minimum.params.len(), minimum.iterations), (0, 0));
    }

    #[test]
    fn the_iteration_cap_stops_a_minimisation_short() {
        let evaluate = quadratic(50);
        let minimum = minimise(vec![0.0; 50], Stopping { max_iterations: 3, ..TIGHT }, &evaluate);
        assert_eq!(minimum.iterations, 3);
        let cost = evaluate(&minimum.params).0;
        assert!(cost > 1e-6, "three iterations should not reach the minimum: cost {cost}");
    }

    #[test]
    fn a_cost_that_stops_falling_ends_the_minimisation() {
        let evaluate = quadratic(50);
        let loose = minimise(vec![0.0; 50], Stopping { cost_tolerance: 1e-2, ..TIGHT }, &evaluate);
        let tight = minimise(vec![0.0; 50], TIGHT, &evaluate);
        assert!(loose.iterations < tight.iterations, "{} vs {}", loose.iterations, tight.iterations);
    }
}
