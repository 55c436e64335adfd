//! The BERT encoder stack over candle: embeddings (word rows dequantised on demand, positions,
//! token type 0, layer norm), then per layer self-attention and a GELU feed-forward block, each
//! followed by a residual layer norm. The matrices are 4-bit in the image and dequantised to f32
//! once, at load, each stored transposed so a product reads it in order: candle's 4-bit product
//! (`QMatMul` over `Q4_0`) took 75 ms for a 50-token ticket on the 2-core benchmark machine,
//! its f32 product 34 ms, for 85 MB more memory (`BENCHMARKS.md`, Encoder). Where the CPU has
//! AMX, each matrix is packed as bf16 tiles instead (`tiles`: half the f32 memory, and faster
//! again). Several texts
//! run as one `[tokens, hidden]` matrix so every weight is read once per batch; attention stays
//! within each text. Returns the mean of each text's token states; no tokenising here.

use std::borrow::Cow;

use candle_core::quantized::{GgmlDType, QStorage, QTensor};
use candle_core::{Device, Tensor};

use super::image::{EncoderImage, Shape, BLOCK, Q4_BLOCK_BYTES};
use super::tiles::TileMatrix;
use super::EncoderError;
use crate::model::compute::Products;

/// A weight as `[inputs, outputs]` and its bias, multiplied by candle in f32 or on AMX tiles.
enum Linear {
    F32 {
        weight_t: Tensor,
        bias: Tensor,
    },
    /// The bias is added, and the activation applied, in the same pass that takes the
    /// product's rows out of the tile buffer.
    Tiles {
        weight: TileMatrix,
        bias: Vec<f32>,
    },
}

impl Linear {
    /// `weight_t` (`[inputs, outputs]`) on tiles when `tiles` and its shape fits them.
    fn new(weight_t: Tensor, bias: Tensor, tiles: bool) -> candle_core::Result<Self> {
        let (inputs, outputs) = weight_t.dims2()?;
        let packed = if tiles { TileMatrix::pack(&weight_t.flatten_all()?.to_vec1::<f32>()?, inputs, outputs) } else { None };
        Ok(match packed {
            Some(weight) => Self::Tiles { weight, bias: bias.to_vec1()? },
            None => Self::F32 { weight_t, bias },
        })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        self.forward_then(x, false)
    }

    /// The product plus bias, through the GELU when `then_gelu`.
    fn forward_then(&self, x: &Tensor, then_gelu: bool) -> candle_core::Result<Tensor> {
        match self {
            Self::F32 { weight_t, bias } => {
                let out = x.matmul(weight_t)?.broadcast_add(bias)?;
                if then_gelu {
                    gelu(&out)
                } else {
                    Ok(out)
                }
            }
            Self::Tiles { weight, bias } => {
                let rows = x.dim(0)?;
                let mut values = weight.multiply(&x.flatten_all()?.to_vec1::<f32>()?, rows);
                for row in values.chunks_exact_mut(bias.len()) {
                    for (value, b) in row.iter_mut().zip(bias) {
                        *value += b;
                    }
                    if then_gelu {
                        gelu_in_place(row);
                    }
                }
                Tensor::from_vec(values, (rows, weight.outputs()), x.device())
            }
        }
    }
}

struct Norm {
    weight: Tensor,
    bias: Tensor,
    eps: f32,
}

impl Norm {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        candle_nn::ops::layer_norm(x, &self.weight, &self.bias, self.eps)
    }
}

struct Layer {
    /// Query, key and value side by side (`[hidden, 3 * hidden]`): one product instead of
    /// three, as a ticket's few tokens make each product small.
    query_key_value: Linear,
    attention_out: Linear,
    attention_norm: Norm,
    up: Linear,
    down: Linear,
    output_norm: Norm,
}

/// The loaded stack.
pub struct Transformer {
    shape: Shape,
    /// `Q4_0` rows of the word-embedding table, dequantised per token.
    word_rows: Vec<u8>,
    /// Position rows, `[max_positions, hidden]`.
    positions: Vec<f32>,
    /// The row of token type 0.
    token_type: Vec<f32>,
    embedding_norm: Norm,
    layers: Vec<Layer>,
    device: Device,
}

/// The f32 values of a `Q4_0` row: each block is an f16 scale and 32 four-bit weights, byte
/// `j` holding weight `j` in its low half and weight `j + 16` in its high half, offset by 8.
fn dequantize_q4(row: &[u8], out: &mut [f32]) {
    for (block, values) in row.chunks_exact(Q4_BLOCK_BYTES).zip(out.chunks_exact_mut(BLOCK)) {
        let scale = half::f16::from_le_bytes([block[0], block[1]]).to_f32();
        for (j, byte) in block[2..].iter().enumerate() {
            values[j] = (f32::from(byte & 0x0f) - 8.0) * scale;
            values[j + 16] = (f32::from(byte >> 4) - 8.0) * scale;
        }
    }
}

/// `erf(x)` within 2e-6, from a polynomial alone (Abramowitz and Stegun 7.1.28):
/// `1 - (1 + a1 x + ... + a6 x^6)^-16` for `x >= 0`, odd. candle's `gelu_erf` calls libm's
/// scalar `erf` on every element, about a tenth of a ticket's encoding time; this form has no
/// branch or table, so the loop over a layer's activations vectorises.
fn erf(x: f32) -> f32 {
    const A: [f32; 6] = [0.070_523_08, 0.042_282_01, 0.009_270_527, 0.000_152_014_3, 0.000_276_567_2, 0.000_043_063_8];
    let t = x.abs();
    let p = 1.0 + t * (A[0] + t * (A[1] + t * (A[2] + t * (A[3] + t * (A[4] + t * A[5])))));
    let p2 = p * p;
    let p4 = p2 * p2;
    let p8 = p4 * p4;
    (1.0 - 1.0 / (p8 * p8)).copysign(x)
}

/// The exact (erf) GELU of every element, as the encoder was trained with.
fn gelu_in_place(values: &mut [f32]) {
    for v in values.iter_mut() {
        *v *= 0.5 * (1.0 + erf(*v * std::f32::consts::FRAC_1_SQRT_2));
    }
}

fn gelu(x: &Tensor) -> candle_core::Result<Tensor> {
    let mut values = x.flatten_all()?.to_vec1::<f32>()?;
    gelu_in_place(&mut values);
    Tensor::from_vec(values, x.shape(), x.device())
}

impl Transformer {
    pub fn new(image: &EncoderImage, products: Products, device: &Device) -> Result<Self, EncoderError> {
        let shape = image.shape;
        let (hidden, inner) = (shape.hidden, shape.intermediate);
        let vector = |name: &str, len: usize| -> Result<Tensor, EncoderError> {
            Ok(Tensor::from_vec(image.tensor(name, len)?.f32s(name)?, len, device)?)
        };
        let matrix = |name: &str, rows: usize, cols: usize| -> Result<Tensor, EncoderError> {
            let stored = image.tensor(name, rows * cols)?;
            let storage = QStorage::from_data(Cow::Borrowed(&stored.bytes), device, GgmlDType::Q4_0)?;
            Ok(QTensor::new(storage, (rows, cols))?.dequantize(device)?.t()?.contiguous()?)
        };
        let tiles = products == Products::Tiles;
        let linear = |prefix: String, rows: usize, cols: usize| -> Result<Linear, EncoderError> {
            Ok(Linear::new(matrix(&format!("{prefix}.w"), rows, cols)?, vector(&format!("{prefix}.b"), rows)?, tiles)?)
        };
        let norm = |prefix: String| -> Result<Norm, EncoderError> {
            Ok(Norm {
                weight: vector(&format!("{prefix}.w"), hidden)?,
                bias: vector(&format!("{prefix}.b"), hidden)?,
                eps: shape.layer_norm_eps,
            })
        };
        let layers = (0..shape.layers)
            .map(|l| {
                let [query, key, value] = ["q", "k", "v"].map(|part| matrix(&format!("l{l}.{part}.w"), hidden, hidden));
                let [query_bias, key_bias, value_bias] = ["q", "k", "v"].map(|part| vector(&format!("l{l}.{part}.b"), hidden));
                Ok(Layer {
                    query_key_value: Linear::new(
                        Tensor::cat(&[&query?, &key?, &value?], 1)?,
                        Tensor::cat(&[&query_bias?, &key_bias?, &value_bias?], 0)?,
                        tiles,
                    )?,
                    attention_out: linear(format!("l{l}.ao"), hidden, hidden)?,
                    attention_norm: norm(format!("l{l}.aln"))?,
                    up: linear(format!("l{l}.fi"), inner, hidden)?,
                    down: linear(format!("l{l}.fo"), hidden, inner)?,
                    output_norm: norm(format!("l{l}.oln"))?,
                })
            })
            .collect::<Result<Vec<_>, EncoderError>>()?;
        let word = image.tensor("emb.word", shape.vocab_rows * hidden)?;
        let type_rows = image.tensor("emb.type", shape.type_vocab * hidden)?.f32s("emb.type")?;
        Ok(Self {
            shape,
            word_rows: word.bytes.clone(),
            positions: image.tensor("emb.pos", shape.max_positions * hidden)?.f32s("emb.pos")?,
            token_type: type_rows[..hidden].to_vec(),
            embedding_norm: norm("emb.ln".into())?,
            layers,
            device: device.clone(),
        })
    }

    /// Longest input (special tokens included) the position table allows.
    pub fn max_positions(&self) -> usize {
        self.shape.max_positions
    }

    /// The input rows of `ids` at positions 0, 1, ...: word + position + token type.
    fn embed_tokens(&self, ids: &[u32], into: &mut Vec<f32>) {
        let hidden = self.shape.hidden;
        let row_bytes = hidden / BLOCK * Q4_BLOCK_BYTES;
        for (position, &id) in ids.iter().enumerate() {
            let start = into.len();
            into.resize(start + hidden, 0.0);
            let row = &mut into[start..];
            dequantize_q4(&self.word_rows[id as usize * row_bytes..(id as usize + 1) * row_bytes], row);
            let position_row = &self.positions[position * hidden..(position + 1) * hidden];
            for ((value, p), t) in row.iter_mut().zip(position_row).zip(&self.token_type) {
                *value += p + t;
            }
        }
    }

    /// The mean final hidden state of each input, `[inputs, hidden]`. Every input is a full
    /// token sequence (`<s> ... </s>`) no longer than `max_positions` and with ids below the
    /// vocabulary size (the caller's tokenizer guarantees both).
    pub fn mean_states(&self, inputs: &[Vec<u32>]) -> Result<Tensor, EncoderError> {
        let hidden = self.shape.hidden;
        let mut rows = Vec::with_capacity(inputs.iter().map(Vec::len).sum::<usize>() * hidden);
        let mut spans = Vec::with_capacity(inputs.len());
        for ids in inputs {
            spans.push((rows.len() / hidden, ids.len()));
            self.embed_tokens(ids, &mut rows);
        }
        let tokens = rows.len() / hidden;
        let mut x = self.embedding_norm.forward(&Tensor::from_vec(rows, (tokens, hidden), &self.device)?)?;
        for layer in &self.layers {
            let attended = layer.attention_out.forward(&self.attention(layer, &x, &spans)?)?;
            x = layer.attention_norm.forward(&(x + attended)?)?;
            let fed = layer.down.forward(&layer.up.forward_then(&x, true)?)?;
            x = layer.output_norm.forward(&(x + fed)?)?;
        }
        let means =
            spans.iter().map(|&(start, len)| x.narrow(0, start, len)?.mean(0)).collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Tensor::stack(&means, 0)?)
    }

    /// Multi-head self-attention of each span over its own tokens only.
    fn attention(&self, layer: &Layer, x: &Tensor, spans: &[(usize, usize)]) -> candle_core::Result<Tensor> {
        let (heads, hidden) = (self.shape.heads, self.shape.hidden);
        let head_dim = hidden / heads;
        let scale = 1.0 / (head_dim as f64).sqrt();
        let query_key_value = layer.query_key_value.forward(x)?;
        let mut contexts = Vec::with_capacity(spans.len());
        for &(start, len) in spans {
            // The span's rows as [len, 3, heads, head_dim] (a view); part `at` -> [heads, len, head_dim],
            // copied once.
            let parts = query_key_value.narrow(0, start, len)?.reshape((len, 3, heads, head_dim))?;
            let split = |at: usize| parts.narrow(1, at, 1)?.squeeze(1)?.transpose(0, 1)?.contiguous();
            let (qs, ks, vs) = (split(0)?, split(1)?, split(2)?);
            let scores = (qs.matmul(&ks.t()?)? * scale)?;
            let weights = candle_nn::ops::softmax_last_dim(&scores)?;
            contexts.push(weights.matmul(&vs)?.transpose(0, 1)?.reshape((len, hidden))?);
        }
        Tensor::cat(&contexts, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_polynomial_erf_follows_the_exact_one() {
        // erf at 0.1, 0.5, 1, 2 and 3 to eight places.
        for (x, exact) in
            [(0.1, 0.112_462_92), (0.5, 0.520_499_88), (1.0, 0.842_700_79), (2.0, 0.995_322_27), (3.0, 0.999_977_91)]
        {
            assert!((erf(x) - exact).abs() < 2e-6, "erf({x}) = {} against {exact}", erf(x));
            assert!((erf(-x) + exact).abs() < 2e-6, "erf is odd at {x}");
        }
        assert_eq!(erf(40.0), 1.0, "far tails saturate without overflow turning into NaN");
        assert_eq!(erf(0.0), 0.0);
    }

    #[test]
    fn q4_rows_dequantise_low_halves_first_then_high_halves() {
        let mut block = vec![0u8; Q4_BLOCK_BYTES];
        block[..2].copy_from_slice(&half::f16::from_f32(0.5).to_le_bytes());
        block[2] = 0x9f; // weight 0 = 15, weight 16 = 9
        block[3] = 0x08; // weight 1 = 8, weight 17 = 0
        let mut out = vec![0.0; BLOCK];
        dequantize_q4(&block, &mut out);
        assert_eq!((out[0], out[16], out[1], out[17]), (3.5, 0.5, 0.0, -4.0));
        assert_eq!(out[2], -4.0, "a zero nibble is -8 times the scale");
    }
}
