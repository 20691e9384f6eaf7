//! `tessera peer`: the nodes this node pulls from, and the sync itself.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Value, json};
use server::peers::{self, Peer, PeerTls};
use server::push::{self, PushOptions};
use server::sync::{self, SyncOptions};

#[derive(clap::Subcommand)]
pub enum PeerCommand {
    /// Pin a peer: its address, the token it issued to this node, and its public key.
    Add {
        name: String,
        /// The peer's address (`http://host:port` or its discovery URL).
        #[arg(long)]
        url: String,
        /// The bearer token the peer issued to this node (`tessera partner add` on its side).
        #[arg(long, env = "TESSERA_PEER_TOKEN")]
        token: String,
        /// The peer's public key (hex), received out of band. Without it, the key the peer
        /// announces now is pinned (trust on first use) and printed for you to compare.
        #[arg(long)]
        key: Option<String>,
        /// For an https:// peer: trust only the CA certificates in this PEM file (a peer with
        /// its own CA); without it, the public web PKI roots.
        #[arg(long)]
        ca: Option<PathBuf>,
        /// This node's certificate chain (PEM), for a peer that requires client certificates.
        #[arg(long, requires = "client_key")]
        client_certificate: Option<PathBuf>,
        /// The key of --client-certificate (PEM).
        #[arg(long, requires = "client_certificate")]
        client_key: Option<PathBuf>,
    },
    /// The pinned peers.
    List,
    /// Forget a peer (what was received from it stays, under its marking).
    Remove { name: String },
    /// Pull what is new from every peer, or from one.
    Sync {
        name: Option<String>,
        /// Keep pulling every --interval-s seconds until interrupted.
        #[arg(long)]
        watch: bool,
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=86_400))]
        interval_s: u64,
        /// Objects per page asked of the peer.
        #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(1..=10_000))]
        page_size: u64,
    },
    /// Push to a peer's inbox what this node's policy releases to it: signed envelopes, each
    /// recorded in the ledger as released, resumed from the last one the peer stored.
    Push {
        name: String,
        /// The partner of this node's policy the peer is (default: the peer's name).
        #[arg(long = "as")]
        partner: Option<String>,
        /// Objects per envelope.
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..=10_000))]
        envelope_objects: u64,
        /// Walk the whole store again (after a policy change that releases more).
        #[arg(long)]
        from_start: bool,
    },
}

/// Largest PEM file `peer add` reads (certificates and keys are a few kilobytes).
const PEM_BYTES_MAX: u64 = 256 << 10;

fn read_pem(path: &Path) -> Result<String, String> {
    let length = std::fs::metadata(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .len();
    if length > PEM_BYTES_MAX {
        return Err(format!(
            "{}: larger than {PEM_BYTES_MAX} bytes; is it really a PEM file?",
            path.display()
        ));
    }
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

pub fn run(dir: &Path, command: PeerCommand, json_output: bool) -> Result<u8, String> {
    match command {
        PeerCommand::Add {
            name,
            url,
            token,
            key,
            ca,
            client_certificate,
            client_key,
        } => {
            let tls = PeerTls {
                ca_pem: ca.as_deref().map(read_pem).transpose()?,
                client_certificate_pem: client_certificate.as_deref().map(read_pem).transpose()?,
                client_key_pem: client_key.as_deref().map(read_pem).transpose()?,
            };
            tls.check().map_err(|e| e.to_string())?;
            let (key, announced) = match key {
                Some(key) => (key, false),
                None => (
                    sync::announced_key(&url, &token, &tls)
                        .map_err(|e| e.to_string())?
                        .to_hex(),
                    true,
                ),
            };
            let peer = Peer::new(&name, &url, &token, &key)
                .and_then(|p| p.with_tls(tls))
                .map_err(|e| e.to_string())?;
            peers::add(dir, peer.clone()).map_err(|e| e.to_string())?;
            let text = if announced {
                format!(
                    "pinned peer {name} at {} with the key it announced: {key}\ncompare it with the key its operator gave you; if they differ, `tessera peer remove {name}` at once",
                    peer.url
                )
            } else {
                format!("pinned peer {name} at {} with key {key}", peer.url)
            };
            crate::emit(
                json_output,
                &json!({ "peer": name, "url": peer.url, "public_key": key, "announced": announced }),
                &text,
            );
            Ok(crate::EXIT_OK)
        }
        PeerCommand::List => {
            let list = peers::load(dir).map_err(|e| e.to_string())?;
            let values: Vec<Value> = list
                .iter()
                .map(|p| {
                    json!({
                        "name": p.name, "url": p.url, "public_key": p.public_key, "added": p.added,
                        "tls_ca": p.tls.ca_pem.is_some(),
                        "tls_client_certificate": p.tls.client_certificate_pem.is_some(),
                    })
                })
                .collect();
            let text = if list.is_empty() {
                "no peers (add one with `tessera peer add NAME --url URL --token TOKEN --key KEY`)"
                    .to_string()
            } else {
                list.iter()
                    .map(|p| format!("{}  {}  key {}", p.name, p.url, p.public_key))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            crate::emit(json_output, &json!({ "peers": values }), &text);
            Ok(crate::EXIT_OK)
        }
        PeerCommand::Remove { name } => {
            peers::remove(dir, &name).map_err(|e| e.to_string())?;
            crate::emit(
                json_output,
                &json!({ "removed": name }),
                &format!("removed peer {name}"),
            );
            Ok(crate::EXIT_OK)
        }
        PeerCommand::Sync {
            name,
            watch,
            interval_s,
            page_size,
        } => {
            let options = SyncOptions {
                page_size: page_size as usize,
                ..SyncOptions::default()
            };
            loop {
                let code = sync_once(dir, name.as_deref(), &options, json_output)?;
                if !watch {
                    return Ok(code);
                }
                std::thread::sleep(Duration::from_secs(interval_s));
            }
        }
        PeerCommand::Push {
            name,
            partner,
            envelope_objects,
            from_start,
        } => {
            let options = PushOptions {
                envelope_objects: envelope_objects as usize,
                from_start,
                ..PushOptions::default()
            };
            push(dir, &name, partner.as_deref(), &options, json_output)
        }
    }
}

fn push(
    dir: &Path,
    name: &str,
    partner: Option<&str>,
    options: &PushOptions,
    json_output: bool,
) -> Result<u8, String> {
    let report =
        push::push_from_data_dir(dir, name, partner, options).map_err(|e| e.to_string())?;
    crate::emit(
        json_output,
        &json!({ "pushed": report }),
        &format!(
            "{}: {} objects released to {} in {} signed envelopes to collection {}; {} stored or already held there; {} releases recorded",
            report.peer,
            report.objects,
            report.partner,
            report.envelopes,
            report.collection,
            report.accepted,
            report.recorded
        ),
    );
    Ok(crate::EXIT_OK)
}

fn sync_once(
    dir: &Path,
    name: Option<&str>,
    options: &SyncOptions,
    json_output: bool,
) -> Result<u8, String> {
    let all = peers::load(dir).map_err(|e| e.to_string())?;
    let chosen: Vec<&Peer> = match name {
        Some(name) => vec![
            all.iter()
                .find(|p| p.name == name)
                .ok_or_else(|| peers::PeersError::Unknown(name.to_string()).to_string())?,
        ],
        None => all.iter().collect(),
    };
    if chosen.is_empty() {
        return Err("no peers to sync from (add one with `tessera peer add`)".to_string());
    }
    let store = store::Store::open(dir).map_err(|e| {
        format!("{e} (a running `tessera serve` syncs in the background with --sync-interval-s)")
    })?;
    let ledger = server::node::open_ledger(dir).map_err(|e| e.to_string())?;
    let ledger = Mutex::new(ledger);
    let local = sync::Local {
        data_dir: dir,
        store: &store,
        ledger: &ledger,
    };
    let mut reports = Vec::new();
    let mut failed = None;
    for peer in chosen {
        match sync::sync_peer(&local, peer, options) {
            Ok(report) => {
                if !json_output {
                    for c in &report.collections {
                        println!(
                            "{}: collection {}: {} pages, {} objects, {} new, {} already held",
                            report.peer, c.id, c.pages, c.objects, c.written, c.duplicates
                        );
                    }
                    println!(
                        "{}: ledger head of {} entries verified and consistent",
                        report.peer, report.peer_tree_size
                    );
                }
                reports.push(serde_json::to_value(&report).map_err(|e| e.to_string())?);
            }
            Err(e) => {
                if !json_output {
                    eprintln!("error: {e}");
                }
                reports.push(json!({ "peer": peer.name, "error": e.to_string() }));
                failed = Some(e.to_string());
            }
        }
    }
    let ledger = ledger
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    ledger.close().map_err(|e| e.to_string())?;
    if json_output {
        println!("{}", json!({ "synced": reports }));
    }
    match failed {
        // One peer failing must not hide the others' results, but the command fails.
        Some(_) => Ok(crate::EXIT_REJECTED),
        None => Ok(crate::EXIT_OK),
    }
}
