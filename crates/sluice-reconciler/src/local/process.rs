//! Broker processes as the operating system sees them: is a pid still our broker, a free port,
//! a signal.

use std::net::{Ipv4Addr, TcpListener};
use std::path::Path;
use std::process::{Command, Stdio};

use crate::RuntimeError;

/// Whether `pid` is a live `sluice-broker` serving `data_dir` (not a recycled pid).
pub(super) fn is_broker_process(pid: u32, data_dir: &Path) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state follows the parenthesised command name; a zombie is dead.
    let state = stat
        .rsplit_once(") ")
        .and_then(|(_, rest)| rest.chars().next());
    if matches!(state, Some('Z' | 'X') | None) {
        return false;
    }
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    let is_broker = args.first().is_some_and(|a| a.ends_with(b"sluice-broker"));
    let want = data_dir.as_os_str().as_encoded_bytes();
    is_broker
        && args
            .windows(2)
            .any(|w| w[0] == b"--data-dir" && w[1] == want)
}

pub(super) fn free_port() -> Result<u16, RuntimeError> {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(RuntimeError::io("free port"))?;
    Ok(l.local_addr()
        .map_err(RuntimeError::io("free port"))?
        .port())
}

pub(super) fn signal(pid: u32, sig: &str) {
    // `kill(1)`, because the workspace forbids `unsafe` (and with it libc::kill).
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}
