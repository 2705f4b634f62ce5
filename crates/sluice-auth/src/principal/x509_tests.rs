//! The RFC 2253 subject of certificates made by rcgen.

use rcgen::{CertificateParams, DnType, DnValue, KeyPair};

use super::x509::escape_value;
use super::{subject_rfc2253, SslPrincipalMapper};

fn cert_with(dn: &[(DnType, DnValue)]) -> Vec<u8> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    for (t, v) in dn {
        params.distinguished_name.push(t.clone(), v.clone());
    }
    let key = KeyPair::generate().unwrap();
    params.self_signed(&key).unwrap().der().to_vec()
}

fn utf8(s: &str) -> DnValue {
    DnValue::Utf8String(s.into())
}

#[test]
fn most_specific_rdn_first() {
    // DER order: O, OU, CN (as `openssl req -subj /O=Example/OU=Sluice/CN=broker-1`).
    let der = cert_with(&[
        (DnType::OrganizationName, utf8("Example")),
        (DnType::OrganizationalUnitName, utf8("Sluice")),
        (DnType::CommonName, utf8("broker-1")),
    ]);
    assert_eq!(
        subject_rfc2253(&der).unwrap(),
        "CN=broker-1,OU=Sluice,O=Example"
    );
    // Why x509-parser's own Display is not used: it prints DER order, ", "-separated.
    use x509_parser::prelude::FromDer;
    let (_, cert) = x509_parser::certificate::X509Certificate::from_der(&der).unwrap();
    assert_eq!(
        cert.subject().to_string(),
        "O=Example, OU=Sluice, CN=broker-1"
    );
}

#[test]
fn all_keywords_and_printable_strings() {
    let der = cert_with(&[
        (
            DnType::CountryName,
            DnValue::PrintableString("US".try_into().unwrap()),
        ),
        (DnType::StateOrProvinceName, utf8("MD")),
        (DnType::LocalityName, utf8("Fulton")),
        (DnType::OrganizationName, utf8("mycp")),
        (DnType::CustomDnType(vec![2, 5, 4, 9]), utf8("Main St")),
        (
            DnType::CustomDnType(vec![0, 9, 2342, 19200300, 100, 1, 25]),
            DnValue::Ia5String("com".try_into().unwrap()),
        ),
        (
            DnType::CustomDnType(vec![0, 9, 2342, 19200300, 100, 1, 1]),
            utf8("jdoe"),
        ),
        (DnType::CommonName, utf8("Duke")),
    ]);
    assert_eq!(
        subject_rfc2253(&der).unwrap(),
        "CN=Duke,UID=jdoe,DC=com,STREET=Main St,O=mycp,L=Fulton,ST=MD,C=US"
    );
}

#[test]
fn other_attributes_are_hex_der() {
    // emailAddress (1.2.840.113549.1.9.1) as IA5String "a@b": Java prints the OID and #hex.
    let der = cert_with(&[
        (DnType::CommonName, utf8("x")),
        (
            DnType::CustomDnType(vec![1, 2, 840, 113549, 1, 9, 1]),
            DnValue::Ia5String("a@b".try_into().unwrap()),
        ),
    ]);
    assert_eq!(
        subject_rfc2253(&der).unwrap(),
        "1.2.840.113549.1.9.1=#1603614062,CN=x"
    );
}

#[test]
fn special_characters_are_escaped() {
    let der = cert_with(&[
        (DnType::OrganizationName, utf8("Sue, Grabit + Runn")),
        (DnType::CommonName, utf8(" #a=b<c>;\"\\ ")),
    ]);
    assert_eq!(
        subject_rfc2253(&der).unwrap(),
        r#"CN=\ \#a\=b\<c\>\;\"\\\ ,O=Sue\, Grabit \+ Runn"#
    );
    assert_eq!(escape_value("a\0b"), r"a\00b");
    assert_eq!(escape_value("  x  "), r"\ \ x\ \ ");
    assert_eq!(escape_value("Jürgen"), "Jürgen");
}

#[test]
fn subject_feeds_the_mapper() {
    let der = cert_with(&[
        (DnType::OrganizationName, utf8("Example")),
        (DnType::CommonName, utf8("Client-7")),
    ]);
    let mapper =
        SslPrincipalMapper::from_rules("RULE:^CN=([^,]*),O=Example$/$1/L,DEFAULT").unwrap();
    assert_eq!(
        mapper.name_for(&subject_rfc2253(&der).unwrap()).unwrap(),
        "client-7"
    );
}

#[test]
fn garbage_is_an_error() {
    assert!(subject_rfc2253(b"not a certificate").is_err());
    assert!(subject_rfc2253(&[]).is_err());
}
