//! The Helm chart `charts/sluice` and the Dockerfiles, checked with real tools: helm (v4),
//! kubernetes-validate, hadolint, and a real kube-apiserver 1.20 built by `.ci/k8s-testenv.sh`.

mod docker;
mod install;
mod render;
mod tools;
