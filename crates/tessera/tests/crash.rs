//! `kill -9` in the middle of a large import: the store must open, verify, and hold a whole
//! number of batches; importing again completes it with no duplicate and no loss.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::*;
use serde_json::Value;

const BATCH: u64 = 500;
const TOTAL: u64 = 24_771;

#[test]
fn killed_mid_import_leaves_whole_batches_and_resumes() {
    let node = fresh_node();
    // `init` commits the node's own objects in one batch before the import starts.
    let baseline = stats(node.path())["versions"].as_u64().unwrap();
    let baseline_batches = stats(node.path())["batches"].as_u64().unwrap();
    let bundle = shared_data("stix/enterprise-attack-18.1-stix20.json.gz");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .arg("--data-dir")
        .arg(node.path())
        .args([
            "--progress",
            "lines",
            "import",
            "--batch-size",
            &BATCH.to_string(),
        ])
        .arg(&bundle)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    // Kill at the third committed batch: by then some batches are durable and most are not.
    let mut committed = 0;
    for line in stderr.lines() {
        let line = line.unwrap();
        if line.starts_with("progress: committed") {
            committed += 1;
            if committed == 3 {
                kill_9(child.id());
                break;
            }
        }
    }
    let status = child.wait().unwrap();
    assert_eq!(
        committed, 3,
        "the import finished before it could be killed"
    );
    assert!(!status.success(), "the import should have been killed");

    let verify: Value = serde_json::from_str(&ok(node.path(), &["--json", "verify"])).unwrap();
    assert_eq!(verify["ok"], true, "{verify}");
    let versions = stats(node.path())["versions"].as_u64().unwrap() - baseline;
    assert!(
        (3 * BATCH..TOTAL).contains(&versions),
        "killed import holds {versions} versions"
    );
    assert_eq!(
        versions % BATCH,
        0,
        "only whole batches may survive a kill, found {versions}"
    );
    assert_eq!(
        verify["batches"].as_u64().unwrap(),
        versions / BATCH + baseline_batches
    );

    let report: Value = serde_json::from_str(&ok(
        node.path(),
        &["--json", "import", bundle.to_str().unwrap()],
    ))
    .unwrap();
    let r = &report["imports"][0];
    assert_eq!(r["duplicates"].as_u64().unwrap(), versions);
    assert_eq!(r["written"].as_u64().unwrap(), TOTAL - versions);
    assert_eq!(
        stats(node.path())["versions"].as_u64().unwrap(),
        TOTAL + baseline
    );
    let verify: Value = serde_json::from_str(&ok(node.path(), &["--json", "verify"])).unwrap();
    assert_eq!(verify["ok"], true, "{verify}");
}

/// SIGKILL, as `kill -9` sends it.
fn kill_9(pid: u32) {
    let status = Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}
