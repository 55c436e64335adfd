//! Text to SentencePiece ids the way the encoder was trained to read them: the image's
//! per-character normalisation, runs of spaces collapsed, spaces written as `▁` with one in
//! front, then the Unigram model (the `tokenizers` crate's, built from the image's pieces and
//! scores) picks the most probable split. No special tokens and no truncation here; the
//! encoder adds `<s>` / `</s>` and caps the length.

use tokenizers::models::unigram::Unigram;
use tokenizers::Model;

use super::image::{EncoderImage, ImageError};

/// SentencePiece's word-start marker (U+2581), which stands for a space.
const WORD_START: char = '\u{2581}';

/// One piece of a tokenised text: its id and the bytes of the normalised text it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub id: u32,
    pub text: String,
}

pub struct PieceTokenizer {
    unigram: Unigram,
    /// Sorted by codepoint for binary search.
    rules: Vec<(char, String)>,
}

impl PieceTokenizer {
    pub fn new(image: &EncoderImage) -> Result<Self, ImageError> {
        let vocab = image.pieces.iter().map(|(piece, score)| (piece.clone(), f64::from(*score))).collect();
        let unigram = Unigram::from(vocab, Some(image.specials.unk as usize), false)
            .map_err(|e| ImageError::Invalid(format!("the vocabulary is not a Unigram model: {e}")))?;
        // Rules for codepoints that are not characters (surrogates) can never match a `char`.
        let rules = image
            .normalization
            .iter()
            .filter_map(|(from, to)| Some((char::from_u32(*from)?, to.iter().filter_map(|cp| char::from_u32(*cp)).collect())))
            .collect();
        Ok(Self { unigram, rules })
    }

    /// The text as the Unigram model sees it: normalised, single-spaced, spaces as `▁`, and
    /// starting with `▁`.
    pub fn normalize(&self, text: &str) -> String {
        let mut mapped = String::with_capacity(text.len() + 3);
        for c in text.chars() {
            match self.rules.binary_search_by_key(&c, |(from, _)| *from) {
                Ok(at) => mapped.push_str(&self.rules[at].1),
                Err(_) => mapped.push(c),
            }
        }
        let mut out = String::with_capacity(mapped.len() + 3);
        if !mapped.starts_with(' ') {
            out.push(WORD_START);
        }
        let mut previous_space = false;
        for c in mapped.chars() {
            let space = c == ' ';
            if space && previous_space {
                continue;
            }
            previous_space = space;
            out.push(if space { WORD_START } else { c });
        }
        out
    }

    /// The text's pieces, in order.
    pub fn pieces(&self, text: &str) -> Vec<Piece> {
        let normalized = self.normalize(text);
        // Unigram tokenisation of valid UTF-8 against a vocabulary with an unknown piece
        // cannot fail; an error would leave the text without pieces rather than panic.
        let tokens = self.unigram.tokenize(&normalized).unwrap_or_default();
        tokens.into_iter().map(|token| Piece { id: token.id, text: token.value }).collect()
    }

    /// The ids of the text's pieces.
    pub fn ids(&self, text: &str) -> Vec<u32> {
        self.pieces(text).into_iter().map(|piece| piece.id).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::encoder::image::tests::toy;

    fn tokenizer() -> PieceTokenizer {
        let mut image = toy();
        image.pieces.extend([("▁a".to_string(), -2.0), ("b".to_string(), -2.0), ("▁".to_string(), -3.0)]);
        PieceTokenizer::new(&image).unwrap()
    }

    #[test]
    fn text_is_normalised_single_spaced_and_marked_as_word_starts() {
        let t = tokenizer();
        assert_eq!(t.normalize("ab\t  ab\u{7f}"), "▁ab▁ab");
        assert_eq!(t.normalize(" ab"), "▁ab", "a leading space is the word start itself");
        assert_eq!(t.normalize(""), "▁");
    }

    #[test]
    fn the_most_probable_split_wins_and_unknown_characters_become_unk() {
        let t = tokenizer();
        let pieces: Vec<String> = t.pieces("ab ab").into_iter().map(|p| p.text).collect();
        assert_eq!(pieces, ["▁ab", "▁ab"], "one piece of score -1.5 beats two of -2");
        let ids = t.ids("abz");
        assert_eq!(ids.first(), Some(&4));
        assert_eq!(ids.last(), Some(&3), "z is no piece: unk");
    }
}
