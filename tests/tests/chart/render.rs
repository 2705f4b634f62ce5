//! The chart rendered offline: lint, committed snapshots, Kubernetes 1.33 schemas, and the
//! properties every rendering must keep (hardening, least privilege, explicit protocols).

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::tools::{chart_dir, find, find_all, run, yaml_docs};

/// The Kubernetes version `helm template` renders for, fixed so snapshots don't move with helm.
const KUBE_VERSION: &str = "1.33.0";

/// `charts/sluice/tests/values/*.yaml`: each is one scenario (default, production, minimal, …).
fn scenarios() -> Vec<(String, PathBuf)> {
    let mut files: Vec<(String, PathBuf)> = std::fs::read_dir(chart_dir().join("tests/values"))
        .expect("charts/sluice/tests/values")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| (p.file_stem().unwrap().to_string_lossy().into_owned(), p))
        .collect();
    files.sort();
    assert!(
        files.len() >= 3,
        "expected several scenarios, found {files:?}"
    );
    files
}

fn template(helm: &PathBuf, values: &PathBuf, extra: &[&str]) -> std::process::Output {
    run(
        Command::new(helm)
            .args(["template", "sluice"])
            .arg(chart_dir())
            .args([
                "--namespace",
                "sluice",
                "--kube-version",
                KUBE_VERSION,
                "-f",
            ])
            .arg(values)
            .args(extra),
        None,
    )
}

fn render(helm: &PathBuf, values: &PathBuf) -> String {
    let out = template(helm, values, &[]);
    assert!(
        out.status.success(),
        "helm template -f {}: {}",
        values.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn of_kind<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d["kind"] == kind).collect()
}

#[test]
fn helm_lint_strict_passes_for_every_scenario() {
    let Some(helm) = find("helm") else { return };
    for (name, values) in scenarios() {
        let out = run(
            Command::new(&helm)
                .args(["lint", "--strict"])
                .arg(chart_dir())
                .arg("-f")
                .arg(&values),
            None,
        );
        assert!(
            out.status.success(),
            "helm lint --strict ({name}):\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Regenerate after an intended change with
/// `SLUICE_UPDATE_SNAPSHOTS=1 cargo nextest run -p sluice-e2e -E 'test(snapshots)'`.
#[test]
fn renderings_match_the_committed_snapshots() {
    let Some(helm) = find("helm") else { return };
    let update = std::env::var_os("SLUICE_UPDATE_SNAPSHOTS").is_some();
    let mut drifted = Vec::new();
    for (name, values) in scenarios() {
        let rendered = render(&helm, &values);
        let path = chart_dir()
            .join("tests/snapshots")
            .join(format!("{name}.yaml"));
        if update {
            std::fs::write(&path, &rendered).expect("writing the snapshot");
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(rendered.as_str()) {
            drifted.push(path.display().to_string());
        }
    }
    assert!(
        drifted.is_empty(),
        "rendered chart differs from {drifted:?}; if intended, regenerate with \
         SLUICE_UPDATE_SNAPSHOTS=1 cargo nextest run -p sluice-e2e -E 'test(snapshots)'"
    );
}

#[test]
fn renderings_validate_against_kubernetes_1_33_strictly() {
    let Some([helm, validate]) = find_all(["helm", "kubernetes-validate"]) else {
        return;
    };
    for (name, values) in scenarios() {
        let rendered = render(&helm, &values);
        let out = run(
            Command::new(&validate).args(["-k", KUBE_VERSION, "--strict", "--quiet", "-"]),
            Some(rendered.as_bytes()),
        );
        assert!(
            out.status.success(),
            "kubernetes-validate ({name}):\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn every_rendering_is_hardened_and_least_privileged() {
    let Some(helm) = find("helm") else { return };
    for (name, values) in scenarios() {
        let docs = yaml_docs(&render(&helm, &values));
        let deployments = of_kind(&docs, "Deployment");
        assert_eq!(deployments.len(), 1, "{name}: one Deployment");
        let pod = &deployments[0]["spec"]["template"]["spec"];
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{name}");
        assert_eq!(
            pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault",
            "{name}"
        );
        let containers = pod["containers"].as_array().unwrap().iter();
        let init = pod["initContainers"].as_array().into_iter().flatten();
        for c in containers.chain(init) {
            let sc = &c["securityContext"];
            assert_eq!(sc["readOnlyRootFilesystem"], true, "{name}: {}", c["name"]);
            assert_eq!(
                sc["allowPrivilegeEscalation"], false,
                "{name}: {}",
                c["name"]
            );
            assert_eq!(
                sc["capabilities"]["drop"],
                serde_json::json!(["ALL"]),
                "{name}: {}",
                c["name"]
            );
            assert!(
                c["resources"]["requests"].is_object(),
                "{name}: {} has requests",
                c["name"]
            );
            for port in c["ports"].as_array().into_iter().flatten() {
                assert_eq!(port["protocol"], "TCP", "{name}: container port {port}");
            }
        }
        let main = &pod["containers"][0];
        assert_eq!(main["args"][0], "serve", "{name}");
        assert_eq!(
            main["livenessProbe"]["httpGet"]["path"], "/healthz",
            "{name}"
        );
        assert_eq!(
            main["readinessProbe"]["httpGet"]["path"], "/readyz",
            "{name}"
        );
        let env: Vec<&str> = main["env"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        assert!(
            env.contains(&"DATABASE_URL"),
            "{name}: DATABASE_URL comes from a Secret"
        );

        // Server-side apply on 1.20 rejects ports without a protocol.
        for svc in of_kind(&docs, "Service") {
            for port in svc["spec"]["ports"].as_array().unwrap() {
                assert_eq!(port["protocol"], "TCP", "{name}: service port {port}");
            }
        }

        let allowed = [
            "pods",
            "persistentvolumeclaims",
            "services",
            "configmaps",
            "secrets",
            "poddisruptionbudgets",
            "nodes",
            "storageclasses",
        ];
        for role in of_kind(&docs, "Role")
            .into_iter()
            .chain(of_kind(&docs, "ClusterRole"))
        {
            for rule in role["rules"].as_array().unwrap() {
                for field in ["apiGroups", "resources", "verbs"] {
                    let items = rule[field].as_array().unwrap();
                    assert!(
                        !items.iter().any(|v| v == "*"),
                        "{name}: wildcard in {role}"
                    );
                }
                for r in rule["resources"].as_array().unwrap() {
                    assert!(
                        allowed.contains(&r.as_str().unwrap()),
                        "{name}: unexpected resource {r}"
                    );
                }
                if rule["resources"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|r| r == "nodes")
                {
                    assert_eq!(
                        rule["verbs"],
                        serde_json::json!(["get"]),
                        "{name}: nodes are read-only"
                    );
                }
                // The runtime applies server-side (patch) and never updates.
                assert!(
                    !rule["verbs"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|v| v == "update"),
                    "{name}: update in {role}"
                );
            }
        }
    }
}

#[test]
fn scenarios_differ_where_they_should() {
    let Some(helm) = find("helm") else { return };
    let docs = |n: &str| {
        yaml_docs(&render(
            &helm,
            &chart_dir().join(format!("tests/values/{n}.yaml")),
        ))
    };
    let kinds = |d: &[Value]| {
        d.iter()
            .map(|x| x["kind"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };

    let default = docs("default");
    let deploy = of_kind(&default, "Deployment")[0];
    assert_eq!(deploy["spec"]["replicas"], 2, "two replicas by default");
    assert_eq!(
        deploy["spec"]["template"]["spec"]["containers"][0]["image"], "sluice/sluice-control:0.1.0",
        "tag defaults to appVersion"
    );
    assert_eq!(
        deploy["spec"]["template"]["spec"]["topologySpreadConstraints"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        deploy["spec"]["template"]["spec"]["initContainers"][0]["args"],
        serde_json::json!(["migrate"])
    );
    assert!(kinds(&default).contains(&"PodDisruptionBudget".into()));
    let roles = of_kind(&default, "Role");
    assert_eq!(roles.len(), 1);
    assert_eq!(
        roles[0]["metadata"]["namespace"], "sluice",
        "the runtime manages its own namespace by default"
    );
    let cluster_roles: Vec<_> = of_kind(&default, "ClusterRole")
        .iter()
        .map(|r| r["metadata"]["name"].clone())
        .collect();
    assert_eq!(
        cluster_roles,
        ["sluice-nodes"],
        "only node reading is cluster-scoped by default"
    );

    let prod = docs("production");
    for kind in ["Ingress", "NetworkPolicy", "PodDisruptionBudget"] {
        assert!(
            kinds(&prod).contains(&kind.into()),
            "production has a {kind}"
        );
    }
    assert!(
        !kinds(&prod).contains(&"Secret".into()),
        "existingSecret: the chart makes no Secret"
    );
    let namespaces: Vec<_> = of_kind(&prod, "Role")
        .iter()
        .map(|r| r["metadata"]["namespace"].clone())
        .collect();
    assert_eq!(namespaces, ["kafka-a", "kafka-b"]);

    let minimal = docs("minimal");
    assert!(
        !kinds(&minimal).contains(&"PodDisruptionBudget".into()),
        "one replica: no PDB to block drains"
    );
    assert!(
        !kinds(&minimal).contains(&"ClusterRole".into()),
        "minimal: nothing cluster-scoped"
    );

    let wide = docs("cluster-wide");
    assert!(of_kind(&wide, "Role").is_empty());
    let names: Vec<_> = of_kind(&wide, "ClusterRole")
        .iter()
        .map(|r| r["metadata"]["name"].clone())
        .collect();
    assert_eq!(names, ["sluice-runtime", "sluice-nodes"]);
}

#[test]
fn bad_values_are_rejected() {
    let Some(helm) = find("helm") else { return };
    let default = chart_dir().join("tests/values/default.yaml");
    let cases: [(&[&str], &str); 5] = [
        (
            &["--set", "replicas=3"],
            "additional properties 'replicas' not allowed",
        ),
        (
            &["--set", "podSecurityContext.runAsNonRoot=false"],
            "runAsNonRoot",
        ),
        (
            &["--set", "securityContext.allowPrivilegeEscalation=true"],
            "allowPrivilegeEscalation",
        ),
        (&["--set", "auth.jwtSecret=short"], "jwtSecret"),
        (
            &[
                "--set",
                "database.url=",
                "--set",
                "database.existingSecret=",
            ],
            "set database.url or database.existingSecret",
        ),
    ];
    for (args, expected) in cases {
        let out = template(&helm, &default, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} was accepted");
        assert!(
            stderr.contains(expected),
            "{args:?}: expected {expected:?} in:\n{stderr}"
        );
    }
}
