//! Trains the MUC-4 tagger and classifier on the training split and writes
//! `crates/extract/data/muc4-model.bin`.
//!
//! ```sh
//! cargo run --release -p extract --example train_muc4 -- \
//!     ../shared/data/text/muc4/train.jsonl crates/extract/data/muc4-model.bin
//! ```
//!
//! Only the training split is read: the dev split stands in for an unseen test set.

use extract::muc4::read_jsonl;
use extract::tagger::{TrainOptions, train};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, input, output] = args.as_slice() else {
        return Err("usage: train_muc4 TRAIN.jsonl OUT.bin".into());
    };
    let mut documents = read_jsonl(&std::fs::read_to_string(input)?)?;
    // HOLD_OUT=START..END leaves those documents out (a held-out fold: bench/muc4/folds.sh).
    if let Ok(range) = std::env::var("HOLD_OUT") {
        let (start, end) = range.split_once("..").ok_or("HOLD_OUT is START..END")?;
        let (start, end): (usize, usize) = (start.parse()?, end.parse()?);
        let mut index = 0;
        documents.retain(|_| {
            index += 1;
            !(start..end).contains(&(index - 1))
        });
    }
    let mut options = TrainOptions::default();
    if let Ok(epochs) = std::env::var("EPOCHS") {
        options.epochs = epochs.parse()?;
    }
    // SEED=N trains in another order: the spread over orders says how much of a change is noise.
    if let Ok(seed) = std::env::var("SEED") {
        options.seed = seed.parse()?;
    }
    let model = train(&documents, options);
    let bytes = model.to_bytes();
    std::fs::write(output, &bytes)?;
    let (tagger, classifier) = model.sizes();
    eprintln!(
        "trained on {} documents: {} tagger features, {} classifier features, {} bytes",
        documents.len(),
        tagger,
        classifier,
        bytes.len()
    );
    Ok(())
}
