//! Any string gives an answer, never a panic: the news rules, the MUC-4 model and the draft
//! builder over arbitrary text.

use extract::draft::{GroupDirectory, Source, text_key, to_objects};
use incident::Date;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}", words in proptest::collection::vec("(killed|bomb|isis|kerman|march|22|more than|on tuesday|\\.|,|two days previously|attack)", 0..40)) {
        let published = Date::parse("2024-03-30").expect("valid");
        let directory = GroupDirectory::new(&[]);
        for input in [text.clone(), words.join(" ")] {
            let draft = extract::news::extract(&input, published, &directory.index);
            let source = Source {
                name: "input.txt".into(),
                published,
                created: stix::Timestamp::parse("2024-03-30T00:00:00Z").expect("valid"),
                text_key: text_key(&input),
            };
            let objects = to_objects(&draft, &source, &directory).expect("a draft always builds");
            prop_assert!(objects.iter().all(|o| o.validate().is_empty()));
            if let Some(model) = extract::muc4_model() {
                let _ = model.extract(&input);
            }
        }
    }
}
