//! A certificate's subject as an RFC 2253 distinguished name (what Kafka's
//! `X500Principal.getName()` gives): RDNs last-first, `,` between them, `+` inside one,
//! well-known attribute types by name, others as dotted OIDs with `#`-hex values.

/// One DER element: tag and contents.
fn element(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = der.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |a, b| (a << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// One DER element: its tag, its contents and the whole element.
type Element<'a> = (u8, &'a [u8], &'a [u8]);

/// The elements of a constructed value's contents.
fn children(mut der: &[u8]) -> Option<Vec<Element<'_>>> {
    let mut out = Vec::new();
    while !der.is_empty() {
        let (tag, body, rest) = element(der)?;
        let whole = &der[..der.len() - rest.len()];
        out.push((tag, body, whole));
        der = rest;
    }
    Some(out)
}

fn oid_string(body: &[u8]) -> String {
    let mut parts = Vec::new();
    let mut value: u64 = 0;
    for b in body {
        value = (value << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if parts.is_empty() {
                let first = value.min(80) / 40;
                parts.push(first);
                parts.push(value - first * 40);
            } else {
                parts.push(value);
            }
            value = 0;
        }
    }
    parts
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

fn attribute_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.6" => "C",
        "2.5.4.9" => "STREET",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        _ => return None,
    })
}

fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (i == 0 && (c == ' ' || c == '#'))
            || (i == last && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The subject DN of the DER certificate `cert` in RFC 2253 form, if it parses.
pub fn subject_rfc2253(cert: &[u8]) -> Option<String> {
    let (_, cert_body, _) = element(cert)?;
    let (_, tbs, _) = element(cert_body)?;
    let fields = children(tbs)?;
    // version [0] is optional; then serial, signature, issuer, validity, subject.
    let skip = usize::from(fields.first()?.0 == 0xa0);
    let subject = fields.get(skip + 4)?;
    let mut rdns = Vec::new();
    for (_, set, _) in children(subject.1)? {
        let mut atvs = Vec::new();
        for (_, atv, _) in children(set)? {
            let parts = children(atv)?;
            let (oid_tag, oid, _) = *parts.first()?;
            let (value_tag, value, whole) = *parts.get(1)?;
            if oid_tag != 0x06 {
                return None;
            }
            let oid = oid_string(oid);
            let text = match value_tag {
                // UTF8String, PrintableString, IA5String, TeletexString
                0x0c | 0x13 | 0x16 | 0x14 => std::str::from_utf8(value).ok().map(escape),
                // BMPString
                0x1e => {
                    let units: Vec<u16> = value
                        .chunks_exact(2)
                        .map(|c| u16::from_be_bytes([c[0], c[1]]))
                        .collect();
                    String::from_utf16(&units).ok().map(|s| escape(&s))
                }
                _ => None,
            };
            atvs.push(match (attribute_name(&oid), text) {
                (Some(name), Some(text)) => format!("{name}={text}"),
                // Unknown types and non-string values: the dotted OID and the value's DER.
                _ => {
                    let hex: String = whole.iter().map(|b| format!("{b:02x}")).collect();
                    format!("{oid}=#{hex}")
                }
            });
        }
        rdns.push(atvs.join("+"));
    }
    rdns.reverse();
    Some(rdns.join(","))
}

#[cfg(test)]
mod tests {
    use rcgen::{CertificateParams, DnType, DnValue, KeyPair};

    fn cert_with(dn: &[(DnType, &str)]) -> Vec<u8> {
        let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        for (t, v) in dn {
            params
                .distinguished_name
                .push(t.clone(), DnValue::Utf8String(v.to_string()));
        }
        let key = KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn subject_is_rfc2253_last_rdn_first() {
        let der = cert_with(&[
            (DnType::CountryName, "DE"),
            (DnType::OrganizationName, "Example, Inc"),
            (DnType::OrganizationalUnitName, "Kafka"),
            (DnType::CommonName, "client-1"),
        ]);
        assert_eq!(
            super::subject_rfc2253(&der).unwrap(),
            "CN=client-1,OU=Kafka,O=Example\\, Inc,C=DE"
        );
    }

    #[test]
    fn unknown_attribute_types_are_oid_and_hex() {
        let der = cert_with(&[
            (DnType::CustomDnType(vec![1, 2, 3, 4]), "x"),
            (DnType::CommonName, " lead"),
        ]);
        assert_eq!(
            super::subject_rfc2253(&der).unwrap(),
            "CN=\\ lead,1.2.3.4=#0c0178"
        );
    }

    #[test]
    fn garbage_is_not_a_subject() {
        assert_eq!(super::subject_rfc2253(&[0x30, 0x82, 0xff]), None);
        assert_eq!(super::subject_rfc2253(&[]), None);
    }
}
