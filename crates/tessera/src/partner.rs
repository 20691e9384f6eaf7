//! `tessera partner`: who may talk to this node over TAXII, and with which token.

use std::path::{Path, PathBuf};

use policy::Role;
use serde_json::{Value, json};
use server::partners::{self, Listing};

#[derive(clap::Subcommand)]
pub enum PartnerCommand {
    /// Register a partner in the node's policy and issue its bearer token (shown once).
    Add {
        name: String,
        /// `partner` sees what the policy releases; `analyst` is one of this node's own
        /// analysts and sees, and may write, everything.
        #[arg(long, value_enum)]
        role: Option<RoleArg>,
        /// The STIX identity of the partner's organisation (default: a new identity id).
        #[arg(long)]
        identity: Option<String>,
        /// Bind the token to this client certificate (PEM) at once, as `bind` does.
        #[arg(long)]
        certificate: Option<PathBuf>,
    },
    /// Bind a partner's token to its machine's client certificate (PEM): over mutual TLS the
    /// token is then taken only from a connection that presented exactly that certificate,
    /// and never over plain HTTP.
    Bind {
        name: String,
        #[arg(long)]
        certificate: PathBuf,
    },
    /// Take the token's binding away: any connection may present it again.
    Unbind { name: String },
    /// List the partners of the policy and the state of their tokens.
    List,
    /// Revoke a partner's token (it stays in the policy; `add` issues a new token).
    Revoke { name: String },
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum RoleArg {
    Partner,
    Analyst,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Role {
        match role {
            RoleArg::Partner => Role::Partner,
            RoleArg::Analyst => Role::Analyst,
        }
    }
}

pub fn run(dir: &Path, command: PartnerCommand, json_output: bool) -> Result<u8, String> {
    match command {
        PartnerCommand::Add {
            name,
            role,
            identity,
            certificate,
        } => {
            // A certificate that cannot be read refuses the whole command, before anything
            // is issued; the token and its binding are then saved together.
            let bound = certificate
                .as_deref()
                .map(partners::certificate_digest)
                .transpose()
                .map_err(|e| e.to_string())?;
            let added = partners::add(dir, &name, role.map(Role::from), identity.as_deref(), bound)
                .map_err(|e| e.to_string())?;
            let partner = &added.partner;
            if json_output {
                println!(
                    "{}",
                    json!({
                        "name": partner.name,
                        "role": partner.role.name(),
                        "identity": partner.identity_ref,
                        "added_to_policy": added.added_to_policy,
                        "token": added.token.secret(),
                        "certificate_sha256": bound.map(hex::encode),
                    })
                );
            } else {
                let policy = server::policy_file::path(dir);
                if added.added_to_policy {
                    println!(
                        "added {} (role {}, identity {}) to {}",
                        partner.name,
                        partner.role.name(),
                        partner.identity_ref,
                        policy.display()
                    );
                } else {
                    println!(
                        "{} is already in {} (role {}); issued a new token",
                        partner.name,
                        policy.display(),
                        partner.role.name()
                    );
                }
                if let Some(digest) = bound {
                    println!(
                        "bound to the client certificate sha256:{}",
                        hex::encode(digest)
                    );
                }
                println!("token (shown once, only its hash is kept):");
                println!("{}", added.token.secret());
            }
            Ok(crate::EXIT_OK)
        }
        PartnerCommand::Bind { name, certificate } => {
            let digest = partners::certificate_digest(&certificate).map_err(|e| e.to_string())?;
            let record = partners::bind(dir, &name, Some(digest)).map_err(|e| e.to_string())?;
            let digest = record.certificate_sha256.map(hex::encode);
            if json_output {
                println!(
                    "{}",
                    json!({ "bound": record.name, "certificate_sha256": digest })
                );
            } else {
                println!(
                    "bound the token of {} to the client certificate sha256:{} (a running server applies it from its next request; it asks for client certificates only with --tls-client-ca)",
                    record.name,
                    digest.unwrap_or_default()
                );
            }
            Ok(crate::EXIT_OK)
        }
        PartnerCommand::Unbind { name } => {
            let record = partners::bind(dir, &name, None).map_err(|e| e.to_string())?;
            if json_output {
                println!("{}", json!({ "unbound": record.name }));
            } else {
                println!(
                    "the token of {} is no longer bound to a client certificate",
                    record.name
                );
            }
            Ok(crate::EXIT_OK)
        }
        PartnerCommand::List => {
            let listing = partners::list(dir).map_err(|e| e.to_string())?;
            if json_output {
                let list: Vec<Value> = listing.iter().map(listing_json).collect();
                println!("{}", json!({ "partners": list }));
            } else if listing.is_empty() {
                println!("no partners: `tessera partner add NAME` registers one");
            } else {
                for entry in &listing {
                    let (role, identity) = match &entry.partner {
                        Some(p) => (p.role.name(), p.identity_ref.as_str()),
                        None => ("-", "(not in the policy)"),
                    };
                    let binding = entry
                        .token
                        .as_ref()
                        .and_then(|t| t.certificate_sha256)
                        .map(|d| format!(", bound to certificate sha256:{}", hex::encode(d)))
                        .unwrap_or_default();
                    println!(
                        "{:<24} {:<8} {:<50} {}{binding}",
                        entry.name,
                        role,
                        identity,
                        token_state(entry)
                    );
                }
            }
            Ok(crate::EXIT_OK)
        }
        PartnerCommand::Revoke { name } => {
            let record = partners::revoke(dir, &name).map_err(|e| e.to_string())?;
            if json_output {
                println!(
                    "{}",
                    json!({ "revoked": record.name, "at": record.revoked_micros.map(server::micros_text) })
                );
            } else {
                println!(
                    "revoked the token of {} (a running server refuses it from its next request)",
                    record.name
                );
            }
            Ok(crate::EXIT_OK)
        }
    }
}

fn token_state(entry: &Listing) -> String {
    match &entry.token {
        Some(t) if t.token_sha256.is_some() => {
            format!("token issued {}", server::micros_text(t.issued_micros))
        }
        Some(t) => format!(
            "token revoked {}",
            t.revoked_micros
                .map(server::micros_text)
                .unwrap_or_default()
        ),
        None => "no token".to_string(),
    }
}

fn listing_json(entry: &Listing) -> Value {
    json!({
        "name": entry.name,
        "role": entry.partner.as_ref().map(|p| p.role.name()),
        "identity": entry.partner.as_ref().map(|p| p.identity_ref.clone()),
        "in_policy": entry.partner.is_some(),
        "token": match &entry.token {
            Some(t) if t.token_sha256.is_some() => "active",
            Some(_) => "revoked",
            None => "none",
        },
        "issued": entry.token.as_ref().map(|t| server::micros_text(t.issued_micros)),
        "revoked": entry.token.as_ref().and_then(|t| t.revoked_micros).map(server::micros_text),
        "certificate_sha256": entry.token.as_ref().and_then(|t| t.certificate_sha256).map(hex::encode),
    })
}
