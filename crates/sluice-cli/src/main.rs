//! `sluice`: the command-line client of Sluice, the self-hosted managed Kafka service.
//!
//! This crate owns the user's side of the REST API: one command per endpoint (clusters,
//! operations, configurations, tags), following an operation live (`--wait`), the endpoint and
//! token settings (`sluice login`, `sluice config`), output as tables, JSON or YAML, and turning
//! the API's problem+json errors into one clear line and a documented exit code. It shares every
//! request and response type with the server through `sluice-model` and defines none of its own.
//!
//! Invariants:
//! - `-o json` and `-o yaml` print the API's JSON as received, only indented (keys keep the
//!   server's order), so `jq` sees what the server said; with `--wait` they print the operation's
//!   final document, and progress goes to stderr.
//! - With `-o json|yaml` stdout carries only the document; notes, hints and errors go to stderr.
//! - Updates send the cluster's `current_version`: read first and retried once on a
//!   `version-conflict`, unless `--if-version N` pins it (then no read and no retry).
//! - The config file holds a bearer token and is written with mode 0600.
//!
//! Exit codes (also shown by `sluice --help`):
//!
//! | code | meaning |
//! |------|---------|
//! | 0 | success |
//! | 1 | error, including an operation that ended UPDATE_FAILED, or a server error (5xx) |
//! | 2 | usage: bad arguments, or no endpoint configured |
//! | 3 | cannot connect to the API (refused, DNS, TLS, request timed out) |
//! | 4 | authentication: no token, or the API answered 401 or 403 |
//! | 5 | not found (404) |
//! | 6 | conflict (409): version conflict, invalid state, a change that does not apply to the resource as it stands, name taken, configuration in use |
//! | 7 | invalid request (400, 422), with each field error listed |
//! | 8 | timed out waiting for an operation (`--timeout`); the operation goes on |
//! | 130 | interrupted while waiting; the operation goes on |
//!
//! Tests (`tests/cli/`) run this binary against the real API on an ephemeral port over a real
//! Postgres (`DATABASE_URL`, one database per test); the terminal test drives it in `tmux`.

// First, so that `outln!` is visible in the modules below.
#[macro_use]
mod output;
mod client;
mod clusters;
mod config;
mod configurations;
mod error;
mod operations;
mod progress;
mod properties;
mod tags;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand};
use serde::de::DeserializeOwned;

use crate::client::{query, Client, Resp};
use crate::error::{exit, CliError, EXIT_CODES_HELP};
use crate::output::Format;

#[derive(Debug, Parser)]
#[command(name = "sluice", version, about = "Manage Sluice Kafka clusters", after_help = EXIT_CODES_HELP)]
struct Cli {
    /// API endpoint, such as https://sluice.example.com [env: SLUICE_ENDPOINT]
    #[arg(
        long,
        global = true,
        value_name = "URL",
        help_heading = "Global options"
    )]
    endpoint: Option<String>,
    /// Bearer token [env: SLUICE_TOKEN]
    #[arg(long, global = true, help_heading = "Global options")]
    token: Option<String>,
    /// Output format.
    #[arg(
        long,
        short = 'o',
        global = true,
        value_enum,
        default_value = "table",
        env = "SLUICE_OUTPUT",
        help_heading = "Global options"
    )]
    output: Format,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Kafka clusters.
    #[command(subcommand)]
    Clusters(clusters::ClustersCmd),
    /// Operations that change clusters.
    #[command(subcommand, visible_alias = "ops")]
    Operations(operations::OperationsCmd),
    /// Broker configurations and their revisions.
    #[command(subcommand, visible_alias = "configs")]
    Configurations(configurations::ConfigurationsCmd),
    /// Tags of clusters and configurations.
    #[command(subcommand)]
    Tags(tags::TagsCmd),
    /// Check an endpoint and token against the API and save them to the config file.
    Login(config::LoginArgs),
    /// Show or change the saved endpoint and token.
    #[command(subcommand)]
    Config(config::ConfigCmd),
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Parses `KEY=VALUE` (the value may be empty or contain '=').
pub fn parse_pair(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("expected KEY=VALUE, got {s:?}")),
    }
}

/// Prints an answer: the raw JSON for json/yaml, else through `table`.
pub fn show<T>(format: Format, resp: &Resp<T>, table: impl FnOnce(&T)) -> Result<(), CliError> {
    match format {
        Format::Table => {
            table(&resp.typed);
            Ok(())
        }
        _ => output::print_doc(format, &resp.body),
    }
}

/// Paging of the list commands.
#[derive(Debug, Args)]
pub struct PageArgs {
    /// Page size, 1–100 (the API's default is 10).
    #[arg(long)]
    max_results: Option<u32>,
    /// Where to resume, from a previous page's `next_token`.
    #[arg(long, conflicts_with = "all")]
    next_token: Option<String>,
    /// Fetch every page; json/yaml then show one list with a null `next_token`.
    #[arg(long)]
    all: bool,
}

/// Gets a list endpoint: one page as the API sent it, or with `--all` every page, the `field`
/// arrays joined into one document with a null `next_token`.
pub async fn list_pages<T: DeserializeOwned>(
    client: &Client,
    path: &str,
    base: &[(&str, Option<String>)],
    page: &PageArgs,
    field: &str,
) -> Result<Resp<T>, CliError> {
    let url = |size: Option<u32>, next: Option<String>| {
        let mut pairs = base.to_vec();
        pairs.push(("max_results", size.map(|n| n.to_string())));
        pairs.push(("next_token", next));
        format!("{path}{}", query(&pairs))
    };
    if !page.all {
        return client
            .get(&url(page.max_results, page.next_token.clone()))
            .await;
    }
    let size = Some(page.max_results.unwrap_or(100));
    let mut merged = client.get::<serde_json::Value>(&url(size, None)).await?.raw;
    let mut next = merged
        .get("next_token")
        .and_then(|t| t.as_str())
        .map(str::to_owned);
    while let Some(token) = next {
        let more = client
            .get::<serde_json::Value>(&url(size, Some(token)))
            .await?
            .raw;
        next = more
            .get("next_token")
            .and_then(|t| t.as_str())
            .map(str::to_owned);
        let items = more
            .get(field)
            .and_then(|a| a.as_array())
            .cloned()
            .unwrap_or_default();
        if let Some(all) = merged.get_mut(field).and_then(|a| a.as_array_mut()) {
            all.extend(items);
        }
    }
    merged["next_token"] = serde_json::Value::Null;
    client::parse(merged)
}

/// Asks before a destructive change. Without a terminal there is nobody to ask, so `--yes`
/// must say it instead: a script should not delete things by accident.
pub fn confirm(yes: bool, question: &str) -> Result<(), CliError> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::Usage(format!(
            "{question} Pass --yes to confirm when not running interactively"
        )));
    }
    eprint!("{question} [y/N] ");
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(CliError::Other("aborted; nothing was changed".into()))
    }
}

async fn run(cli: Cli) -> Result<(), CliError> {
    let (endpoint, token) = (cli.endpoint.as_deref(), cli.token.as_deref());
    let client = || -> Result<Client, CliError> {
        let r = config::resolve(endpoint, token)?;
        let (endpoint, _) = r.endpoint.ok_or(CliError::NoEndpoint)?;
        let (token, _) = r.token.ok_or(CliError::NoToken)?;
        Client::new(&endpoint, Some(&token))
    };
    match cli.command {
        Command::Clusters(c) => clusters::run(c, &client()?, cli.output).await,
        Command::Operations(c) => operations::run(c, &client()?, cli.output).await,
        Command::Configurations(c) => configurations::run(c, &client()?, cli.output).await,
        Command::Tags(c) => tags::run(c, &client()?, cli.output).await,
        Command::Login(args) => config::login(args, endpoint, token).await,
        Command::Config(c) => config::run_config(c, cli.output, endpoint, token),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "sluice", &mut script);
            outln!("{}", String::from_utf8_lossy(&script).trim_end());
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            return ExitCode::from(exit::GENERIC);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::from(exit::OK),
        Err(e) => {
            eprintln!("{}", e.render());
            ExitCode::from(e.exit_code())
        }
    }
}
