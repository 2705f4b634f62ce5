//! A real handshake in memory: the client certificate's subject reaches the session as an
//! RFC 2253 DN with its chain; a client without one is refused when it is required.

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::ServerName;

use super::*;

struct Files {
    _dir: tempfile::TempDir,
    settings: SslSettings,
    client: Arc<ClientConfig>,
    anonymous: Arc<ClientConfig>,
}

fn pki(auth: ClientAuth) -> Files {
    let dir = tempfile::tempdir().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "unit CA");
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let issue = |cn: &str, sans: Vec<String>| {
        let mut p = CertificateParams::new(sans).unwrap();
        // Issued as O=Sluice, CN=<cn>; RFC 2253 writes the last RDN first.
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name
            .push(DnType::OrganizationName, "Sluice");
        p.distinguished_name.push(DnType::CommonName, cn);
        let key = KeyPair::generate().unwrap();
        let cert = p.signed_by(&key, &ca).unwrap();
        (cert.pem(), key.serialize_pem())
    };
    let (server_cert, server_key) = issue("broker", vec!["localhost".into()]);
    let keystore = dir.path().join("keystore.pem");
    std::fs::write(&keystore, format!("{server_key}{server_cert}")).unwrap();
    let ca_pem = dir.path().join("ca.pem");
    std::fs::write(&ca_pem, ca.pem()).unwrap();
    let (client_cert, client_key) = issue("alice", vec![]);
    let mut roots = RootCertStore::empty();
    roots.add(ca.der().clone()).unwrap();
    let builder = || {
        ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots.clone())
    };
    let client = builder()
        .with_client_auth_cert(
            vec![CertificateDer::from_pem_slice(client_cert.as_bytes()).unwrap()],
            PrivateKeyDer::from_pem_slice(client_key.as_bytes()).unwrap(),
        )
        .unwrap();
    Files {
        settings: SslSettings {
            listener: "SSL".into(),
            keystore: Keystore::File(keystore),
            truststore: Some(Pem::File(ca_pem)),
            client_auth: auth,
        },
        client: Arc::new(client),
        anonymous: Arc::new(builder().with_no_client_auth()),
        _dir: dir,
    }
}

/// Handshakes `client` with `tls`; the server side's client identity, or the server's error.
async fn handshake(
    tls: &ListenerTls,
    client: Arc<ClientConfig>,
) -> Result<Option<TlsClientIdentity>, String> {
    let (a, b) = tokio::io::duplex(64 * 1024);
    let server = tls.acceptor().accept(a);
    let connector = tokio_rustls::TlsConnector::from(client);
    let client = connector.connect(ServerName::try_from("localhost").unwrap(), b);
    let (server, _client) = tokio::join!(server, client);
    let server = server.map_err(|e| e.to_string())?;
    Ok(client_identity(server.get_ref().1))
}

#[tokio::test]
async fn the_client_certificate_subject_reaches_the_session() {
    let f = pki(ClientAuth::Required);
    let tls = ListenerTls::load(f.settings.clone()).unwrap();
    let id = handshake(&tls, f.client.clone()).await.unwrap().unwrap();
    assert_eq!(id.subject_dn, "CN=alice,O=Sluice");
    assert_eq!(id.chain.len(), 1);
    assert!(handshake(&tls, f.anonymous.clone()).await.is_err());
}

#[tokio::test]
async fn requested_client_auth_admits_anonymous_clients() {
    let f = pki(ClientAuth::Requested);
    let tls = ListenerTls::load(f.settings.clone()).unwrap();
    assert_eq!(handshake(&tls, f.anonymous.clone()).await.unwrap(), None);
    assert!(handshake(&tls, f.client.clone()).await.unwrap().is_some());
}

#[test]
fn one_line_inline_pem_is_made_parseable() {
    let pem = "-----BEGIN CERTIFICATE----- QUJD REVG -----END CERTIFICATE-----";
    assert_eq!(
        normalise_inline_pem(pem),
        "-----BEGIN CERTIFICATE-----\nQUJD\nREVG\n-----END CERTIFICATE-----\n"
    );
    assert_eq!(normalise_inline_pem("a\\nb"), "a\nb");
}
