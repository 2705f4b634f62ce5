//! Test PKI generated with rcgen: a CA, server keystores (key and chain in one PEM file, as
//! `ssl.keystore.location` takes them) for `localhost`/`127.0.0.1`, and client certificates.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use sluice_kafka_client::ClientTls;

/// A CA whose files live in `dir`.
pub(crate) struct Pki {
    dir: PathBuf,
    ca: CertifiedIssuer<'static, KeyPair>,
    /// The CA certificate's PEM file (`ssl.truststore.location`, `ssl.ca.location`).
    pub ca_pem: PathBuf,
}

/// A client certificate's files.
pub(crate) struct ClientCert {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Pki {
    /// A new CA named `name`, its certificate written to `dir/<name>-ca.pem`.
    pub(crate) fn new(dir: &Path, name: &str) -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, format!("{name} test CA"));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let ca_pem = dir.join(format!("{name}-ca.pem"));
        std::fs::write(&ca_pem, ca.pem()).unwrap();
        Pki {
            dir: dir.to_path_buf(),
            ca,
            ca_pem,
        }
    }

    fn issue(&self, cn: &str, sans: Vec<String>) -> (String, String) {
        self.issue_with(cn, sans, |_| {})
    }

    fn issue_with(
        &self,
        cn: &str,
        sans: Vec<String>,
        tweak: impl FnOnce(&mut CertificateParams),
    ) -> (String, String) {
        let mut params = CertificateParams::new(sans).unwrap();
        tweak(&mut params);
        params.distinguished_name.push(DnType::CommonName, cn);
        params
            .distinguished_name
            .push(DnType::OrganizationName, "Sluice Tests");
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.ca).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    /// A keystore PEM (private key, certificate, CA) for `localhost` and `127.0.0.1`, written
    /// atomically (rename) to `file` in this CA's directory.
    pub(crate) fn keystore(&self, file: &str) -> PathBuf {
        let (cert, key) = self.issue("broker", vec!["localhost".into(), "127.0.0.1".into()]);
        let path = self.dir.join(file);
        write_atomically(&path, &format!("{key}{cert}{}", self.ca.pem()));
        path
    }

    /// A client certificate with subject `CN=<cn>,O=Sluice Tests`.
    pub(crate) fn client(&self, cn: &str) -> ClientCert {
        let (cert, key) = self.issue(cn, vec![]);
        let c = ClientCert {
            cert: self.dir.join(format!("{cn}.crt")),
            key: self.dir.join(format!("{cn}.key")),
        };
        std::fs::write(&c.cert, cert).unwrap();
        std::fs::write(&c.key, key).unwrap();
        c
    }

    /// A client certificate like [`client`](Self::client)'s that expired in 2020.
    pub(crate) fn expired_client(&self, cn: &str) -> ClientCert {
        let (cert, key) = self.issue_with(cn, vec![], |p| {
            p.not_before = rcgen::date_time_ymd(2019, 1, 1);
            p.not_after = rcgen::date_time_ymd(2020, 1, 1);
        });
        let c = ClientCert {
            cert: self.dir.join(format!("{cn}-expired.crt")),
            key: self.dir.join(format!("{cn}-expired.key")),
        };
        std::fs::write(&c.cert, cert).unwrap();
        std::fs::write(&c.key, key).unwrap();
        c
    }

    /// The Kafka client's TLS trusting this CA, with `cert` for mutual TLS.
    pub(crate) fn client_tls(&self, cert: Option<&ClientCert>) -> ClientTls {
        let ca = std::fs::read(&self.ca_pem).unwrap();
        let identity = cert.map(|c| {
            (
                std::fs::read(&c.cert).unwrap(),
                std::fs::read(&c.key).unwrap(),
            )
        });
        ClientTls::from_pem(
            &ca,
            identity.as_ref().map(|(c, k)| (c.as_slice(), k.as_slice())),
        )
        .unwrap()
    }
}

/// Replaces `path` with `text` in one rename, as secret mounts and cert managers do.
pub(crate) fn write_atomically(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}
