//! The images can't be built here (no Docker daemon), so their Dockerfiles are checked
//! statically: hadolint, and agreement with the chart and the crates on user, binary and port.

use std::path::PathBuf;
use std::process::Command;

use crate::tools::{chart_dir, find, repo_root, run, yaml_docs};

/// The broker's Dockerfile moves into its crate once that crate is on this branch.
fn broker_dockerfile() -> PathBuf {
    let in_crate = repo_root().join("crates/sluice-broker/Dockerfile");
    if in_crate.is_file() {
        in_crate
    } else {
        repo_root().join("docker/sluice-broker.Dockerfile")
    }
}

fn dockerfiles() -> [(&'static str, PathBuf); 2] {
    [
        (
            "sluice-control",
            repo_root().join("crates/sluice-control/Dockerfile"),
        ),
        ("sluice-broker", broker_dockerfile()),
    ]
}

/// The instruction lines of the final stage (after the last FROM), continuation lines joined.
fn final_stage(text: &str) -> Vec<String> {
    let joined = text.replace("\\\n", " ");
    let lines: Vec<String> = joined
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect();
    let last_from = lines
        .iter()
        .rposition(|l| l.starts_with("FROM "))
        .expect("a FROM line");
    lines[last_from..].to_vec()
}

#[test]
fn dockerfiles_pass_hadolint() {
    let Some(hadolint) = find("hadolint") else {
        return;
    };
    for (_, path) in dockerfiles() {
        let out = run(Command::new(&hadolint).arg(&path), None);
        assert!(
            out.status.success(),
            "hadolint {}:\n{}{}",
            path.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn dockerfiles_agree_with_the_chart_and_the_crates() {
    let values = &yaml_docs(&std::fs::read_to_string(chart_dir().join("values.yaml")).unwrap())[0];
    let uid = values["podSecurityContext"]["runAsUser"].as_u64().unwrap();
    let gid = values["podSecurityContext"]["runAsGroup"].as_u64().unwrap();
    for (bin, path) in dockerfiles() {
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let stage = final_stage(&text);
        let has = |line: &str| stage.iter().any(|l| l == line);
        assert!(
            stage[0].starts_with("FROM debian:bookworm-slim"),
            "{bin}: minimal runtime base"
        );
        assert!(
            text.contains("FROM rust:1-bookworm AS build"),
            "{bin}: builds on rust:bookworm"
        );
        assert!(
            text.contains("--mount=type=cache,target=/usr/local/cargo/registry"),
            "{bin}: cargo cache mounts"
        );
        assert!(
            text.contains(&format!(
                "cargo build --release --locked -p {bin} --bin {bin}"
            )),
            "{bin}: builds its binary"
        );
        assert!(
            text.contains(&format!("--uid {uid} --gid {gid}")),
            "{bin}: creates the chart's user {uid}:{gid}"
        );
        assert!(
            has(&format!("USER {uid}:{gid}")),
            "{bin}: runs as the chart's numeric user (runAsNonRoot needs a number)"
        );
        assert!(
            has(&format!(
                "COPY --from=build /out/{bin} /usr/local/bin/{bin}"
            )),
            "{bin}: ships its binary"
        );
        assert!(
            has(&format!("ENTRYPOINT [\"/usr/local/bin/{bin}\"]")),
            "{bin}: the binary is the entrypoint"
        );
    }

    // The control plane's binary name, port and default command are the ones the chart uses.
    let manifest =
        std::fs::read_to_string(repo_root().join("crates/sluice-control/Cargo.toml")).unwrap();
    assert!(
        manifest.contains("name = \"sluice-control\""),
        "the crate builds the sluice-control binary"
    );
    let control = final_stage(&std::fs::read_to_string(&dockerfiles()[0].1).unwrap());
    assert!(control.iter().any(|l| l == "EXPOSE 8080"));
    assert!(control.iter().any(|l| l == "CMD [\"serve\"]"));
    let configmap = std::fs::read_to_string(chart_dir().join("templates/configmap.yaml")).unwrap();
    assert!(
        configmap.contains("SLUICE_LISTEN: \"0.0.0.0:8080\""),
        "the chart listens where the image exposes"
    );
    let deployment =
        std::fs::read_to_string(chart_dir().join("templates/deployment.yaml")).unwrap();
    assert!(deployment.contains("containerPort: 8080"));
}
