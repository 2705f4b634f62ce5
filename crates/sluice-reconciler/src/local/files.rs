//! What the local runtime keeps on disk beside each broker and cluster: `broker.json` (the
//! broker's ports and what it was started with), `quorum.json` (the metadata quorum's voters,
//! fixed at the cluster's first start) and `admin.secret` (the cluster's admin-port secret).

use std::io::{Read as _, Write as _};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Bytes of a generated admin secret (the broker's minimum).
const ADMIN_SECRET_BYTES: usize = 32;

/// The cluster's admin secret file `<cluster dir>/admin.secret`: 32 bytes from the OS's random
/// source, written once, mode 0600 (a broker refuses a file others may read), and then kept
/// for the cluster's life, so every broker, restarted or added, gets the same one.
pub(super) fn ensure_admin_secret(cluster_dir: &Path) -> std::io::Result<PathBuf> {
    let path = cluster_dir.join("admin.secret");
    match std::fs::metadata(&path) {
        Ok(meta) => {
            if meta.permissions().mode() & 0o077 != 0 {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
            }
            return Ok(path);
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut secret = [0u8; ADMIN_SECRET_BYTES];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut secret)?;
    std::fs::create_dir_all(cluster_dir)?;
    let tmp = cluster_dir.join("admin.secret.tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(&secret)?;
    f.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

/// What `broker.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct BrokerMeta {
    pub(super) broker_id: u32,
    pub(super) port: u16,
    pub(super) admin_port: u16,
    pub(super) fingerprint: String,
    pub(super) kafka_version: String,
    pub(super) storage_gib: u32,
    /// When the process was last started, ms since the epoch (for the start-up grace).
    pub(super) started_at_ms: i64,
}

/// What `quorum.json` holds: the cluster's metadata quorum voters, fixed at its first start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Quorum {
    pub(super) voters: Vec<Voter>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Voter {
    pub(super) id: u32,
    pub(super) admin_port: u16,
}

impl Quorum {
    /// `controller.quorum.voters`: `id@127.0.0.1:admin_port,…`.
    pub(super) fn voters_flag(&self) -> String {
        self.voters
            .iter()
            .map(|v| format!("{}@127.0.0.1:{}", v.id, v.admin_port))
            .collect::<Vec<_>>()
            .join(",")
    }

    pub(super) fn admin_port(&self, broker_id: u32) -> Option<u16> {
        self.voters
            .iter()
            .find(|v| v.id == broker_id)
            .map(|v| v.admin_port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_admin_secret_is_random_private_and_kept() {
        let dir = std::env::temp_dir().join(format!("sluice-secret-{}", uuid::Uuid::new_v4()));
        let path = ensure_admin_secret(&dir).unwrap();
        let first = std::fs::read(&path).unwrap();
        assert_eq!(first.len(), ADMIN_SECRET_BYTES);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // Kept across calls; a loosened mode is tightened again.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(ensure_admin_secret(&dir).unwrap(), path);
        assert_eq!(std::fs::read(&path).unwrap(), first);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // Another cluster gets another secret.
        let other = dir.join("other");
        assert_ne!(
            std::fs::read(ensure_admin_secret(&other).unwrap()).unwrap(),
            first
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
