//! Request signatures for the broker's admin HTTP port.
//!
//! Every node of a cluster shares one secret. A caller signs
//! `method`, `path`, the SHA-256 of the body, a millisecond timestamp and its
//! node id with HMAC-SHA256 and sends the result as one header value:
//!
//! ```text
//! SLUICE-HMAC-SHA256 node=3,ts=1733541600000,sig=<64 hex digits>
//! ```
//!
//! The receiver recomputes the signature over what it received, compares
//! in constant time and refuses timestamps more than the allowed skew away
//! from its own clock. Within that window a captured request can be
//! replayed to the same method and path with the same body; callers that
//! need more keep a cache of seen signatures for the window.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::crypto::hmac_sha256;

/// The header that carries the signature.
pub const HEADER_NAME: &str = "x-sluice-admin-signature";

/// The scheme word that starts the header value.
pub const SCHEME: &str = "SLUICE-HMAC-SHA256";

/// The default allowed clock difference: 60 s.
pub const DEFAULT_MAX_SKEW_MS: u64 = 60_000;

/// Why a signature was refused. `Display` is safe to send back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminTokenError {
    /// The header value is not `SLUICE-HMAC-SHA256 node=..,ts=..,sig=..`.
    #[error("malformed admin signature header")]
    Malformed,
    /// The timestamp is too far from the receiver's clock.
    #[error("admin signature timestamp is outside the allowed clock skew")]
    ClockSkew,
    /// The signature does not match (wrong secret, or a changed request).
    #[error("invalid admin signature")]
    BadSignature,
}

/// What a valid signature says about the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// The signing node's id.
    pub node_id: i32,
    /// When it signed (Unix ms).
    pub timestamp_ms: u64,
}

/// SHA-256 of a request body, for [`sign`] and [`verify`].
pub fn body_sha256(body: &[u8]) -> [u8; 32] {
    Sha256::digest(body).into()
}

fn signature(
    secret: &[u8],
    method: &str,
    path: &str,
    body_sha256: &[u8; 32],
    timestamp_ms: u64,
    node_id: i32,
) -> [u8; 32] {
    let method = method.to_ascii_uppercase();
    let ts = timestamp_ms.to_string();
    let node = node_id.to_string();
    hmac_sha256(
        secret,
        &[
            b"sluice-admin-v1\n",
            method.as_bytes(),
            b"\n",
            path.as_bytes(),
            b"\n",
            body_sha256,
            b"\n",
            ts.as_bytes(),
            b"\n",
            node.as_bytes(),
        ],
    )
}

/// The header value signing this request. `path` is the request target as
/// sent (path and query); the method is compared case-insensitively.
pub fn sign(
    secret: &[u8],
    method: &str,
    path: &str,
    body_sha256: &[u8; 32],
    timestamp_ms: u64,
    node_id: i32,
) -> String {
    let sig = signature(secret, method, path, body_sha256, timestamp_ms, node_id);
    let hex: String = sig.iter().map(|b| format!("{b:02x}")).collect();
    format!("{SCHEME} node={node_id},ts={timestamp_ms},sig={hex}")
}

/// Checks a header value against the request received at `now_ms`.
pub fn verify(
    secret: &[u8],
    method: &str,
    path: &str,
    body_sha256: &[u8; 32],
    header_value: &str,
    now_ms: u64,
    max_skew_ms: u64,
) -> Result<Verified, AdminTokenError> {
    let (node_id, timestamp_ms, sig) = parse(header_value).ok_or(AdminTokenError::Malformed)?;
    if now_ms.abs_diff(timestamp_ms) > max_skew_ms {
        return Err(AdminTokenError::ClockSkew);
    }
    let expected = signature(secret, method, path, body_sha256, timestamp_ms, node_id);
    if bool::from(expected.ct_eq(&sig)) {
        Ok(Verified {
            node_id,
            timestamp_ms,
        })
    } else {
        Err(AdminTokenError::BadSignature)
    }
}

fn parse(value: &str) -> Option<(i32, u64, [u8; 32])> {
    let params = value.strip_prefix(SCHEME)?.strip_prefix(' ')?;
    let mut fields = params.split(',');
    let node = fields.next()?.strip_prefix("node=")?;
    let ts = fields.next()?.strip_prefix("ts=")?;
    let hex = fields.next()?.strip_prefix("sig=")?;
    if fields.next().is_some() || hex.len() != 64 {
        return None;
    }
    // Digits only: `parse` would also take a leading `+`.
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(ts) || !digits(node.strip_prefix('-').unwrap_or(node)) {
        return None;
    }
    let mut sig = [0u8; 32];
    for (i, out) in sig.iter_mut().enumerate() {
        *out = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some((node.parse().ok()?, ts.parse().ok()?, sig))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"cluster secret";
    const NOW: u64 = 1_733_541_600_000;

    fn header() -> String {
        sign(
            SECRET,
            "POST",
            "/admin/drain?x=1",
            &body_sha256(b"{}"),
            NOW,
            3,
        )
    }

    fn check(value: &str, now: u64) -> Result<Verified, AdminTokenError> {
        verify(
            SECRET,
            "POST",
            "/admin/drain?x=1",
            &body_sha256(b"{}"),
            value,
            now,
            DEFAULT_MAX_SKEW_MS,
        )
    }

    #[test]
    fn round_trip() {
        let h = header();
        assert!(h.starts_with("SLUICE-HMAC-SHA256 node=3,ts=1733541600000,sig="));
        assert_eq!(
            h.len(),
            "SLUICE-HMAC-SHA256 node=3,ts=1733541600000,sig=".len() + 64
        );
        assert_eq!(
            check(&h, NOW),
            Ok(Verified {
                node_id: 3,
                timestamp_ms: NOW
            })
        );
        // The method is case-insensitive.
        let v = verify(
            SECRET,
            "post",
            "/admin/drain?x=1",
            &body_sha256(b"{}"),
            &h,
            NOW,
            0,
        );
        assert!(v.is_ok());
        // Negative node ids (e.g. a controller-side caller) are fine.
        let h = sign(SECRET, "GET", "/", &body_sha256(b""), NOW, -1);
        assert_eq!(
            verify(SECRET, "GET", "/", &body_sha256(b""), &h, NOW, 0)
                .unwrap()
                .node_id,
            -1
        );
    }

    #[test]
    fn skew_is_bounded_both_ways() {
        let h = header();
        assert!(check(&h, NOW + 60_000).is_ok());
        assert!(check(&h, NOW - 60_000).is_ok());
        assert_eq!(check(&h, NOW + 60_001), Err(AdminTokenError::ClockSkew));
        assert_eq!(check(&h, NOW - 60_001), Err(AdminTokenError::ClockSkew));
        assert_eq!(check(&h, 0), Err(AdminTokenError::ClockSkew));
    }

    #[test]
    fn any_change_breaks_the_signature() {
        let h = header();
        let body = body_sha256(b"{}");
        let bad = |secret: &[u8], method, path, body: &[u8; 32]| {
            verify(secret, method, path, body, &h, NOW, DEFAULT_MAX_SKEW_MS)
        };
        assert_eq!(
            bad(b"other", "POST", "/admin/drain?x=1", &body),
            Err(AdminTokenError::BadSignature)
        );
        assert_eq!(
            bad(SECRET, "PUT", "/admin/drain?x=1", &body),
            Err(AdminTokenError::BadSignature)
        );
        assert_eq!(
            bad(SECRET, "POST", "/admin/drain?x=2", &body),
            Err(AdminTokenError::BadSignature)
        );
        assert_eq!(
            bad(SECRET, "POST", "/admin/drain?x=1", &body_sha256(b"{ }")),
            Err(AdminTokenError::BadSignature)
        );
        // Claiming another node or time with the same signature.
        let forged = h.replace("node=3", "node=4");
        assert_eq!(check(&forged, NOW), Err(AdminTokenError::BadSignature));
        let forged = h.replace("ts=1733541600000", "ts=1733541600001");
        assert_eq!(check(&forged, NOW), Err(AdminTokenError::BadSignature));
        let mut flipped = h.clone();
        let last = flipped.pop().unwrap();
        flipped.push(if last == '0' { '1' } else { '0' });
        assert_eq!(check(&flipped, NOW), Err(AdminTokenError::BadSignature));
    }

    #[test]
    fn malformed_headers() {
        let h = header();
        let sig = h.rsplit_once("sig=").unwrap().1.to_owned();
        for bad in [
            String::new(),
            "Bearer abc".into(),
            h.replace("SLUICE-HMAC-SHA256 ", "SLUICE-HMAC-SHA256"),
            h.replace("node=3", "node=+3"),
            h.replace("node=3", "node="),
            h.replace("ts=", "ts=+"),
            h.replace("node=3,ts", "ts"),
            format!("{h},extra=1"),
            h.replace(&sig, &sig[..62]),
            h.replace(&sig, &format!("{}zz", &sig[..62])),
            h.replace(&sig, &format!("{}é", &sig[..62])),
            h.replace("node=3", "node=99999999999"),
        ] {
            assert_eq!(check(&bad, NOW), Err(AdminTokenError::Malformed), "{bad}");
        }
    }

    #[test]
    fn errors_do_not_echo_input() {
        for e in [
            AdminTokenError::Malformed,
            AdminTokenError::ClockSkew,
            AdminTokenError::BadSignature,
        ] {
            assert!(!e.to_string().contains("secret"));
        }
    }
}
