//! Typed configuration: every flag has an environment variable and a line saying what it is for.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use sluice_api::AuthConfig;
use sluice_model::Role;

/// Sluice control plane: the REST API for Kafka clusters.
#[derive(Debug, Parser)]
#[command(name = "sluice-control", version)]
pub(crate) struct Cli {
    /// Log as JSON lines instead of text.
    #[arg(long, env = "SLUICE_LOG_JSON", global = true)]
    pub log_json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Serve the API against an existing database (production).
    Serve(ServeArgs),
    /// Run everything on this machine with embedded defaults: a private Postgres when
    /// DATABASE_URL is unset, a generated signing key, and an admin token printed.
    Dev(DevArgs),
    /// Apply database migrations and exit.
    Migrate(DbArgs),
    /// Mint a token signed with the configured HS secret.
    Token(TokenArgs),
    /// Print the OpenAPI document.
    Openapi,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct DbArgs {
    /// Postgres URL, for example postgres://user:pass@host:5432/sluice.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// Largest number of database connections the API holds.
    #[arg(long, env = "SLUICE_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct AuthArgs {
    /// Shared HS256 secret (at least 32 bytes). Prefer --jwt-secret-file in production.
    #[arg(long, env = "SLUICE_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// File holding the shared HS256 secret.
    #[arg(long, env = "SLUICE_JWT_SECRET_FILE")]
    pub jwt_secret_file: Option<PathBuf>,
    /// PEM public key(s) for RS*/PS*/ES*/EdDSA tokens; repeat or separate with commas.
    #[arg(long, env = "SLUICE_JWT_PUBLIC_KEY_FILE", value_delimiter = ',')]
    pub jwt_public_key_file: Vec<PathBuf>,
    /// A JWKS file with the issuer's public keys.
    #[arg(long, env = "SLUICE_JWKS_FILE")]
    pub jwks_file: Option<PathBuf>,
    /// A URL serving the issuer's JWKS, refreshed when a token names an unknown key.
    #[arg(long, env = "SLUICE_JWKS_URL")]
    pub jwks_url: Option<String>,
    /// The `iss` every token must carry.
    #[arg(long, env = "SLUICE_JWT_ISSUER", default_value = "sluice")]
    pub jwt_issuer: String,
    /// The `aud` every token must carry.
    #[arg(long, env = "SLUICE_JWT_AUDIENCE", default_value = "sluice-api")]
    pub jwt_audience: String,
    /// Clock skew tolerated on `exp` and `nbf`, seconds.
    #[arg(long, env = "SLUICE_JWT_LEEWAY_SECS", default_value_t = 30)]
    pub jwt_leeway_secs: u64,
}

impl AuthArgs {
    /// The HS secret from the flag or its file, if either is given.
    pub(crate) fn hs_secret(&self) -> anyhow::Result<Option<Vec<u8>>> {
        if let Some(s) = &self.jwt_secret {
            return Ok(Some(s.clone().into_bytes()));
        }
        match &self.jwt_secret_file {
            Some(p) => {
                let raw = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
                Ok(Some(raw.trim_ascii().to_vec()))
            }
            None => Ok(None),
        }
    }

    /// The authenticator's configuration, reading the key files named.
    pub(crate) fn config(&self, hs_secret: Option<Vec<u8>>) -> anyhow::Result<AuthConfig> {
        let public_key_pems = self
            .jwt_public_key_file
            .iter()
            .map(|p| std::fs::read(p).with_context(|| format!("reading {}", p.display())))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let jwks_json = self
            .jwks_file
            .as_ref()
            .map(|p| std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display())))
            .transpose()?;
        Ok(AuthConfig {
            hs_secret,
            public_key_pems,
            jwks_json,
            jwks_url: self.jwks_url.clone(),
            issuer: self.jwt_issuer.clone(),
            audience: self.jwt_audience.clone(),
            leeway_secs: self.jwt_leeway_secs,
        })
    }
}

#[derive(Debug, Clone, Args)]
pub(crate) struct ServeArgs {
    /// Address the API listens on.
    #[arg(long, env = "SLUICE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub auth: AuthArgs,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
}

/// Where brokers run and how the reconciler drives them.
#[derive(Debug, Clone, Args)]
pub(crate) struct RuntimeArgs {
    /// Run no reconciler (API only; clusters stay in their states).
    #[arg(long, env = "SLUICE_NO_RECONCILER")]
    pub no_reconciler: bool,
    /// Where brokers run: `local` (sluice-broker processes on this host) or `kubernetes` (a
    /// pod and a volume per broker, through the Kubernetes API: the in-cluster service account,
    /// or KUBECONFIG / ~/.kube/config outside a cluster).
    #[arg(long, env = "SLUICE_RUNTIME", value_enum, default_value_t = RuntimeKind::Local)]
    pub runtime: RuntimeKind,
    /// kubernetes: the namespace brokers are created in (default: the service account's
    /// namespace in a cluster, else the kubeconfig context's).
    #[arg(long, env = "SLUICE_K8S_NAMESPACE")]
    pub k8s_namespace: Option<String>,
    /// kubernetes: the sluice-broker image.
    #[arg(long, env = "SLUICE_BROKER_IMAGE", default_value = concat!("sluice/sluice-broker:", env!("CARGO_PKG_VERSION")))]
    pub broker_image: String,
    /// kubernetes: the storage class of broker volumes (default: the cluster's default class).
    /// Growing storage needs a class with allowVolumeExpansion.
    #[arg(long, env = "SLUICE_K8S_STORAGE_CLASS")]
    pub k8s_storage_class: Option<String>,
    /// kubernetes: the cluster's DNS domain, in brokers' addresses.
    #[arg(
        long,
        env = "SLUICE_K8S_CLUSTER_DOMAIN",
        default_value = "cluster.local"
    )]
    pub k8s_cluster_domain: String,
    /// Where the local runtime keeps broker data, logs and pid files
    /// (default: `brokers` under the state directory for `dev`, `.sluice/brokers` for `serve`).
    #[arg(long, env = "SLUICE_BROKER_DIR")]
    pub broker_dir: Option<PathBuf>,
    /// The `sluice-broker` executable (default: next to this executable).
    #[arg(long, env = "SLUICE_BROKER_BIN")]
    pub broker_bin: Option<PathBuf>,
    /// This replica's name on reconciler leases (default: unique per start; `dev` uses its
    /// state directory, so a restarted dev server takes its clusters back at once).
    #[arg(long, env = "SLUICE_RECONCILER_ID")]
    pub reconciler_id: Option<String>,
    /// Seconds between full resyncs of every cluster.
    #[arg(long, env = "SLUICE_RESYNC_SECONDS", default_value_t = 5)]
    pub resync_seconds: u64,
    /// Set by `dev`: a missing broker executable is an error rather than "API only".
    #[arg(skip)]
    pub require_broker: bool,
}

/// Where brokers run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum RuntimeKind {
    Local,
    Kubernetes,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct DevArgs {
    #[command(flatten)]
    pub serve: ServeArgs,
    /// Where dev keeps its Postgres data, signing key and broker data between runs.
    #[arg(long, env = "SLUICE_STATE_DIR", default_value = ".sluice")]
    pub state_dir: PathBuf,
    /// Set from the parsed flags: `--listen` was left at its default, so a taken port may move
    /// on to a free one.
    #[arg(skip)]
    pub listen_is_default: bool,
}

/// A role given on the command line.
#[derive(Debug, Clone)]
pub(crate) struct RoleArg(pub Role);

impl std::str::FromStr for RoleArg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Role::parse(s)
            .map(RoleArg)
            .ok_or_else(|| "expected viewer, operator or admin".into())
    }
}

/// A duration such as 90s, 15m, 1h or 7d.
#[derive(Debug, Clone)]
pub(crate) struct Ttl(pub Duration);

impl std::str::FromStr for Ttl {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
        let n: u64 = num
            .parse()
            .map_err(|_| format!("'{s}' is not a duration like 90s, 15m, 1h or 7d"))?;
        let secs = match unit {
            "s" | "" => n,
            "m" => n * 60,
            "h" => n * 3600,
            "d" => n * 86400,
            _ => return Err(format!("unknown unit in '{s}': use s, m, h or d")),
        };
        if secs == 0 {
            return Err("the ttl must be positive".into());
        }
        Ok(Ttl(Duration::from_secs(secs)))
    }
}

#[derive(Debug, Clone, Args)]
pub(crate) struct TokenArgs {
    /// The tenant the token acts in.
    #[arg(long)]
    pub tenant: String,
    /// Role(s) to grant: viewer, operator or admin.
    #[arg(long, required = true)]
    pub role: Vec<RoleArg>,
    /// How long the token is valid, for example 1h.
    #[arg(long, default_value = "1h")]
    pub ttl: Ttl,
    /// The token's subject.
    #[arg(long, default_value = "sluice-control")]
    pub subject: String,
    /// Where `dev` keeps its generated secret, used when no secret is configured.
    #[arg(long, env = "SLUICE_STATE_DIR", default_value = ".sluice")]
    pub state_dir: PathBuf,
    #[command(flatten)]
    pub auth: AuthArgs,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_parse() {
        assert_eq!("90s".parse::<Ttl>().unwrap().0, Duration::from_secs(90));
        assert_eq!("2h".parse::<Ttl>().unwrap().0, Duration::from_secs(7200));
        assert_eq!("1d".parse::<Ttl>().unwrap().0, Duration::from_secs(86400));
        assert!("0s".parse::<Ttl>().is_err());
        assert!("h".parse::<Ttl>().is_err());
        assert!("5w".parse::<Ttl>().is_err());
    }

    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
