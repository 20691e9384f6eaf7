//! Tessera's extractor: news text in, draft incidents out.
//!
//! Stages: sentences and tokens ([`text`]), a MUC-4 role tagger and incident classifier trained
//! in the repo ([`tagger`], weights in `data/muc4-model.bin`), and the MUC-4 template format and
//! score ([`muc4`]).
//!
//! Architecture invariants:
//! - **Pure.** No IO, no network, no clock: the caller hands in text and the publication date,
//!   and gets values back. Models and gazetteers are compiled in.
//! - **Case-blind.** MUC-4 text is lower-cased, so no rule depends on capital letters.
//! - **Never panics on input.** Any string, however odd or long, gives a (possibly empty)
//!   answer.

pub mod draft;
pub mod gazetteer;
pub mod linear;
pub mod muc4;
pub mod news;
pub mod tagger;
pub mod text;

use std::sync::OnceLock;

pub use tagger::Muc4Model;

/// The shipped MUC-4 model bytes.
const MUC4_MODEL: &[u8] = include_bytes!("../data/muc4-model.bin");

/// The shipped MUC-4 model, read once. `None` if the shipped bytes are unreadable (a build
/// without a trained model).
pub fn muc4_model() -> Option<&'static Muc4Model> {
    static MODEL: OnceLock<Option<Muc4Model>> = OnceLock::new();
    MODEL
        .get_or_init(|| Muc4Model::from_bytes(MUC4_MODEL).ok())
        .as_ref()
}
