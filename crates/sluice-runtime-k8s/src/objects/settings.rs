//! What the objects depend on besides the broker spec: the runtime's settings, and which
//! PodDisruptionBudget API the server has.

/// The PodDisruptionBudget API the server serves: `policy/v1` from Kubernetes 1.21,
/// `policy/v1beta1` before (the test apiserver is 1.20).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PdbApi {
    V1,
    V1beta1,
}

impl PdbApi {
    /// From the server's `/version` (minor may carry a `+`, as on some distributions).
    pub fn for_server(major: &str, minor: &str) -> PdbApi {
        let num = |s: &str| {
            s.trim_end_matches(|c: char| !c.is_ascii_digit())
                .parse::<u32>()
                .unwrap_or(0)
        };
        if (num(major), num(minor)) >= (1, 21) {
            PdbApi::V1
        } else {
            PdbApi::V1beta1
        }
    }

    pub fn api_version(self) -> &'static str {
        match self {
            PdbApi::V1 => "policy/v1",
            PdbApi::V1beta1 => "policy/v1beta1",
        }
    }
}

/// What the objects depend on besides the broker spec.
#[derive(Debug, Clone)]
pub struct Settings {
    pub namespace: String,
    /// The `sluice-broker` image.
    pub broker_image: String,
    pub image_pull_policy: Option<String>,
    /// `None`: the cluster's default storage class.
    pub storage_class: Option<String>,
    /// DNS suffix of the cluster (`cluster.local`).
    pub cluster_domain: String,
    pub pdb_api: PdbApi,
}
