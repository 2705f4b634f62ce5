//! Sluice's Kubernetes runtime: the reconciler's [`Runtime`](sluice_reconciler::Runtime) with
//! brokers as pods. A crate of its own so that kube-rs and k8s-openapi (large to compile) are
//! built only by what runs brokers on Kubernetes (`sluice-control`), not by the reconciler's
//! and the store's tests.
//!
//! Per Sluice cluster, in one namespace (see [`objects`] for names and shapes): one Pod and one
//! PersistentVolumeClaim per broker (no StatefulSet: a broker is replaced, removed or
//! reconfigured on its own), a headless Service for broker DNS, a bootstrap Service, a
//! ConfigMap with `server.properties`, a Secret with credentials and a PodDisruptionBudget
//! (`policy/v1` from Kubernetes 1.21, `policy/v1beta1` before).
//!
//! Invariants:
//! - every object carries `app.kubernetes.io/*` labels and `sluice.dev/cluster` (pods and
//!   volumes also `sluice.dev/broker`), and every object but the ConfigMap has an owner
//!   reference to the cluster's ConfigMap: deleting it garbage-collects the cluster. The
//!   runtime also deletes each object itself when the last broker goes, so a delete does not
//!   depend on the garbage collector;
//! - objects are written with server-side apply under one field manager (`sluice`, forced);
//!   exceptions, each a single field: a volume grow (merge patch of the storage request, since
//!   the rest of a claim is immutable), the zone annotation on a pod, and the Secret, created
//!   once and never rewritten (its generated password must not change);
//! - a broker's identity is its volume: a pod that failed, is being deleted or lost its node is
//!   deleted (forcibly when nothing would confirm a graceful delete) and made again on the same
//!   claim; a pod is never changed in place — a new fingerprint (version, configuration,
//!   broker size) is a new pod;
//! - health comes from the pod's Ready condition, which the readiness probe sets when the
//!   broker answers ApiVersions over the Kafka protocol ([`objects::READINESS_SCRIPT`]);
//! - `broker.rack`: a pod cannot read its node's labels, so the runtime copies the node's
//!   `topology.kubernetes.io/zone` to the pod's `sluice.dev/zone` annotation once the pod is
//!   scheduled, and the launch script waits (≤ 2 min) for it through the downward API before
//!   starting the broker; pods are spread over zones by topology spread constraints;
//! - watches on the namespace's Sluice pods and volumes wake the reconciler
//!   ([`Runtime::wakes`](sluice_reconciler::Runtime::wakes)).

pub mod objects;
mod runtime;

pub use objects::PdbApi;
pub use runtime::{pod_health, KubeConfig, KubeRuntime};
