//! The subject of a DER certificate as an RFC 2253 string, the way Java's
//! `X500Principal.getName()` prints it (what Kafka's principal mapping sees).
//!
//! * RDNs in reverse DER order (most specific first): `CN=broker-1,OU=Sluice,O=Example`;
//!   the values of a multi-valued RDN joined by `+`, in DER order.
//! * Keywords only for CN, C, L, ST, O, OU, STREET, DC and UID; any other
//!   attribute is its dotted OID with `#` and the hex of the value's DER.
//! * String values escape `, = + < > # ; " \` with a backslash, NUL as `\00`,
//!   and leading or trailing spaces; other characters, non-ASCII included,
//!   are kept as they are.

use x509_parser::der_parser::asn1_rs::{Any, Class, Tag};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::x509::AttributeTypeAndValue;

/// A certificate that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid X.509 certificate: {0}")]
pub struct CertificateError(String);

/// The RFC 2253 subject of a DER-encoded X.509 certificate.
pub fn subject_rfc2253(der: &[u8]) -> Result<String, CertificateError> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| CertificateError(e.to_string()))?;
    let rdns: Vec<String> = cert
        .subject()
        .iter()
        .map(|rdn| rdn.iter().map(ava_rfc2253).collect::<Vec<_>>().join("+"))
        .collect();
    Ok(rdns.into_iter().rev().collect::<Vec<_>>().join(","))
}

fn keyword(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "STREET",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        _ => return None,
    })
}

fn ava_rfc2253(ava: &AttributeTypeAndValue<'_>) -> String {
    let oid = ava.attr_type().to_id_string();
    let value = ava.attr_value();
    match keyword(&oid) {
        Some(kw) if is_string(value) => {
            let text = String::from_utf8_lossy(value.data);
            format!("{kw}={}", escape_value(&text))
        }
        kw => {
            let hex: String = der_of(value).iter().map(|b| format!("{b:02x}")).collect();
            format!("{}=#{hex}", kw.map_or(oid.as_str(), |k| k))
        }
    }
}

/// Java's `isDerString(value, false)`.
fn is_string(value: &Any<'_>) -> bool {
    value.class() == Class::Universal
        && [
            Tag::PrintableString,
            Tag::T61String,
            Tag::Ia5String,
            Tag::GeneralString,
            Tag::Utf8String,
            Tag::BmpString,
            Tag::UniversalString,
        ]
        .contains(&value.tag())
}

/// Re-encodes a value as DER (identifier, definite length, contents).
fn der_of(value: &Any<'_>) -> Vec<u8> {
    let data = value.data;
    let class = value.class() as u8;
    let constructed = u8::from(value.header.is_constructed());
    let tag = value.tag().0;
    let mut out = Vec::with_capacity(data.len() + 8);
    if tag < 31 {
        out.push((class << 6) | (constructed << 5) | tag as u8);
    } else {
        out.push((class << 6) | (constructed << 5) | 0x1f);
        let mut groups = Vec::new();
        let mut t = tag;
        loop {
            groups.push((t & 0x7f) as u8);
            t >>= 7;
            if t == 0 {
                break;
            }
        }
        for (i, g) in groups.iter().enumerate().rev() {
            out.push(if i > 0 { g | 0x80 } else { *g });
        }
    }
    let len = data.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend_from_slice(&bytes);
    }
    out.extend_from_slice(data);
    out
}

/// Java's escaping of an RFC 2253 string value.
pub(crate) fn escape_value(text: &str) -> String {
    const ESCAPEES: &str = ",=+<>#;\"\\";
    let mut escaped: Vec<char> = Vec::with_capacity(text.len());
    for c in text.chars() {
        if ESCAPEES.contains(c) {
            escaped.push('\\');
            escaped.push(c);
        } else if c == '\0' {
            escaped.extend(['\\', '0', '0']);
        } else {
            escaped.push(c);
        }
    }
    let blank = |c: &char| *c == ' ' || *c == '\r';
    let lead = escaped.iter().take_while(|c| blank(c)).count();
    let trail = escaped.len() - escaped.iter().rev().take_while(|c| blank(c)).count();
    let mut out = String::with_capacity(escaped.len() + 4);
    for (i, c) in escaped.into_iter().enumerate() {
        if i < lead || i >= trail {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
