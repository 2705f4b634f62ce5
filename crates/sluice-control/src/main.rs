//! `sluice-control`: Sluice's control plane binary.
//!
//! It owns process concerns only: typed configuration from flags and environment, logging, the
//! embedded Postgres of `dev`, migrations, token minting, and serving the API until a signal.

mod config;
mod embedded_pg;
mod files;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{CommandFactory, FromArgMatches};
use config::{Cli, Command, DbArgs, ServeArgs};
use sluice_api::{AppState, Authenticator, TokenRequest};
use sluice_model::Role;
use sluice_store::Store;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let mut cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    if let (Command::Dev(args), Some(("dev", dev))) = (&mut cli.command, matches.subcommand()) {
        args.listen_is_default =
            dev.value_source("listen") == Some(clap::parser::ValueSource::DefaultValue);
    }
    init_tracing(cli.log_json);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sluice-control: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line that says what failed and why, outermost first: never a backtrace, which
            // tells a user nothing they can act on.
            eprintln!("sluice-control: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let url = args
                .db
                .database_url
                .clone()
                .context("DATABASE_URL (or --database-url) is required by serve")?;
            // Keys are checked before the port is bound: a misconfigured server says what is
            // wrong with its configuration, whatever holds its port.
            let auth = authenticator(&args.auth, args.auth.hs_secret()?)?;
            serve(bind(args.listen).await?, &args, &url, auth).await
        }
        Command::Dev(args) => dev(args).await,
        Command::Migrate(db) => {
            let url = db
                .database_url
                .clone()
                .context("DATABASE_URL (or --database-url) is required by migrate")?;
            let store = connect(&url, &db).await?;
            store.migrate().await.context("applying migrations")?;
            println!("migrations applied");
            Ok(())
        }
        Command::Token(args) => {
            let secret = match args.auth.hs_secret()? {
                Some(s) => s,
                None => std::fs::read(dev_secret_path(&args.state_dir)).context(
                    "no HS secret: set SLUICE_JWT_SECRET or --jwt-secret-file, or run `dev` once",
                )?,
            };
            let roles: Vec<Role> = args.role.iter().map(|r| r.0).collect();
            let token = sluice_api::mint_hs256(
                &secret,
                &TokenRequest {
                    subject: &args.subject,
                    tenant: &args.tenant,
                    roles: &roles,
                    ttl: args.ttl.0,
                    issuer: &args.auth.jwt_issuer,
                    audience: &args.auth.jwt_audience,
                },
            )
            .context("signing the token")?;
            println!("{token}");
            Ok(())
        }
        Command::Openapi => {
            print!("{}", sluice_api::openapi_json());
            Ok(())
        }
    }
}

fn init_tracing(json: bool) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn connect(url: &str, db: &DbArgs) -> anyhow::Result<Store> {
    Store::connect(url, db.db_max_connections)
        .await
        .with_context(|| format!("connecting to the database at {}", redact(url)))
}

/// Hides a password in a database URL before it is printed.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

async fn bind(addr: std::net::SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))
}

/// The API's token verifier from the configured keys.
fn authenticator(
    auth: &config::AuthArgs,
    hs_secret: Option<Vec<u8>>,
) -> anyhow::Result<Authenticator> {
    Authenticator::new(&auth.config(hs_secret)?).context("configuring authentication")
}

async fn serve(
    listener: tokio::net::TcpListener,
    args: &ServeArgs,
    url: &str,
    auth: Authenticator,
) -> anyhow::Result<()> {
    auth.refresh_jwks().await;
    let store = connect(url, &args.db).await?;
    store.migrate().await.context("applying migrations")?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "sluice-control API listening");
    let reconciler = start_reconciler(&args.runtime, &store).await?;
    let router = sluice_api::router(AppState::new(store.clone(), auth));
    let served = sluice_api::run(listener, router, shutdown_signal()).await;
    // Brokers keep running: the next start adopts them. Giving the leases up lets another
    // replica take the clusters over at once instead of after the lease expires.
    if let Some((task, holder)) = reconciler {
        task.abort();
        let _ = task.await;
        if let Err(e) = store.release_lease(&holder, None).await {
            tracing::warn!(error = %e, "releasing reconciler leases");
        }
    }
    served.context("serving the API")?;
    tracing::info!("stopped");
    Ok(())
}

/// Starts the reconciler over the configured runtime, unless disabled.
async fn start_reconciler(
    args: &config::RuntimeArgs,
    store: &Store,
) -> anyhow::Result<Option<(tokio::task::JoinHandle<()>, String)>> {
    if args.no_reconciler {
        return Ok(None);
    }
    let mut ctx = sluice_reconciler::Context {
        resync_interval: Duration::from_secs(args.resync_seconds.max(1)),
        ..Default::default()
    };
    if let Some(id) = &args.reconciler_id {
        ctx.holder = id.clone();
    }
    let holder = ctx.holder.clone();
    let task = match args.runtime {
        config::RuntimeKind::Local => {
            let Some(runtime) = local_runtime(args)? else {
                return Ok(None);
            };
            tracing::info!(holder = %ctx.holder, "reconciler starting (local runtime)");
            spawn_reconciler(store, runtime, ctx)
        }
        config::RuntimeKind::Kubernetes => {
            // In a pod: the service account; outside: KUBECONFIG or ~/.kube/config.
            let client = kube::Client::try_default()
                .await
                .context("configuring the Kubernetes client (in-cluster or kubeconfig)")?;
            let namespace = args
                .k8s_namespace
                .clone()
                .unwrap_or_else(|| client.default_namespace().to_owned());
            let mut cfg = sluice_runtime_k8s::KubeConfig::new(namespace, &args.broker_image);
            cfg.storage_class = args.k8s_storage_class.clone();
            cfg.cluster_domain = args.k8s_cluster_domain.clone();
            let runtime = sluice_runtime_k8s::KubeRuntime::connect(client, cfg)
                .await
                .context("connecting to the Kubernetes API server")?;
            // A new pod pulls its image and waits for its zone before the broker starts.
            ctx.ready_timeout = Duration::from_secs(300);
            tracing::info!(holder = %ctx.holder, image = %args.broker_image, "reconciler starting (Kubernetes runtime)");
            spawn_reconciler(store, runtime, ctx)
        }
    };
    Ok(Some((task, holder)))
}

/// The local runtime, or `None` when there is no broker executable and none is required.
fn local_runtime(
    args: &config::RuntimeArgs,
) -> anyhow::Result<Option<sluice_reconciler::local::LocalRuntime>> {
    let broker_bin = match &args.broker_bin {
        Some(b) => b.clone(),
        None => std::env::current_exe()
            .context("locating this executable")?
            .with_file_name("sluice-broker"),
    };
    if !broker_bin.exists() && !args.require_broker && args.broker_bin.is_none() {
        // An image without a broker (the chart's, before it selects `--runtime kubernetes`):
        // serve the API rather than crash-loop.
        tracing::warn!(
            broker_bin = %broker_bin.display(),
            "no sluice-broker executable: serving the API without a reconciler"
        );
        return Ok(None);
    }
    if !broker_bin.exists() {
        bail!(
            "no broker executable at {} (build it with `cargo build -p sluice-broker`, or set SLUICE_BROKER_BIN)",
            broker_bin.display()
        );
    }
    let broker_dir = args
        .broker_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(".sluice/brokers"));
    std::fs::create_dir_all(&broker_dir)
        .with_context(|| format!("creating {}", broker_dir.display()))?;
    let broker_dir = broker_dir.canonicalize()?;
    tracing::info!(broker_dir = %broker_dir.display(), broker_bin = %broker_bin.display(), "local runtime");
    Ok(Some(sluice_reconciler::local::LocalRuntime::new(
        sluice_reconciler::local::LocalConfig::new(broker_dir, broker_bin),
    )))
}

fn spawn_reconciler<R: sluice_reconciler::Runtime>(
    store: &Store,
    runtime: R,
    ctx: sluice_reconciler::Context,
) -> tokio::task::JoinHandle<()> {
    let rec = sluice_reconciler::Reconciler::new(store.clone(), std::sync::Arc::new(runtime), ctx);
    tokio::spawn(async move {
        // `run` only returns when it cannot subscribe to notifications (the database is down):
        // start again shortly, since every pass starts from the stored state anyway.
        loop {
            if let Err(e) = rec.clone().run().await {
                tracing::error!(error = %e, "reconciler stopped; restarting in 2 s");
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    })
}

fn dev_secret_path(state_dir: &std::path::Path) -> PathBuf {
    state_dir.join("jwt-secret")
}

/// Runs everything on this machine with no set-up: a private Postgres when `DATABASE_URL` is
/// unset, a generated HS secret kept under the state directory, and an admin token printed.
async fn dev(mut args: config::DevArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.state_dir)
        .with_context(|| format!("creating {}", args.state_dir.display()))?;
    // Held until this process exits: one dev per state directory, since two would share its
    // Postgres, brokers and reconciler lease.
    let _lock = lock_state_dir(&args.state_dir)?;
    // Bound before anything is started, so a taken port fails fast.
    let listener = bind_dev(args.serve.listen, args.listen_is_default).await?;
    let mut pg = None;
    let url = match args.serve.db.database_url.clone() {
        Some(url) => url,
        None => {
            let server = embedded_pg::EmbeddedPostgres::start(&args.state_dir.join("pg"))
                .await
                .context(
                    "starting the embedded Postgres failed (set DATABASE_URL to use another Postgres instead)",
                )?;
            tracing::info!(data = %server.data_dir().display(), "private Postgres");
            let url = server.url();
            pg = Some(server);
            url
        }
    };
    let secret = match args.serve.auth.hs_secret()? {
        Some(s) => s,
        None => load_or_create_secret(&dev_secret_path(&args.state_dir))?,
    };
    let token = sluice_api::mint_hs256(
        &secret,
        &TokenRequest {
            subject: "dev",
            tenant: "default",
            roles: &[Role::Admin],
            ttl: Duration::from_secs(24 * 3600),
            issuer: &args.serve.auth.jwt_issuer,
            audience: &args.serve.auth.jwt_audience,
        },
    )?;
    // Served on as it was bound, so the address printed (port 0 included) is the one that
    // answers.
    let addr = listener.local_addr()?;
    args.serve.runtime.require_broker = true;
    if args.serve.runtime.broker_dir.is_none() {
        args.serve.runtime.broker_dir = Some(args.state_dir.join("brokers"));
    }
    if args.serve.runtime.reconciler_id.is_none() {
        let dir = args.state_dir.canonicalize()?;
        args.serve.runtime.reconciler_id = Some(format!("dev:{}", dir.display()));
    }
    println!("Sluice control plane (dev)");
    println!("  API:      http://{addr}/v1   docs: http://{addr}/docs");
    println!("  database: {}", redact(&url));
    println!("  admin token (tenant 'default', 24h):");
    println!("  export SLUICE_ENDPOINT=http://{addr} SLUICE_TOKEN={token}");
    let auth = authenticator(&args.serve.auth, Some(secret))?;
    let result = serve(listener, &args.serve, &url, auth).await;
    if let Some(pg) = pg {
        pg.stop().await;
    }
    result
}

/// Locks `state_dir` for this process, or says which process has it.
fn lock_state_dir(state_dir: &std::path::Path) -> anyhow::Result<std::fs::File> {
    use std::io::{Read, Seek, Write};
    let path = state_dir.join("dev.lock");
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {
            file.set_len(0)?;
            file.rewind()?;
            write!(file, "{}", std::process::id())?;
            Ok(file)
        }
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            let pid = pid.trim();
            let who = if pid.is_empty() {
                String::new()
            } else {
                format!(" (pid {pid})")
            };
            bail!(
                "another sluice-control dev{who} is running with the state directory {}: stop it, or give this one its own with --state-dir",
                state_dir.display()
            )
        }
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("locking {}", path.display()))
        }
    }
}

/// How many ports above a taken default `dev` tries before it takes any free port.
const DEV_PORT_TRIES: u16 = 20;

/// Binds `dev`'s API. A taken default port moves on to the next free one (saying so); a port
/// the user chose is an error that says how to choose another.
async fn bind_dev(
    addr: std::net::SocketAddr,
    is_default: bool,
) -> anyhow::Result<tokio::net::TcpListener> {
    let in_use = |e: &std::io::Error| e.kind() == std::io::ErrorKind::AddrInUse;
    match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => return Ok(l),
        Err(e) if in_use(&e) && is_default => {}
        Err(e) if in_use(&e) => bail!(
            "{addr} is already in use (another sluice-control dev?): choose another address with --listen, for example --listen 127.0.0.1:0 for any free port"
        ),
        Err(e) => return Err(e).with_context(|| format!("binding {addr}")),
    }
    let mut candidates: Vec<std::net::SocketAddr> = (1..=DEV_PORT_TRIES)
        .filter_map(|i| addr.port().checked_add(i))
        .map(|p| std::net::SocketAddr::new(addr.ip(), p))
        .collect();
    candidates.push(std::net::SocketAddr::new(addr.ip(), 0));
    for candidate in candidates {
        if let Ok(l) = tokio::net::TcpListener::bind(candidate).await {
            eprintln!(
                "sluice-control: {addr} is in use; serving on {} instead (choose with --listen)",
                l.local_addr()?
            );
            return Ok(l);
        }
    }
    bail!("{addr} is in use and no other port is free: choose an address with --listen")
}

/// The signing secret kept in `path` (owner-only), made on first use.
fn load_or_create_secret(path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(s) = std::fs::read(path) {
        if s.len() >= 32 {
            // A secret written by an older dev (or copied in) may be readable by others.
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .with_context(|| format!("restricting {} to its owner", path.display()))?;
            return Ok(s);
        }
        bail!(
            "{} holds fewer than 32 bytes; remove it to make a new secret",
            path.display()
        );
    }
    let secret: String = (0..2)
        .map(|_| uuid::Uuid::new_v4().simple().to_string())
        .collect();
    files::write_atomically(path, secret.as_bytes(), 0o600)?;
    Ok(secret.into_bytes())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("postgres:///db"), "postgres:///db");
    }
}
