//! Finding the external tools, running them, and the policy for a missing one: under CI a
//! missing tool fails the test (a skipped check must not look green); on a developer's machine it
//! is skipped with a note saying how to install it (`bash .ci/k8s-testenv.sh tools`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub(crate) fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repository root")
        .to_path_buf()
}

pub(crate) fn chart_dir() -> PathBuf {
    repo_root().join("charts/sluice")
}

/// `~/.cache/sluice`, where `.ci/k8s-testenv.sh tools` puts what it builds or fetches.
fn cache() -> PathBuf {
    match std::env::var_os("SLUICE_CACHE") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache/sluice"),
    }
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// The tool, from the test environment's cache first, then PATH. `None` means "skip this test";
/// under CI there is no `None`: a missing tool panics.
pub(crate) fn find(name: &str) -> Option<PathBuf> {
    let cached = match name {
        "helm" | "kubectl" => Some(cache().join("helm").join(name)),
        "kube-apiserver" | "kube-controller-manager" => {
            Some(cache().join("k8s-1.20.2/bin").join(name))
        }
        "kubernetes-validate" | "hadolint" => Some(cache().join("pytools/bin").join(name)),
        _ => None,
    };
    let found = cached.filter(|p| p.is_file()).or_else(|| on_path(name));
    if found.is_none() {
        let msg = format!("{name} is missing: run `bash .ci/k8s-testenv.sh tools`");
        assert!(!in_ci(), "{msg}");
        eprintln!("SKIPPED: {msg}");
    }
    found
}

/// Every tool in `names`, or `None` (skip) if any is missing.
pub(crate) fn find_all<const N: usize>(names: [&str; N]) -> Option<[PathBuf; N]> {
    let found: Vec<PathBuf> = names.iter().filter_map(|n| find(n)).collect();
    found.try_into().ok()
}

/// Runs the command with `stdin` piped in, and returns its output whatever the exit status.
pub(crate) fn run(cmd: &mut Command, stdin: Option<&[u8]>) -> Output {
    use std::io::Write;
    let mut child = cmd
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {cmd:?}: {e}"));
    if let Some(input) = stdin {
        // Written from a thread so a child that answers before reading all of it can't deadlock.
        let mut pipe = child.stdin.take().expect("stdin is piped");
        let input = input.to_vec();
        std::thread::spawn(move || pipe.write_all(&input));
    }
    child.wait_with_output().expect("waiting for the child")
}

/// Runs the command and returns its stdout, panicking with its stderr if it fails.
pub(crate) fn ok(cmd: &mut Command, stdin: Option<&[u8]>) -> String {
    let out = run(cmd, stdin);
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// The YAML documents of a multi-document stream, as JSON values (empty documents dropped).
pub(crate) fn yaml_docs(text: &str) -> Vec<serde_json::Value> {
    use serde::Deserialize;
    serde_norway::Deserializer::from_str(text)
        .map(|doc| serde_json::Value::deserialize(doc).expect("valid YAML"))
        .filter(|v| !v.is_null())
        .collect()
}

/// etcd + kube-apiserver + kube-controller-manager started by `.ci/k8s-testenv.sh start` in a
/// temporary directory, stopped when dropped (also when the test panics).
pub(crate) struct Apiserver {
    dir: tempfile::TempDir,
}

impl Apiserver {
    /// Starts one; `prefix` names its temporary directory.
    pub(crate) fn start(prefix: &str) -> Apiserver {
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir()
            .expect("temp dir");
        let server = Apiserver { dir };
        ok(
            Command::new("bash")
                .arg(repo_root().join(".ci/k8s-testenv.sh"))
                .arg("start")
                .arg(server.dir.path()),
            None,
        );
        server
    }

    pub(crate) fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }
}

impl Drop for Apiserver {
    fn drop(&mut self) {
        let _ = run(
            Command::new("bash")
                .arg(repo_root().join(".ci/k8s-testenv.sh"))
                .arg("stop")
                .arg(self.dir.path()),
            None,
        );
    }
}
