//! Text normalisation and the subword tokenizer (tokenizers crate).
//!
//! The normaliser lives inside the tokenizer (NFKC, lowercase, e-mail addresses, URLs and
//! digits to placeholders) so that a saved `tokenizer.json` is the whole text pipeline and
//! offsets still point into the original text. This module trains, saves and loads that
//! tokenizer and splits a text into normalised words with character spans; it knows nothing
//! of the heads or of feature hashing.

use std::path::Path;

use tokenizers::models::wordpiece::{WordPiece, WordPieceTrainer};
use tokenizers::models::TrainerWrapper;
use tokenizers::normalizers::replace::ReplacePattern;
use tokenizers::normalizers::{Lowercase, Replace, Sequence, NFKC};
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::{AddedToken, NormalizerWrapper, Tokenizer};

/// Placeholder words the normaliser writes in place of e-mail addresses and URLs. Digits
/// become `0` one for one, so "order 48213" and "order 91002" look alike but keep their shape.
pub const EMAIL_PLACEHOLDER: &str = " emailaddr ";
pub const URL_PLACEHOLDER: &str = " urladdr ";
const UNKNOWN_TOKEN: &str = "[UNK]";
const CONTINUATION_PREFIX: &str = "##";

#[derive(Debug, thiserror::Error)]
pub enum TextError {
    #[error("tokenizer {path}: {message}")]
    Load { path: String, message: String },
    #[error("tokenizer: {0}")]
    Tokenizer(String),
}

fn tokenizer_error(e: impl std::fmt::Display) -> TextError {
    TextError::Tokenizer(e.to_string())
}

/// Characters that end a sentence: evidence phrases and word pairs do not reach across them.
pub const SENTENCE_ENDS: [char; 4] = ['.', '!', '?', '\n'];

/// One word of a text after normalisation, with the subword token ids the tokenizer gave it
/// and its span in the original text as character offsets `[start, end)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    pub token_ids: Vec<u32>,
    pub start: usize,
    pub end: usize,
}

/// The trained tokenizer plus the little it takes to turn its output into words.
#[derive(Clone)]
pub struct TextPipeline {
    tokenizer: Tokenizer,
}

fn normaliser() -> Result<NormalizerWrapper, TextError> {
    let replace = |pattern: &str, with: &str| -> Result<NormalizerWrapper, TextError> {
        Ok(Replace::new(ReplacePattern::Regex(pattern.to_string()), with).map_err(tokenizer_error)?.into())
    };
    Ok(Sequence::new(vec![
        NFKC.into(),
        Lowercase.into(),
        replace(r"[\w.+-]+@[\w-]+(\.[\w-]+)+", EMAIL_PLACEHOLDER)?,
        replace(r"(https?://|www\.)\S+", URL_PLACEHOLDER)?,
        replace(r"\d", "0")?,
    ])
    .into())
}

impl TextPipeline {
    /// Learns a WordPiece vocabulary from `texts`. WordPiece keeps whole frequent words as
    /// single tokens and splits rare ones into pieces, which suits short, typo-ridden tickets.
    pub fn train<I, S>(texts: I, vocab_size: usize) -> Result<Self, TextError>
    where
        I: Iterator<Item = S> + Send,
        S: AsRef<str> + Send,
    {
        let mut tokenizer = Tokenizer::new(WordPiece::default());
        tokenizer.with_normalizer(Some(normaliser()?)).map_err(tokenizer_error)?;
        tokenizer.with_pre_tokenizer(Some(BertPreTokenizer));
        let mut trainer: TrainerWrapper = WordPieceTrainer::builder()
            .vocab_size(vocab_size)
            .min_frequency(2)
            .show_progress(false)
            .special_tokens(vec![AddedToken::from(UNKNOWN_TOKEN, true)])
            .build()
            .into();
        tokenizer.train(&mut trainer, texts).map_err(tokenizer_error)?;
        Ok(Self { tokenizer })
    }

    pub fn load(path: &Path) -> Result<Self, TextError> {
        let tokenizer = Tokenizer::from_file(path)
            .map_err(|e| TextError::Load { path: path.display().to_string(), message: e.to_string() })?;
        Ok(Self { tokenizer })
    }

    pub fn save(&self, path: &Path) -> Result<(), TextError> {
        self.tokenizer.save(path, false).map_err(tokenizer_error)
    }

    pub fn vocab_size(&self) -> usize {
        self.tokenizer.get_vocab_size(true)
    }

    /// Splits `text` into normalised words. Words the vocabulary cannot spell fall back to
    /// the lowercased original so that character n-grams still see them.
    pub fn words(&self, text: &str) -> Result<Vec<Word>, TextError> {
        let encoding = self.tokenizer.encode_char_offsets(text, false).map_err(tokenizer_error)?;
        let mut words: Vec<Word> = Vec::new();
        let mut current: Option<u32> = None;
        let pieces =
            encoding.get_ids().iter().zip(encoding.get_tokens()).zip(encoding.get_offsets()).zip(encoding.get_word_ids());
        for (((&id, token), &(start, end)), word_id) in pieces {
            let continues = word_id.is_some() && *word_id == current;
            current = *word_id;
            let piece = token.strip_prefix(CONTINUATION_PREFIX).unwrap_or(token);
            match words.last_mut() {
                Some(word) if continues => {
                    word.text.push_str(piece);
                    word.token_ids.push(id);
                    word.end = end;
                }
                _ => words.push(Word { text: piece.to_string(), token_ids: vec![id], start, end }),
            }
        }
        for word in &mut words {
            if word.text.contains(UNKNOWN_TOKEN) {
                word.text = text.chars().skip(word.start).take(word.end - word.start).collect::<String>().to_lowercase();
            }
        }
        Ok(words)
    }
}
