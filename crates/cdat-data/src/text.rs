//! Character-level text (Tiny Shakespeare): vocabulary, encoding and blocks.
//!
//! The vocabulary is the sorted set of distinct characters (65 for Tiny Shakespeare).
//! A text of `n` tokens is cut into `(n - 1) / block_size` non-overlapping blocks;
//! block `i` has input `tokens[i*b .. i*b + b]` and target `tokens[i*b + 1 .. i*b + b + 1]`
//! (the next character at every position).

use std::collections::BTreeMap;

use crate::error::{DataError, Result};

/// Fraction of the character stream used for training; the rest (the end) is the test split.
pub const TEXT_TRAIN_FRACTION: (usize, usize) = (9, 10);

/// Checks that `bytes` is non-empty UTF-8 text; `file` names it in errors.
pub fn parse_text(bytes: &[u8], file: &str) -> Result<String> {
    if bytes.is_empty() {
        return Err(DataError::EmptyText {
            file: file.to_string(),
        });
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_string()),
        Err(e) => Err(DataError::InvalidUtf8 {
            file: file.to_string(),
            offset: e.valid_up_to(),
        }),
    }
}

/// A character vocabulary: the sorted distinct characters of a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CharVocab {
    chars: Vec<char>,
    index: BTreeMap<char, u32>,
}

impl CharVocab {
    /// Builds the vocabulary of `text` (sorted unique characters); errors on empty text.
    pub fn from_text(text: &str) -> Result<Self> {
        if text.is_empty() {
            return Err(DataError::EmptyText {
                file: "<text>".to_string(),
            });
        }
        let mut chars: Vec<char> = text.chars().collect();
        chars.sort_unstable();
        chars.dedup();
        let index = chars
            .iter()
            .enumerate()
            .map(|(i, &c)| (c, i as u32))
            .collect();
        Ok(Self { chars, index })
    }

    /// Number of distinct characters.
    pub fn len(&self) -> usize {
        self.chars.len()
    }

    /// Always false: a vocabulary is built from non-empty text.
    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }

    /// The characters, in index order.
    pub fn chars(&self) -> &[char] {
        &self.chars
    }

    /// Encodes `text` to token indices; errors on a character outside the vocabulary.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        text.chars()
            .map(|ch| {
                self.index
                    .get(&ch)
                    .copied()
                    .ok_or(DataError::UnknownChar { ch })
            })
            .collect()
    }

    /// Decodes token indices to text; errors on an index outside the vocabulary.
    pub fn decode(&self, tokens: &[u32]) -> Result<String> {
        tokens
            .iter()
            .map(|&t| {
                self.chars
                    .get(t as usize)
                    .copied()
                    .ok_or(DataError::UnknownToken {
                        index: t as usize,
                        vocab_size: self.chars.len(),
                    })
            })
            .collect()
    }
}

/// Splits a token stream into the deterministic 90% train / 10% test parts (train first).
pub fn split_train_test(tokens: &[u32]) -> (&[u32], &[u32]) {
    let (num, den) = TEXT_TRAIN_FRACTION;
    tokens.split_at(tokens.len() * num / den)
}

/// Next-character prediction examples: non-overlapping blocks of an encoded text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextDataset {
    vocab: CharVocab,
    tokens: Vec<u32>,
    block_size: usize,
    starts: Vec<usize>,
}

impl TextDataset {
    /// Cuts `tokens` into blocks of `block_size`; requires `1 <= block_size < tokens.len()`.
    pub fn new(vocab: CharVocab, tokens: Vec<u32>, block_size: usize) -> Result<Self> {
        if block_size == 0 || block_size >= tokens.len() {
            return Err(DataError::BlockSize {
                block_size,
                text_len: tokens.len(),
            });
        }
        if let Some(&t) = tokens.iter().find(|&&t| t as usize >= vocab.len()) {
            return Err(DataError::UnknownToken {
                index: t as usize,
                vocab_size: vocab.len(),
            });
        }
        let blocks = (tokens.len() - 1) / block_size;
        let starts = (0..blocks).map(|i| i * block_size).collect();
        Ok(Self {
            vocab,
            tokens,
            block_size,
            starts,
        })
    }

    /// Builds the vocabulary of `text` and cuts the whole text into blocks.
    pub fn from_text(text: &str, block_size: usize) -> Result<Self> {
        let vocab = CharVocab::from_text(text)?;
        let tokens = vocab.encode(text)?;
        Self::new(vocab, tokens, block_size)
    }

    /// Number of blocks (examples).
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    /// True when there are no blocks.
    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// The vocabulary.
    pub fn vocab(&self) -> &CharVocab {
        &self.vocab
    }

    /// Characters per block.
    pub fn block_size(&self) -> usize {
        self.block_size
    }

    /// The whole encoded character stream this data set was cut from.
    pub fn tokens(&self) -> &[u32] {
        &self.tokens
    }

    /// Block `i`: `(input, target)`, the target being the input shifted by one character.
    ///
    /// # Panics
    /// If `i >= self.len()`.
    pub fn block(&self, i: usize) -> (&[u32], &[u32]) {
        let s = self.starts[i];
        (
            &self.tokens[s..s + self.block_size],
            &self.tokens[s + 1..s + self.block_size + 1],
        )
    }

    /// Keeps the blocks at `indices`, in that order (used by subsets).
    pub(crate) fn select(&self, indices: &[usize]) -> Self {
        Self {
            vocab: self.vocab.clone(),
            tokens: self.tokens.clone(),
            block_size: self.block_size,
            starts: indices.iter().map(|&i| self.starts[i]).collect(),
        }
    }
}
