//! The encoder's weight products on Intel AMX tiles: each weight matrix packed once, at load,
//! as bf16 tiles, and a batch of activation rows rounded to bf16 and multiplied by it with
//! `tdpbf16ps` (f32 accumulation). One tile instruction does 8,192 multiply-adds, so on a CPU
//! that has AMX (Sapphire Rapids and later Xeons) a ticket's products take a fraction of
//! candle's f32 time on one thread, with no helper threads to wake. bf16 keeps 8 significant
//! bits; the reference check's cosines to the package's engine stay as they were in f32
//! (`BENCHMARKS.md`, Encoder), which a split into high and low bf16 parts, three times the
//! work and memory traffic, could not improve on.
//!
//! Only the arithmetic and the one system call that asks Linux for the tile state live here;
//! whether to use it is decided in `model::compute`, and no model logic is here.

/// Rows, and pairs of reduction steps, in one tile; a tile row is 64 bytes.
const TILE_ROWS: usize = 16;
/// bf16 values in a tile row: the reduction steps one tile instruction covers.
const TILE_DEPTH: usize = 32;
/// Output rows and columns one pass of the kernel computes: two by two tiles.
const BLOCK: usize = 2 * TILE_ROWS;

/// A `[inputs, outputs]` weight matrix as bf16 tiles.
pub struct TileMatrix {
    inputs: usize,
    outputs: usize,
    /// For each 32 outputs, for each 32 inputs, the two tiles of 16 outputs side by side; a
    /// tile is 16 rows of input pairs, each row 16 outputs x 2 inputs.
    tiles: Vec<u16>,
}

/// The bf16 nearest `value` (ties to even); the encoder's values are finite.
fn bf16_bits(value: f32) -> u16 {
    let bits = value.to_bits();
    ((bits + 0x7fff + ((bits >> 16) & 1)) >> 16) as u16
}

impl TileMatrix {
    /// Packs `weight` (`inputs` rows of `outputs` values) when both sizes are whole multiples
    /// of the kernel's blocks; `None` otherwise, and the caller keeps its f32 product.
    pub fn pack(weight: &[f32], inputs: usize, outputs: usize) -> Option<Self> {
        if !inputs.is_multiple_of(TILE_DEPTH) || !outputs.is_multiple_of(BLOCK) || weight.len() != inputs * outputs {
            return None;
        }
        let value = |input: usize, output: usize| bf16_bits(weight[input * outputs + output]);
        let mut tiles = Vec::with_capacity(inputs * outputs);
        for block in (0..outputs).step_by(BLOCK) {
            for tile_depth in (0..inputs).step_by(TILE_DEPTH) {
                for half in [block, block + TILE_ROWS] {
                    for pair in (tile_depth..tile_depth + TILE_DEPTH).step_by(2) {
                        for output in half..half + TILE_ROWS {
                            tiles.push(value(pair, output));
                            tiles.push(value(pair + 1, output));
                        }
                    }
                }
            }
        }
        Some(Self { inputs, outputs, tiles })
    }

    pub fn outputs(&self) -> usize {
        self.outputs
    }

    /// `rows` (`count` rows of `inputs` values) times the matrix: `count` rows of `outputs`.
    /// Only call where `amx::enable` returned true in this process.
    pub fn multiply(&self, rows: &[f32], count: usize) -> Vec<f32> {
        assert_eq!(rows.len(), count * self.inputs, "activation rows do not match the matrix's inputs");
        let padded = count.div_ceil(BLOCK) * BLOCK;
        // Padding rows stay zero.
        let mut activations = vec![0u16; padded * self.inputs];
        for (value, slot) in rows.iter().zip(&mut activations) {
            *slot = bf16_bits(*value);
        }
        let mut out = vec![0f32; padded * self.outputs];
        // SAFETY: `activations` holds `padded` rows of `inputs` bf16 values, `tiles` holds the
        // packing `pack` wrote for `inputs` and `outputs`, and `out` holds `padded` rows of
        // `outputs`; those are exactly the bounds `kernel` reads and writes. The caller
        // enabled the tile state for this process.
        unsafe { amx::kernel(&activations, &self.tiles, &mut out, padded, self.inputs, self.outputs) };
        out.truncate(count * self.outputs);
        out
    }
}

#[cfg(target_arch = "x86_64")]
pub mod amx {
    use std::arch::asm;
    use std::sync::OnceLock;

    use super::{BLOCK, TILE_DEPTH, TILE_ROWS};

    /// The tile configuration `ldtilecfg` reads (palette 1): registers 0-3 accumulate a 32 x
    /// 32 block of outputs, 4-5 hold 32 activation rows, 6-7 two tiles of the weight.
    #[repr(C, align(64))]
    struct TileConfig {
        palette: u8,
        start_row: u8,
        reserved: [u8; 14],
        bytes_per_row: [u16; 16],
        rows: [u8; 16],
    }

    const CONFIG: TileConfig = TileConfig {
        palette: 1,
        start_row: 0,
        reserved: [0; 14],
        bytes_per_row: [64, 64, 64, 64, 64, 64, 64, 64, 0, 0, 0, 0, 0, 0, 0, 0],
        rows: [16, 16, 16, 16, 16, 16, 16, 16, 0, 0, 0, 0, 0, 0, 0, 0],
    };

    /// Whether this CPU has AMX tiles with bf16 products and Linux lets this process use
    /// them (it must ask once, `arch_prctl(ARCH_REQ_XCOMP_PERM, XTILEDATA)`); asked once.
    pub fn enable() -> bool {
        static GRANTED: OnceLock<bool> = OnceLock::new();
        *GRANTED.get_or_init(|| {
            // CPUID leaf 7: EDX bit 22 is AMX-BF16, bit 24 AMX-TILE.
            let features = std::arch::x86_64::__cpuid_count(7, 0).edx;
            let has_tiles = features & (1 << 22) != 0 && features & (1 << 24) != 0;
            const ARCH_REQ_XCOMP_PERM: libc::c_long = 0x1023;
            const XFEATURE_XTILEDATA: libc::c_long = 18;
            has_tiles && unsafe { libc::syscall(libc::SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) } == 0
        })
    }

    /// `out[rows, outputs] = activations[rows, inputs] x tiles`, `rows` a multiple of 32.
    ///
    /// # Safety
    /// `enable()` returned true; `activations` holds `rows * inputs` values, `out` holds
    /// `rows * outputs`, and `tiles` is `TileMatrix::pack`'s layout for `inputs` and `outputs`.
    pub unsafe fn kernel(activations: &[u16], tiles: &[u16], out: &mut [f32], rows: usize, inputs: usize, outputs: usize) {
        debug_assert!(activations.len() == rows * inputs && out.len() == rows * outputs && tiles.len() == inputs * outputs);
        let activation_stride = inputs * 2;
        let out_stride = outputs * 4;
        let tile_values = TILE_ROWS * TILE_DEPTH;
        asm!("ldtilecfg [{}]", in(reg) &CONFIG as *const TileConfig, options(nostack, readonly));
        for block in 0..outputs / BLOCK {
            let block_tiles = tiles.as_ptr().add(block * inputs * BLOCK);
            for row in (0..rows).step_by(BLOCK) {
                asm!("tilezero tmm0", "tilezero tmm1", "tilezero tmm2", "tilezero tmm3", options(nostack, nomem));
                for step in 0..inputs / TILE_DEPTH {
                    let upper = activations.as_ptr().add(row * inputs + step * TILE_DEPTH);
                    let lower = upper.add(TILE_ROWS * inputs);
                    let left = block_tiles.add(step * 2 * tile_values);
                    let right = left.add(tile_values);
                    asm!(
                        "tileloadd tmm4, [{upper} + {stride}]",
                        "tileloadd tmm5, [{lower} + {stride}]",
                        "tileloadd tmm6, [{left} + {tile_stride}]",
                        "tileloadd tmm7, [{right} + {tile_stride}]",
                        "tdpbf16ps tmm0, tmm4, tmm6",
                        "tdpbf16ps tmm1, tmm4, tmm7",
                        "tdpbf16ps tmm2, tmm5, tmm6",
                        "tdpbf16ps tmm3, tmm5, tmm7",
                        upper = in(reg) upper,
                        lower = in(reg) lower,
                        left = in(reg) left,
                        right = in(reg) right,
                        stride = in(reg) activation_stride,
                        tile_stride = in(reg) 64usize,
                        options(nostack, readonly),
                    );
                }
                let corner = out.as_mut_ptr().add(row * outputs + block * BLOCK);
                asm!(
                    "tilestored [{upper_left} + {stride}], tmm0",
                    "tilestored [{upper_right} + {stride}], tmm1",
                    "tilestored [{lower_left} + {stride}], tmm2",
                    "tilestored [{lower_right} + {stride}], tmm3",
                    upper_left = in(reg) corner,
                    upper_right = in(reg) corner.add(TILE_ROWS),
                    lower_left = in(reg) corner.add(TILE_ROWS * outputs),
                    lower_right = in(reg) corner.add(TILE_ROWS * outputs + TILE_ROWS),
                    stride = in(reg) out_stride,
                    options(nostack),
                );
            }
        }
        asm!("tilerelease", options(nostack, nomem));
    }
}

#[cfg(not(target_arch = "x86_64"))]
pub mod amx {
    /// AMX is an x86-64 extension.
    pub fn enable() -> bool {
        false
    }

    /// # Safety
    /// Never called: `enable()` is false on this architecture.
    pub unsafe fn kernel(_: &[u16], _: &[u16], _: &mut [f32], _: usize, _: usize, _: usize) {
        unreachable!("tile products are only used where amx::enable() returned true")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bf16_value(bits: u16) -> f32 {
        f32::from_bits(u32::from(bits) << 16)
    }

    #[test]
    fn bf16_rounds_to_the_nearest_and_ties_to_even() {
        assert_eq!(bf16_bits(1.0), 0x3f80);
        assert_eq!(bf16_bits(-2.5), 0xc020);
        assert_eq!(bf16_bits(f32::from_bits(0x3f80_8000)), 0x3f80, "a tie goes to the even neighbour");
        assert_eq!(bf16_bits(f32::from_bits(0x3f81_8000)), 0x3f82, "a tie goes to the even neighbour");
        assert_eq!(bf16_bits(f32::from_bits(0x3f80_8001)), 0x3f81, "above the tie rounds up");
        for value in [0.123_456_79f32, -3.3, 1e-3, 250.75] {
            assert!(((bf16_value(bf16_bits(value)) - value) / value).abs() <= 1.0 / 256.0, "{value}");
        }
    }

    #[test]
    fn only_whole_blocks_are_packed() {
        assert!(TileMatrix::pack(&vec![0.0; 32 * 64], 32, 64).is_some());
        assert!(TileMatrix::pack(&vec![0.0; 30 * 64], 30, 64).is_none(), "inputs not a multiple of 32");
        assert!(TileMatrix::pack(&vec![0.0; 32 * 48], 32, 48).is_none(), "outputs not a multiple of 32");
    }

    /// On a CPU with AMX the tile product matches the exact one to bf16's precision (a value in
    /// the wrong place would be off by about a tenth of the terms' sum); where
    /// the CPU has none, it says so and checks nothing else.
    #[test]
    fn tile_products_match_f32_products() {
        if !amx::enable() {
            println!("SKIPPED (checked nothing): the tile product test: this CPU or kernel offers no AMX tiles");
            return;
        }
        let (count, inputs, outputs) = (37, 96, 64);
        let weight: Vec<f32> = (0..inputs * outputs).map(|i| ((i * 7919 % 1000) as f32 - 500.0) / 731.0).collect();
        let rows: Vec<f32> = (0..count * inputs).map(|i| ((i * 104_729 % 997) as f32 - 498.0) / 313.0).collect();
        let product = TileMatrix::pack(&weight, inputs, outputs).expect("whole blocks").multiply(&rows, count);
        assert_eq!(product.len(), count * outputs);
        for r in 0..count {
            for o in 0..outputs {
                let exact: f64 = (0..inputs).map(|i| f64::from(rows[r * inputs + i]) * f64::from(weight[i * outputs + o])).sum();
                let scale: f64 =
                    (0..inputs).map(|i| (f64::from(rows[r * inputs + i]) * f64::from(weight[i * outputs + o])).abs()).sum();
                let error = (f64::from(product[r * outputs + o]) - exact).abs();
                assert!(error <= 5e-3 * scale, "row {r} output {o}: {} against {exact}", product[r * outputs + o]);
            }
        }
    }
}
