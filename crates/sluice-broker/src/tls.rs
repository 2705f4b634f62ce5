//! TLS on SSL listeners (rustls, no OpenSSL): the server configuration of each listener,
//! swapped atomically when its key, certificate or trust store files change (new connections
//! get the new material, open ones keep theirs), and the inter-broker client configuration
//! built from the same material.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use sluice_kafka_client::ClientTls;
use tokio::sync::watch;

use crate::config::{ClientAuth, Keystore, Pem, SslSettings};
use crate::error::BrokerError;
use crate::metrics::Metrics;

/// How often watched files are looked at (one `stat` per file).
pub const RELOAD_POLL: Duration = Duration::from_secs(1);

/// A TLS client's identity as its certificate gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsClientIdentity {
    /// The certificate's subject DN in RFC 2253 form (`CN=client,O=Example`): Kafka's
    /// principal name before `ssl.principal.mapping.rules`.
    pub subject_dn: String,
    /// The certificate chain presented, leaf first, DER.
    pub chain: Vec<CertificateDer<'static>>,
}

/// The identity of a TLS connection's client, if it presented a certificate.
pub fn client_identity(conn: &rustls::ServerConnection) -> Option<TlsClientIdentity> {
    let chain: Vec<CertificateDer<'static>> = conn
        .peer_certificates()?
        .iter()
        .map(|c| c.clone().into_owned())
        .collect();
    // One reader of certificate subjects in the project: sluice-auth's (x509-parser).
    let subject_dn = sluice_auth::principal::subject_rfc2253(chain.first()?).ok()?;
    Some(TlsClientIdentity { subject_dn, chain })
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// What the files hold, parsed.
struct Material {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    roots: Option<RootCertStore>,
}

/// Inline PEM from a properties file, where it is often one line (Kafka accepts that): `\n`
/// escapes become newlines and every `-----BEGIN …-----`/`-----END …-----` marker and base64
/// word gets a line of its own.
pub fn normalise_inline_pem(text: &str) -> String {
    let text = text.replace("\\n", "\n");
    let mut out = String::with_capacity(text.len() + 64);
    let mut rest = text.as_str();
    while let Some(start) = rest.find("-----") {
        for word in rest[..start].split_whitespace() {
            out.push_str(word);
            out.push('\n');
        }
        let Some(len) = rest[start + 5..].find("-----") else {
            break;
        };
        let end = start + 5 + len + 5;
        out.push_str(&rest[start..end]);
        out.push('\n');
        rest = &rest[end..];
    }
    out.push_str(rest.trim());
    out
}

fn read_pem(pem: &Pem, what: &str) -> Result<Vec<u8>, String> {
    match pem {
        Pem::Inline(text) => Ok(normalise_inline_pem(text).into_bytes()),
        Pem::File(path) => {
            std::fs::read(path).map_err(|e| format!("reading {what} {}: {e}", path.display()))
        }
    }
}

fn read_material(s: &SslSettings) -> Result<Material, String> {
    let (chain_pem, key_pem, origin) = match &s.keystore {
        Keystore::File(path) => {
            let bytes = read_pem(&Pem::File(path.clone()), "ssl.keystore.location")?;
            (bytes.clone(), bytes, path.display().to_string())
        }
        Keystore::Inline { chain, key } => (
            normalise_inline_pem(chain).into_bytes(),
            normalise_inline_pem(key).into_bytes(),
            "ssl.keystore.certificate.chain/ssl.keystore.key".to_string(),
        ),
    };
    let chain = CertificateDer::pem_slice_iter(&chain_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("keystore {origin}: bad certificate PEM: {e}"))?;
    if chain.is_empty() {
        return Err(format!("keystore {origin}: no certificate"));
    }
    if key_pem
        .windows(b"ENCRYPTED PRIVATE KEY".len())
        .any(|w| w == b"ENCRYPTED PRIVATE KEY")
    {
        return Err(format!(
            "keystore {origin}: the private key is encrypted, which is not supported"
        ));
    }
    let key = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|e| format!("keystore {origin}: no usable private key ({e})"))?;
    let roots = match &s.truststore {
        None => None,
        Some(pem) => {
            let bytes = read_pem(pem, "ssl.truststore.location")?;
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(&bytes) {
                let cert = cert.map_err(|e| format!("truststore: bad certificate PEM: {e}"))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("truststore: unusable certificate: {e}"))?;
            }
            if roots.is_empty() {
                return Err("truststore holds no certificate".into());
            }
            Some(roots)
        }
    };
    Ok(Material { chain, key, roots })
}

fn server_config(m: &Material, auth: ClientAuth) -> Result<ServerConfig, String> {
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let builder = match (auth, &m.roots) {
        (ClientAuth::None, _) => builder.with_no_client_auth(),
        (_, None) => return Err("ssl.client.auth needs a truststore".into()),
        (auth, Some(roots)) => {
            let verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots.clone()), provider());
            let verifier = if auth == ClientAuth::Requested {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            builder.with_client_cert_verifier(verifier.build().map_err(|e| e.to_string())?)
        }
    };
    builder
        .with_single_cert(m.chain.clone(), m.key.clone_key())
        .map_err(|e| format!("keystore: certificate and key do not go together: {e}"))
}

/// The inter-broker client side: trusts the trust store, presents the keystore's certificate.
fn client_config(m: &Material) -> Result<Option<ClientTls>, String> {
    let Some(roots) = &m.roots else {
        return Ok(None);
    };
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots.clone())
        .with_client_auth_cert(m.chain.clone(), m.key.clone_key())
        .map_err(|e| format!("keystore as client certificate: {e}"))?;
    Ok(Some(ClientTls::new(Arc::new(config))))
}

type Stamp = Vec<Option<(i64, i64, u64, u64)>>;

fn stamp(files: &[PathBuf]) -> Stamp {
    files
        .iter()
        .map(|f| {
            std::fs::metadata(f)
                .ok()
                .map(|m| (m.mtime(), m.mtime_nsec(), m.len(), m.ino()))
        })
        .collect()
}

/// One SSL listener's TLS material, reloaded when its files change.
pub struct ListenerTls {
    settings: SslSettings,
    server: ArcSwap<ServerConfig>,
    client: ArcSwap<Option<ClientTls>>,
    seen: Mutex<Stamp>,
}

impl std::fmt::Debug for ListenerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListenerTls")
            .field("listener", &self.settings.listener)
            .finish_non_exhaustive()
    }
}

impl ListenerTls {
    /// Loads the material of `settings`; a start-up error names the file and the problem.
    pub fn load(settings: SslSettings) -> Result<Arc<ListenerTls>, BrokerError> {
        let seen = stamp(&settings.files());
        let listener = settings.listener.clone();
        let fail = |e: String| BrokerError::Config(format!("listener {listener}: {e}"));
        let m = read_material(&settings).map_err(fail)?;
        let server = server_config(&m, settings.client_auth).map_err(fail)?;
        let client = client_config(&m).map_err(fail)?;
        Ok(Arc::new(ListenerTls {
            settings,
            server: ArcSwap::from_pointee(server),
            client: ArcSwap::from_pointee(client),
            seen: Mutex::new(seen),
        }))
    }

    /// The acceptor for a new connection: the current material.
    pub fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.server.load_full())
    }

    /// The client side for connections to other brokers' listeners of the same name (the
    /// keystore as client certificate, the trust store as anchors); `None` without a trust
    /// store.
    pub fn client(&self) -> Option<ClientTls> {
        self.client.load().as_ref().clone()
    }

    /// Reloads if any watched file changed since last looked at. `Some(true)`: new material
    /// in use; `Some(false)`: the new files are unusable and the old material stays.
    pub fn reload_if_changed(&self, metrics: &Metrics) -> Option<bool> {
        let now = stamp(&self.settings.files());
        {
            let mut seen = self.seen.lock().expect("poisoned");
            if *seen == now {
                return None;
            }
            *seen = now;
        }
        let listener = &self.settings.listener;
        let built = read_material(&self.settings).and_then(|m| {
            let server = server_config(&m, self.settings.client_auth)?;
            Ok((server, client_config(&m)?))
        });
        match built {
            Ok((server, client)) => {
                self.server.store(Arc::new(server));
                self.client.store(Arc::new(client));
                tracing::info!(%listener, "TLS certificates reloaded; new connections use them");
                metrics.tls_reload(listener, true);
                Some(true)
            }
            Err(error) => {
                tracing::error!(%listener, %error, "TLS files changed but cannot be used; keeping the previous certificates");
                metrics.tls_reload(listener, false);
                Some(false)
            }
        }
    }

    /// Polls the files every [`RELOAD_POLL`] until `stop`, counting reloads in `metrics`.
    pub async fn watch(self: Arc<Self>, metrics: Metrics, mut stop: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(RELOAD_POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    let (me, metrics) = (self.clone(), metrics.clone());
                    let _ = tokio::task::spawn_blocking(move || me.reload_if_changed(&metrics)).await;
                }
                _ = stop.changed() => return,
            }
        }
    }
}

#[cfg(test)]
mod tests;
