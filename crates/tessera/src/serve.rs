//! `tessera serve`: the node's TAXII 2.1 server, for its partners and its own analysts.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde_json::json;
use server::{Config, Limits};

/// Options of `tessera serve`. Each limit defaults to [`Limits::default`].
#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0: any free port, printed on start).
    #[arg(long, default_value = server::DEFAULT_LISTEN)]
    listen: SocketAddr,
    /// Largest request body in bytes (413 above it).
    #[arg(long)]
    max_content_length: Option<usize>,
    /// Largest page a client may ask for.
    #[arg(long)]
    page_size_max: Option<usize>,
    /// Requests a second each partner may make, on average (429 above it).
    #[arg(long)]
    requests_per_second: Option<f64>,
    /// Requests a partner may make at once after a quiet spell.
    #[arg(long)]
    requests_burst: Option<u32>,
    /// Stored versions one page may examine before it ends early with `more`.
    #[arg(long)]
    examine_max: Option<usize>,
    /// Most ids the release index keeps in memory (about 500 bytes each) to decide partner
    /// pages; a larger store is decided from the store alone. 0 turns the index off.
    #[arg(long)]
    release_index_max: Option<usize>,
    /// Pull from every peer (`tessera peer add`) this often, in the background.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    sync_interval_s: Option<u64>,
    /// Push to every peer that the policy names as a partner (same name) this often, in the
    /// background: what the policy releases to it, into its inbox, signed.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    push_interval_s: Option<u64>,
    /// Serve over TLS with this certificate chain (PEM, leaf first); needs --tls-key.
    #[arg(long, requires = "tls_key")]
    tls_certificate: Option<PathBuf>,
    /// The private key of --tls-certificate (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, requires = "tls_certificate")]
    tls_key: Option<PathBuf>,
    /// Require every client to present a certificate issued by a CA in this PEM file
    /// (mutual TLS, for partner nodes); needs --tls-certificate.
    #[arg(long, requires = "tls_certificate")]
    tls_client_ca: Option<PathBuf>,
}

/// Runs the server until SIGINT or SIGTERM.
pub fn run(dir: &Path, args: ServeArgs, json_output: bool) -> Result<u8, String> {
    if !dir.join(store::STORE_FILE).exists() {
        // `tessera serve` alone starts a node a newcomer can look at: a new node with the
        // demo case, in the default data directory.
        let loaded = start_demo_node(dir)?;
        if !json_output {
            eprintln!(
                "no node in {}: initialised one with the demo case ({loaded} objects); add analysts and partners with `tessera partner add`",
                dir.display()
            );
        }
    }
    let defaults = Limits::default();
    let limits = Limits {
        max_content_length: args
            .max_content_length
            .unwrap_or(defaults.max_content_length),
        page_size_max: args.page_size_max.unwrap_or(defaults.page_size_max),
        requests_per_second: args
            .requests_per_second
            .unwrap_or(defaults.requests_per_second),
        requests_burst: args.requests_burst.unwrap_or(defaults.requests_burst),
        examine_max: args.examine_max.unwrap_or(defaults.examine_max),
        release_index_max: args.release_index_max.unwrap_or(defaults.release_index_max),
        ..defaults
    };
    if limits.page_size_max == 0 || limits.max_content_length == 0 || limits.examine_max == 0 {
        return Err(
            "--page-size-max, --max-content-length and --examine-max must be positive".into(),
        );
    }
    if !limits.requests_per_second.is_finite()
        || limits.requests_per_second <= 0.0
        || limits.requests_burst == 0
    {
        return Err("--requests-per-second and --requests-burst must be positive".into());
    }
    let config = Config {
        data_dir: dir.to_path_buf(),
        listen: args.listen,
        limits,
        title: format!("Tessera node ({})", dir.display()),
        sync_interval_ms: args.sync_interval_s.map(|s| s * 1_000),
        push_interval_ms: args.push_interval_s.map(|s| s * 1_000),
        tls: match (args.tls_certificate, args.tls_key) {
            (Some(certificate), Some(key)) => Some(server::tls::TlsFiles {
                certificate,
                key,
                client_ca: args.tls_client_ca,
            }),
            _ => None,
        },
    };
    server::serve(config, |started| {
        let scheme = if started.tls { "https" } else { "http" };
        let url = format!("{scheme}://{}/taxii2/", started.address);
        if json_output {
            println!(
                "{}",
                json!({
                    "listening": started.address.to_string(),
                    "discovery": url,
                    "partners": started.partners,
                    "tokens": started.tokens,
                    "policy_file": !started.no_policy_file,
                    "tls": started.tls,
                    "client_certificates": started.client_certificates,
                })
            );
        } else {
            println!("listening on {url}");
            if started.client_certificates {
                eprintln!("clients must present a certificate from the --tls-client-ca file");
            }
            if started.no_policy_file {
                eprintln!(
                    "no policy file in {}: nothing is released until `tessera partner add` or an operator writes one",
                    dir.display()
                );
            }
            if started.tokens == 0 {
                eprintln!(
                    "no partner holds a token: `tessera --data-dir {} partner add NAME --role analyst` issues one",
                    dir.display()
                );
            }
        }
        // Scripts and tests wait for this line to know the port.
        let _ = std::io::stdout().flush();
    })
    .map_err(|e| e.to_string())?;
    Ok(crate::EXIT_OK)
}

/// Makes a new node in `dir` with the demo case (what `tessera init --demo` does); returns
/// how many demo objects it loaded. The store is closed again before the server opens it.
fn start_demo_node(dir: &Path) -> Result<usize, String> {
    let store = store::Store::init(dir).map_err(|e| e.to_string())?;
    crate::node::create(&store, dir, "Tessera node")?;
    let loaded = crate::node::load_demo(&store)?;
    server::node::create_key(dir).map_err(|e| e.to_string())?;
    Ok(loaded)
}
