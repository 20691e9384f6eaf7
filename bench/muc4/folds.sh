#!/bin/sh
# The two held-out folds of the MUC-4 training split on which decoding settings are chosen:
# documents 0..300 and 1000..1300, each scored by a model trained on the other 1,000.
# Decode settings come from the environment (see crates/extract/examples/eval_muc4.rs).
#   bench/muc4/folds.sh train   # train the two fold models into $FOLD_DIR (default /tmp/muc4-folds)
#   bench/muc4/folds.sh         # score them
set -e
cd "$(dirname "$0")/../.."
TRAIN=../shared/data/text/muc4/train.jsonl
DIR=${FOLD_DIR:-/tmp/muc4-folds}
BIN=${CARGO_TARGET_DIR:-target}/release/examples
mkdir -p "$DIR"
for fold in 0..300 1000..1300; do
    if [ "$1" = train ]; then
        HOLD_OUT=$fold "$BIN/train_muc4" "$TRAIN" "$DIR/$fold.bin"
    else
        echo "fold $fold"
        ONLY=$fold "$BIN/eval_muc4" "$TRAIN" "$DIR/$fold.bin"
    fi
done
