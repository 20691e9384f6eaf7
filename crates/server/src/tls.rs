//! TLS for `tessera serve`, and mutual TLS for partner nodes.
//!
//! Agencies reach each other over networks they do not control: a bearer token and a signed
//! page protect who may read and what was sent, but not what an eavesdropper learns from the
//! bytes themselves. With a certificate and key the server speaks only TLS; with a client CA
//! as well it also refuses every connection whose client certificate that CA did not sign
//! (the partner still presents its token: the certificate proves the machine, the token the
//! partner).
//!
//! Handshakes run in their own tasks, at most [`HANDSHAKES_MAX`] at once and each within
//! [`HANDSHAKE_TIMEOUT_MS`], so a client that opens a connection and says nothing holds up
//! nobody else.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// Handshakes in progress (or finished and not yet taken by the server) at once; further
/// connections wait in the kernel's backlog.
pub const HANDSHAKES_MAX: usize = 256;
/// How long a client may take to finish its handshake.
pub const HANDSHAKE_TIMEOUT_MS: u64 = 10_000;
/// Finished handshakes waiting for the HTTP server to take them.
const READY_MAX: usize = 64;
/// Certificates in one PEM file (a chain is a handful; more is a mistake).
const CERTIFICATES_MAX: usize = 64;
/// Largest PEM file read, in bytes.
const PEM_BYTES_MAX: u64 = 1 << 20;

/// Where the server's TLS material lives (PEM files).
#[derive(Debug, Clone, PartialEq)]
pub struct TlsFiles {
    /// The server's certificate chain, leaf first.
    pub certificate: PathBuf,
    /// The private key of the leaf certificate (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// When set, every client must present a certificate issued by one of these CAs.
    pub client_ca: Option<PathBuf>,
}

/// Why TLS could not be set up; names the file and what is wrong with it.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path} is larger than {PEM_BYTES_MAX} bytes; is it really a PEM file?")]
    TooLarge { path: PathBuf },
    #[error("{path} is not a PEM file of certificates: {detail}")]
    BadCertificate { path: PathBuf, detail: String },
    #[error("{path} holds no PEM private key (PKCS#8, PKCS#1 or SEC1): {detail}")]
    BadKey { path: PathBuf, detail: String },
    #[error("the certificate and key cannot serve TLS: {0}")]
    Config(String),
    #[error("the client CA file {path} cannot verify clients: {detail}")]
    ClientCa { path: PathBuf, detail: String },
}

fn read_pem(path: &Path) -> Result<Vec<u8>, TlsError> {
    let io = |source| TlsError::Io {
        path: path.to_path_buf(),
        source,
    };
    let length = std::fs::metadata(path).map_err(io)?.len();
    if length > PEM_BYTES_MAX {
        return Err(TlsError::TooLarge {
            path: path.to_path_buf(),
        });
    }
    std::fs::read(path).map_err(io)
}

/// Every certificate of a PEM text, in order; at least one, at most [`CERTIFICATES_MAX`].
/// (The sync client's pinned CA and client chain are read by this too.)
pub fn pem_certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let mut out = Vec::new();
    for item in CertificateDer::pem_slice_iter(pem) {
        let certificate = item.map_err(|e| e.to_string())?;
        if out.len() == CERTIFICATES_MAX {
            return Err(format!("more than {CERTIFICATES_MAX} certificates"));
        }
        out.push(certificate);
    }
    if out.is_empty() {
        return Err("no PEM certificate (-----BEGIN CERTIFICATE-----) in it".into());
    }
    Ok(out)
}

/// Reads every certificate of a PEM file, in order.
pub fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    pem_certificates(&read_pem(path)?).map_err(|detail| TlsError::BadCertificate {
        path: path.to_path_buf(),
        detail,
    })
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = read_pem(path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| TlsError::BadKey {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    // One crypto backend for the whole binary (ring, as the sync client's), chosen here
    // rather than left to a process-wide default that another crate could set differently.
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Builds the server's TLS configuration from its files, checking that they fit together.
pub fn server_config(files: &TlsFiles) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let chain = certificates(&files.certificate)?;
    let key = private_key(&files.key)?;
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?;
    let builder = match &files.client_ca {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let mut roots = rustls::RootCertStore::empty();
            for certificate in certificates(path)? {
                roots.add(certificate).map_err(|e| TlsError::ClientCa {
                    path: path.clone(),
                    detail: e.to_string(),
                })?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider(),
            )
            .build()
            .map_err(|e| TlsError::ClientCa {
                path: path.clone(),
                detail: e.to_string(),
            })?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// What identifies a certificate in a partner's binding and in a handshake alike: the SHA-256
/// of its DER.
pub fn certificate_sha256(der: &[u8]) -> [u8; 32] {
    Sha256::digest(der).into()
}

/// The client certificate a connection presented in its handshake, as the SHA-256 of its DER;
/// `None` on plain HTTP, or when the client presented none. axum hands it to every request of
/// the connection (`ConnectInfo`), and the gate compares it with the partner's binding
/// ([`crate::partners::bind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientCertificate(pub Option<[u8; 32]>);

impl Connected<IncomingStream<'_, TlsListener>> for ClientCertificate {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> Self {
        let (_, connection) = stream.io().get_ref();
        ClientCertificate(
            connection
                .peer_certificates()
                .and_then(|chain| chain.first())
                .map(|leaf| certificate_sha256(leaf.as_ref())),
        )
    }
}

impl Connected<IncomingStream<'_, TcpListener>> for ClientCertificate {
    fn connect_info(_: IncomingStream<'_, TcpListener>) -> Self {
        ClientCertificate(None)
    }
}

/// A listener that hands the HTTP server only connections that finished a TLS handshake.
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Starts accepting on `listener`; must be called inside the runtime.
    pub fn new(listener: TcpListener, config: Arc<rustls::ServerConfig>) -> io::Result<Self> {
        let local = listener.local_addr()?;
        let (sender, ready) = mpsc::channel(READY_MAX);
        tokio::spawn(accept_loop(listener, TlsAcceptor::from(config), sender));
        Ok(TlsListener { ready, local })
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    ready: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    let handshakes = Arc::new(Semaphore::new(HANDSHAKES_MAX));
    loop {
        let Ok(permit) = Arc::clone(&handshakes).acquire_owned().await else {
            return;
        };
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait rather than spin.
                crate::log(&format!("tls: accept failed: {e}"));
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let ready = ready.clone();
        tokio::spawn(async move {
            let handshake = tokio::time::timeout(
                Duration::from_millis(HANDSHAKE_TIMEOUT_MS),
                acceptor.accept(stream),
            )
            .await;
            match handshake {
                Ok(Ok(tls)) => {
                    // The permit is held until the server takes the connection, so finished
                    // handshakes waiting for it count against the bound too.
                    let _ = ready.send((tls, peer)).await;
                }
                Ok(Err(e)) => crate::log(&format!("tls: handshake with {peer} failed: {e}")),
                Err(_) => crate::log(&format!(
                    "tls: {peer} did not finish its handshake within {HANDSHAKE_TIMEOUT_MS} ms"
                )),
            }
            drop(permit);
        });
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(accepted) => accepted,
            // The accept loop ends only with the runtime; wait for the shutdown with it.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}
