//! Where the model computes: the device every tensor is made on, the threads that work on it
//! and whether the encoder multiplies on AMX tiles, decided here once for serving, evaluation
//! and training alike. Only the CPU: candle's `cuda` and `mkl` features are not built, so there
//! is no other device to choose. No model logic here.

use candle_core::Device;

/// The device every tensor of a model lives on.
pub fn device() -> Device {
    Device::Cpu
}

/// How many threads `set_model_threads` is given unless the operator chooses: the model's
/// operations are small and candle's helper threads spin while they wait, so one thread served
/// the most requests per second on a 2-core machine, and an encoder's single ticket took 20 ms
/// against 24 ms with two, the spinning helper slowing the matrix products on the other core
/// (BENCHMARKS.md).
pub const DEFAULT_MODEL_THREADS: usize = 1;

/// Sizes candle's element-wise thread pool to `threads` (at least one) for this process. It is
/// read on first use, so this must run before any model is loaded.
pub fn set_model_threads(threads: usize) {
    std::env::set_var("CANDLE_NUM_THREADS", threads.max(1).to_string());
}

/// How the encoder's weight products run in this process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Products {
    /// On AMX tiles in bf16 (`model::encoder::tiles`), on the calling thread.
    Tiles,
    /// candle's f32 products, on every core.
    F32,
}

/// Chooses the encoder's products: AMX tiles where the CPU has them and Linux grants them,
/// unless the operator sets `TRIAGE_AMX=off` (to compare, or to rule the tiles out). On
/// tiles a 50-token ticket took 17 ms on one thread against 29 ms for candle's AVX-512 f32
/// products on two (BENCHMARKS.md).
///
/// For f32, candle's products may use every core this process may use, unless the operator
/// chose a number (`RAYON_NUM_THREADS`). candle reads that variable at each product and
/// otherwise counts physical cores: one on a machine whose two vCPUs are one core's two
/// hyperthreads, where two threads still took a 50-token ticket from 41 to 34 ms. Only an
/// encoder is worth it: the sparse model's small products got slower on two threads. On
/// tiles the products need no helper thread, and the rest of the encoder (layer norms,
/// softmax) was faster on one thread than on two that wake each other: 17.0 against 18.2 ms.
pub fn encoder_products() -> Products {
    let tiles = std::env::var("TRIAGE_AMX").map_or(true, |value| value != "off") && crate::model::encoder::tiles::amx::enable();
    let (products, threads) =
        if tiles { (Products::Tiles, 1) } else { (Products::F32, std::thread::available_parallelism().map_or(1, usize::from)) };
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
    }
    products
}
