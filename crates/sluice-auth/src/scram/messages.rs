//! Parsing and formatting of SCRAM messages (RFC 5802 §7), byte-exact.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use super::ScramError;

/// The longest SCRAM message accepted (Kafka clients send a few hundred bytes).
const MAX_MESSAGE_LEN: usize = 8 * 1024;

/// A parsed client-first message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClientFirst {
    /// `n,,` or `y,,` or `n,a=...,`: echoed base64 in client-final's `c=`.
    pub(crate) gs2_header: String,
    /// Everything after the GS2 header: part of the AuthMessage.
    pub(crate) bare: String,
    /// The user name, unescaped.
    pub(crate) username: String,
    /// The authorization id, unescaped, if one was given.
    pub(crate) authzid: Option<String>,
    /// The client's nonce.
    pub(crate) nonce: String,
    /// Whether `tokenauth=true` was sent.
    pub(crate) token_auth: bool,
}

/// A parsed client-final message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClientFinal {
    /// The decoded `c=` attribute.
    pub(crate) channel_binding: Vec<u8>,
    /// The combined nonce.
    pub(crate) nonce: String,
    /// The message up to (not including) `,p=`: part of the AuthMessage.
    pub(crate) without_proof: String,
    /// The decoded proof.
    pub(crate) proof: Vec<u8>,
}

fn as_text(msg: &[u8]) -> Result<&str, ScramError> {
    if msg.len() > MAX_MESSAGE_LEN {
        return Err(ScramError::Malformed("message too long"));
    }
    let text = std::str::from_utf8(msg).map_err(|_| ScramError::Malformed("not UTF-8"))?;
    if text.contains('\0') {
        return Err(ScramError::Malformed("NUL character"));
    }
    Ok(text)
}

/// Unescapes a `saslname` (`=2C` → `,`, `=3D` → `=`); any other `=` or a
/// `,` is invalid, as is an empty name.
pub(crate) fn unescape_saslname(name: &str) -> Result<String, ScramError> {
    if name.is_empty() {
        return Err(ScramError::Malformed("empty user name"));
    }
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(pos) = rest.find(['=', ',']) {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        if tail.starts_with("=2C") {
            out.push(',');
        } else if tail.starts_with("=3D") {
            out.push('=');
        } else {
            return Err(ScramError::Malformed("invalid escape in user name"));
        }
        rest = &tail[3..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Escapes a user name as a `saslname` (`,` → `=2C`, `=` → `=3D`).
pub(crate) fn escape_saslname(name: &str) -> String {
    name.replace('=', "=3D").replace(',', "=2C")
}

/// Whether `nonce` is a valid SCRAM nonce: non-empty printable ASCII, no comma.
fn valid_nonce(nonce: &str) -> bool {
    !nonce.is_empty()
        && nonce
            .bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && b != b',')
}

/// Parses a client-first message.
pub(crate) fn parse_client_first(msg: &[u8]) -> Result<ClientFirst, ScramError> {
    let text = as_text(msg)?;
    // gs2-cbind-flag
    let (flag, rest) = text
        .split_once(',')
        .ok_or(ScramError::Malformed("missing GS2 header"))?;
    match flag {
        "n" | "y" => {}
        f if f.starts_with("p=") => return Err(ScramError::ChannelBindingNotSupported),
        _ => return Err(ScramError::Malformed("invalid GS2 channel binding flag")),
    }
    // [authzid]
    let (authz, bare) = rest
        .split_once(',')
        .ok_or(ScramError::Malformed("missing GS2 header"))?;
    let authzid = if authz.is_empty() {
        None
    } else if let Some(a) = authz.strip_prefix("a=") {
        Some(unescape_saslname(a)?)
    } else {
        return Err(ScramError::Malformed("invalid GS2 authorization id"));
    };
    let gs2_header = text[..text.len() - bare.len()].to_owned();

    let mut attrs = bare.split(',');
    let first = attrs.next().unwrap_or_default();
    if first.starts_with("m=") {
        return Err(ScramError::Malformed(
            "mandatory extensions are not supported",
        ));
    }
    let username = first
        .strip_prefix("n=")
        .ok_or(ScramError::Malformed("expected n= (user name)"))
        .and_then(unescape_saslname)?;
    let nonce = attrs
        .next()
        .and_then(|a| a.strip_prefix("r="))
        .ok_or(ScramError::Malformed("expected r= (nonce)"))?;
    if !valid_nonce(nonce) {
        return Err(ScramError::Malformed("invalid nonce"));
    }
    let mut token_auth = false;
    for ext in attrs {
        let (key, value) = ext
            .split_once('=')
            .ok_or(ScramError::Malformed("invalid extension"))?;
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ScramError::Malformed("invalid extension"));
        }
        if key != "tokenauth" {
            return Err(ScramError::UnsupportedExtension);
        }
        // Kafka reads it with Boolean.parseBoolean.
        token_auth = value.eq_ignore_ascii_case("true");
    }
    Ok(ClientFirst {
        gs2_header,
        bare: bare.to_owned(),
        username,
        authzid,
        nonce: nonce.to_owned(),
        token_auth,
    })
}

/// Formats server-first: `r=<nonce>,s=<salt>,i=<iterations>`.
pub(crate) fn format_server_first(nonce: &str, salt: &[u8], iterations: u32) -> String {
    format!("r={nonce},s={},i={iterations}", B64.encode(salt))
}

/// Parses a client-final message.
pub(crate) fn parse_client_final(msg: &[u8]) -> Result<ClientFinal, ScramError> {
    let text = as_text(msg)?;
    let (without_proof, proof) = text
        .rsplit_once(",p=")
        .ok_or(ScramError::Malformed("expected p= (proof)"))?;
    let proof = B64
        .decode(proof)
        .map_err(|_| ScramError::Malformed("proof is not base64"))?;
    let mut attrs = without_proof.split(',');
    let channel_binding = attrs
        .next()
        .and_then(|a| a.strip_prefix("c="))
        .ok_or(ScramError::Malformed("expected c= (channel binding)"))?;
    let channel_binding = B64
        .decode(channel_binding)
        .map_err(|_| ScramError::Malformed("channel binding is not base64"))?;
    let nonce = attrs
        .next()
        .and_then(|a| a.strip_prefix("r="))
        .ok_or(ScramError::Malformed("expected r= (nonce)"))?;
    if !valid_nonce(nonce) {
        return Err(ScramError::Malformed("invalid nonce"));
    }
    // Extensions may follow the nonce (RFC 5802 §7); none are defined.
    for ext in attrs {
        if ext.split_once('=').is_none_or(|(k, _)| k.is_empty()) {
            return Err(ScramError::Malformed("invalid extension"));
        }
    }
    Ok(ClientFinal {
        channel_binding,
        nonce: nonce.to_owned(),
        without_proof: without_proof.to_owned(),
        proof,
    })
}

/// Formats server-final: `v=<server signature>`.
pub(crate) fn format_server_final(signature: &[u8]) -> String {
    format!("v={}", B64.encode(signature))
}
