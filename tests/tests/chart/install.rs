//! `helm install` against a real kube-apiserver 1.20 (with its controller manager, no scheduler
//! and no kubelet, so pods stay Pending): the objects exist with the spec the chart meant.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::tools::{chart_dir, find_all, ok, run, Apiserver};

struct Kube<'a> {
    kubectl: &'a Path,
    helm: &'a Path,
    kubeconfig: PathBuf,
}

impl Kube<'_> {
    fn kubectl(&self, args: &[&str]) -> String {
        ok(
            Command::new(self.kubectl)
                .arg("--kubeconfig")
                .arg(&self.kubeconfig)
                .args(args),
            None,
        )
    }

    fn get(&self, namespace: &str, what: &str) -> Value {
        serde_json::from_str(&self.kubectl(&["-n", namespace, "get", what, "-o", "json"]))
            .expect("kubectl json")
    }

    fn helm(&self, args: &[&str]) -> String {
        ok(
            Command::new(self.helm)
                .arg("--kubeconfig")
                .arg(&self.kubeconfig)
                .args(args),
            None,
        )
    }

    /// Whether the controller manager (which makes the pods) still runs, and its last log lines.
    fn controller_manager_report(&self) -> String {
        let dir = self.kubeconfig.parent().expect("state dir");
        let pid = std::fs::read_to_string(dir.join("kcm.pid")).unwrap_or_default();
        let alive = Command::new("kill")
            .args(["-0", pid.trim()])
            .status()
            .is_ok_and(|s| s.success());
        let log = std::fs::read_to_string(dir.join("kcm.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        format!(
            "kube-controller-manager alive: {alive}; its log ends:\n{}",
            tail.join("\n")
        )
    }

    /// Polls `check` until it returns Some, or panics at the deadline.
    fn wait_for<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut check: impl FnMut() -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(v) = check() {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "timed out after {timeout:?} waiting for {what}; {}",
                self.controller_manager_report()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

#[test]
fn helm_install_creates_the_expected_objects_on_a_real_apiserver() {
    let Some([helm, kubectl, _, _, _]) = find_all([
        "helm",
        "kubectl",
        "kube-apiserver",
        "kube-controller-manager",
        "etcd",
    ]) else {
        return;
    };
    let server = Apiserver::start("sluice-k8s-");
    let k = Kube {
        kubectl: &kubectl,
        helm: &helm,
        kubeconfig: server.kubeconfig(),
    };
    let values = |n: &str| {
        chart_dir()
            .join(format!("tests/values/{n}.yaml"))
            .display()
            .to_string()
    };

    // The production scenario: Roles in two managed namespaces, ingress, network policy, PDB.
    k.kubectl(&["create", "namespace", "kafka-a"]);
    k.kubectl(&["create", "namespace", "kafka-b"]);
    let chart = chart_dir().display().to_string();
    let notes = k.helm(&[
        "install",
        "sluice",
        &chart,
        "-n",
        "sluice",
        "--create-namespace",
        "-f",
        &values("production"),
    ]);
    assert!(
        notes.contains("sluice-control token") || notes.contains("identity provider"),
        "NOTES:\n{notes}"
    );
    assert!(
        notes.contains("port-forward service/sluice"),
        "NOTES:\n{notes}"
    );

    let deploy = k.get("sluice", "deployment/sluice");
    assert_eq!(deploy["spec"]["replicas"], 3);
    let pod = &deploy["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "sluice");
    assert_eq!(pod["securityContext"]["runAsUser"], 10001);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    let c = &pod["containers"][0];
    assert_eq!(
        c["image"],
        "registry.example.com/sluice/sluice-control:0.1.0"
    );
    assert_eq!(
        c["args"],
        serde_json::json!(["serve", "--jwt-leeway-secs", "10"])
    );
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);

    let svc = k.get("sluice", "service/sluice");
    assert_eq!(svc["spec"]["ports"][0]["port"], 80);
    assert_eq!(svc["spec"]["ports"][0]["protocol"], "TCP");
    assert!(
        svc["spec"]["clusterIP"]
            .as_str()
            .is_some_and(|ip| ip.starts_with("10.96.")),
        "the apiserver allocated an IP"
    );
    for ns in ["kafka-a", "kafka-b"] {
        let role = k.get(ns, "role/sluice-runtime");
        assert!(role["rules"].to_string().contains("persistentvolumeclaims"));
        let binding = k.get(ns, "rolebinding/sluice-runtime");
        assert_eq!(binding["subjects"][0]["namespace"], "sluice");
    }
    k.get("sluice", "ingress/sluice");
    k.get("sluice", "networkpolicy/sluice");
    let pdb = k.get("sluice", "poddisruptionbudget/sluice");
    assert_eq!(
        pdb["apiVersion"], "policy/v1beta1",
        "1.20 serves PDBs as v1beta1 only"
    );

    // The controllers act on what the chart made: a ReplicaSet, then three (Pending) pods.
    let pods = k.wait_for("3 pods of the Deployment", Duration::from_secs(120), || {
        let list = k.get("sluice", "pods");
        let n = list["items"].as_array().map_or(0, Vec::len);
        (n == 3).then_some(list)
    });
    for p in pods["items"].as_array().unwrap() {
        assert_eq!(
            p["status"]["phase"], "Pending",
            "no kubelet: pods stay Pending"
        );
    }

    // The service account can do what the runtime needs in a managed namespace, and no more.
    let can = |args: &[&str]| {
        let out = run(
            Command::new(&kubectl)
                .arg("--kubeconfig")
                .arg(&k.kubeconfig)
                .args([
                    "auth",
                    "can-i",
                    "--as",
                    "system:serviceaccount:sluice:sluice",
                ])
                .args(args),
            None,
        );
        String::from_utf8_lossy(&out.stdout).trim() == "yes"
    };
    assert!(can(&["patch", "persistentvolumeclaims", "-n", "kafka-a"]));
    assert!(can(&[
        "create",
        "poddisruptionbudgets.policy",
        "-n",
        "kafka-b"
    ]));
    assert!(can(&["watch", "pods", "-n", "kafka-b"]));
    assert!(
        !can(&["update", "pods", "-n", "kafka-b"]),
        "the runtime applies server-side: patch, never update"
    );
    assert!(
        !can(&["get", "secrets", "-n", "kafka-a"]),
        "credentials are write-only"
    );
    assert!(can(&["get", "nodes"]));
    assert!(can(&["get", "storageclasses.storage.k8s.io"]));
    assert!(!can(&["delete", "nodes"]));
    assert!(
        !can(&["create", "pods", "-n", "default"]),
        "namespaces it does not manage are off limits"
    );
    assert!(!can(&[
        "create",
        "pods",
        "--subresource=exec",
        "-n",
        "kafka-a"
    ]));
    assert!(
        !can(&["create", "leases.coordination.k8s.io", "-n", "sluice"]),
        "leader election is in Postgres"
    );

    // An upgrade to a single replica drops the PDB; uninstall removes everything it made.
    k.helm(&[
        "upgrade",
        "sluice",
        &chart,
        "-n",
        "sluice",
        "-f",
        &values("production"),
        "--set",
        "replicaCount=1",
    ]);
    let pdbs = k.get("sluice", "poddisruptionbudgets");
    assert!(
        pdbs["items"].as_array().unwrap().is_empty(),
        "no PDB for one replica"
    );
    k.helm(&["uninstall", "sluice", "-n", "sluice"]);
    assert!(k.get("kafka-a", "roles")["items"]
        .as_array()
        .unwrap()
        .is_empty());
    let crb = k.kubectl(&["get", "clusterrolebindings", "-o", "name"]);
    assert!(
        !crb.contains("sluice-nodes"),
        "cluster-scoped objects are removed too"
    );

    // The default scenario installs next to nothing else: its Role lands in its own namespace.
    k.helm(&[
        "install",
        "sluice",
        &chart,
        "-n",
        "sluice-default",
        "--create-namespace",
        "-f",
        &values("default"),
    ]);
    k.get("sluice-default", "role/sluice-runtime");
    let secret = k.get("sluice-default", "secret/sluice");
    assert!(secret["data"]["database-url"].is_string());
    assert!(secret["data"]["jwt-secret"].is_string());
}
