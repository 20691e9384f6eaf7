//! `tessera ledger`: the node's tamper-evident record of what it created, received and
//! released, and the proofs a third party can check.

use std::path::Path;

use ledger::Entry;
use serde_json::{Value, json};

#[derive(clap::Subcommand)]
pub enum LedgerCommand {
    /// Sign and show the current tree head.
    Head,
    /// Prove that the ledger holds every record about an object (inclusion proofs against
    /// a freshly signed head).
    Prove { id: String },
    /// Recompute the whole log and check every stored head.
    Verify,
}

pub fn run(dir: &Path, command: LedgerCommand, json_output: bool) -> Result<u8, String> {
    let key = server::node::load_or_create_key(dir).map_err(|e| e.to_string())?;
    let mut ledger = server::node::open_ledger(dir).map_err(|e| e.to_string())?;
    let public_key = key.public_key().to_hex();
    let code = match command {
        LedgerCommand::Head => {
            let head = server::node::current_head(&mut ledger, &key).map_err(|e| e.to_string())?;
            let value = server::federation::head_json(&head, &[], &public_key);
            let text = format!(
                "{} entries, root {}, signed at {} ms by {public_key}",
                head.tree_size,
                hex::encode(head.root_hash),
                head.timestamp_unix_ms
            );
            crate::emit(json_output, &value, &text);
            crate::EXIT_OK
        }
        LedgerCommand::Prove { id } => {
            let indexes = ledger
                .entry_indexes_for_object(&id)
                .map_err(|e| e.to_string())?;
            if indexes.is_empty() {
                return Err(format!("the ledger holds no record about {id}"));
            }
            let head = server::node::current_head(&mut ledger, &key).map_err(|e| e.to_string())?;
            let mut proofs = Vec::new();
            let mut lines = Vec::new();
            for index in indexes {
                let entry = ledger.entry(index).map_err(|e| e.to_string())?;
                let leaf = entry.to_leaf_bytes().map_err(|e| e.to_string())?;
                let proof = ledger
                    .prove_inclusion_at(index, head.tree_size)
                    .map_err(|e| e.to_string())?;
                // Never hand out a proof this node could not verify itself.
                proof
                    .verify_against_head(&leaf, &head)
                    .map_err(|e| format!("entry {index} does not verify: {e}"))?;
                lines.push(format!("#{index}: {}", describe(&entry)));
                proofs.push(json!({
                    "index": index,
                    "entry": serde_json::from_slice::<Value>(&leaf).map_err(|e| e.to_string())?,
                    "leaf_hash": hex::encode(ledger::merkle::leaf_hash(&leaf)),
                    "audit_path": proof.audit_path.iter().map(hex::encode).collect::<Vec<_>>(),
                }));
            }
            lines.push(format!(
                "each verifies against the head of {} entries, root {}, signed by {public_key}",
                head.tree_size,
                hex::encode(head.root_hash)
            ));
            crate::emit(
                json_output,
                &json!({
                    "object": id,
                    "head": server::federation::head_json(&head, &[], &public_key),
                    "proofs": proofs,
                }),
                &lines.join("\n"),
            );
            crate::EXIT_OK
        }
        LedgerCommand::Verify => match ledger.verify_with_node_key(&key.public_key()) {
            Ok(report) => {
                crate::emit(
                    json_output,
                    &json!({ "ok": true, "report": format!("{report:?}"), "tree_size": ledger.tree_size() }),
                    &format!(
                        "ledger ok: {} entries, every stored head matches ({report:?})",
                        ledger.tree_size()
                    ),
                );
                crate::EXIT_OK
            }
            Err(e) => {
                crate::emit(
                    json_output,
                    &json!({ "ok": false, "problem": e.to_string() }),
                    &format!("ledger FAILED verification: {e}"),
                );
                crate::EXIT_REJECTED
            }
        },
    };
    ledger.close().map_err(|e| e.to_string())?;
    Ok(code)
}

fn describe(entry: &Entry) -> String {
    match entry {
        Entry::Created {
            object_id,
            version,
            recorded_at_unix_ms,
            ..
        } => {
            format!("created {object_id} version {version} (recorded at {recorded_at_unix_ms} ms)")
        }
        Entry::Received {
            peer,
            object_id,
            version,
            recorded_at_unix_ms,
            ..
        } => format!(
            "received {object_id} version {version} from {peer}, in a page it signed (recorded at {recorded_at_unix_ms} ms)"
        ),
        Entry::Released {
            partner,
            object_id,
            version,
            recorded_at_unix_ms,
            ..
        } => format!(
            "released {object_id} version {version} to {partner} (recorded at {recorded_at_unix_ms} ms)"
        ),
        other => format!("{other:?}"),
    }
}
