//! Where the endpoint and token come from: flags, then `SLUICE_ENDPOINT`/`SLUICE_TOKEN`, then the
//! config file that `sluice login` writes. Also the `login` and `config` commands.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::Subcommand;
use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::error::CliError;
use crate::output::{self, Format};

/// What the config file holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// `$SLUICE_CONFIG`, else `<config dir>/sluice/config.toml` (`$XDG_CONFIG_HOME` or
/// `~/.config` on Linux).
pub(crate) fn config_path() -> Result<PathBuf, CliError> {
    if let Some(p) = std::env::var_os("SLUICE_CONFIG").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    dirs::config_dir()
        .map(|d| d.join("sluice").join("config.toml"))
        .ok_or_else(|| {
            CliError::Usage("cannot find a config directory: set HOME or SLUICE_CONFIG".into())
        })
}

pub(crate) fn load(path: &Path) -> Result<FileConfig, CliError> {
    match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text).map_err(|e| {
            CliError::Usage(format!("config file {} is invalid: {e}", path.display()))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(FileConfig::default()),
        Err(e) => Err(CliError::Other(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}

/// Writes the file readable by its owner only, since it holds a bearer token.
pub(crate) fn save(path: &Path, config: &FileConfig) -> Result<(), CliError> {
    let fail = |e: std::io::Error| CliError::Other(format!("cannot write {}: {e}", path.display()));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let text = toml::to_string(config).map_err(|e| CliError::Other(e.to_string()))?;
    // Write a sibling and rename, so a crash never leaves a half-written config behind.
    let tmp = path.with_extension("toml.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(&tmp).map_err(fail)?;
    #[cfg(unix)]
    {
        // `mode` applies only to a new file; an old leftover keeps its mode unless set.
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(fail)?;
    }
    f.write_all(text.as_bytes()).map_err(fail)?;
    f.sync_all().map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)
}

/// Where a setting's value came from, for `sluice config show`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    Flag,
    Env,
    File,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Flag => "flag",
            Source::Env => "environment",
            Source::File => "config file",
        }
    }
}

/// The endpoint and token in force, each with its source.
#[derive(Debug, Clone, Default)]
pub(crate) struct Resolved {
    pub endpoint: Option<(String, Source)>,
    pub token: Option<(String, Source)>,
}

fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

pub(crate) fn resolve(
    flag_endpoint: Option<&str>,
    flag_token: Option<&str>,
) -> Result<Resolved, CliError> {
    let file = load(&config_path()?)?;
    let pick = |flag: Option<&str>, env: &str, file: Option<String>| {
        flag.map(|v| (v.to_owned(), Source::Flag))
            .or_else(|| env_nonempty(env).map(|v| (v, Source::Env)))
            .or_else(|| file.map(|v| (v, Source::File)))
    };
    Ok(Resolved {
        endpoint: pick(flag_endpoint, "SLUICE_ENDPOINT", file.endpoint),
        token: pick(flag_token, "SLUICE_TOKEN", file.token),
    })
}

#[derive(Debug, clap::Args)]
pub(crate) struct LoginArgs {
    /// Read the token from standard input instead of asking for it.
    #[arg(long)]
    token_stdin: bool,
    /// Save without first checking that the API accepts the token.
    #[arg(long)]
    no_verify: bool,
}

/// `sluice login`: checks the endpoint and token against the API, then saves both.
pub(crate) async fn login(
    args: LoginArgs,
    flag_endpoint: Option<&str>,
    flag_token: Option<&str>,
) -> Result<(), CliError> {
    let path = config_path()?;
    let mut file = load(&path)?;
    let endpoint = flag_endpoint
        .map(str::to_owned)
        .or_else(|| env_nonempty("SLUICE_ENDPOINT"))
        .or(file.endpoint.clone())
        .ok_or(CliError::NoEndpoint)?;
    let token = match flag_token {
        Some(t) => t.to_owned(),
        None if args.token_stdin => read_token(false)?,
        None => match env_nonempty("SLUICE_TOKEN") {
            Some(t) => t,
            None => read_token(std::io::stdin().is_terminal())?,
        },
    };
    if !args.no_verify {
        let client = Client::new(&endpoint, Some(&token))?;
        // The cheapest authenticated read: proves the endpoint is Sluice and the token is accepted.
        client
            .get::<sluice_model::ClusterList>("/v1/clusters?max_results=1")
            .await?;
    }
    file.endpoint = Some(endpoint.clone());
    file.token = Some(token);
    save(&path, &file)?;
    eprintln!("Logged in to {endpoint}; saved to {}", path.display());
    Ok(())
}

/// Reads a token from stdin; at a terminal, asks for it without echoing it to the screen.
fn read_token(prompt: bool) -> Result<String, CliError> {
    let line = if prompt {
        rpassword::prompt_password("Token: ")?
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line
    };
    let token = line.trim().to_owned();
    if token.is_empty() {
        return Err(CliError::NoToken);
    }
    Ok(token)
}

#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCmd {
    /// Show the endpoint and token in force and where each comes from (the token is masked).
    Show,
    /// Print the config file's path.
    Path,
    /// Save a setting to the config file.
    Set {
        #[arg(value_enum)]
        key: Key,
        value: String,
    },
    /// Remove a setting from the config file.
    Unset {
        #[arg(value_enum)]
        key: Key,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum Key {
    Endpoint,
    Token,
}

/// Enough of a token to tell two apart, never enough to use.
fn mask(token: &str) -> String {
    let n = token.chars().count();
    if n <= 12 {
        "****".into()
    } else {
        let head: String = token.chars().take(4).collect();
        let tail: String = token.chars().skip(n - 4).collect();
        format!("{head}…{tail}")
    }
}

pub(crate) fn run_config(
    cmd: ConfigCmd,
    format: Format,
    flag_endpoint: Option<&str>,
    flag_token: Option<&str>,
) -> Result<(), CliError> {
    let path = config_path()?;
    match cmd {
        ConfigCmd::Path => outln!("{}", path.display()),
        ConfigCmd::Show => {
            let r = resolve(flag_endpoint, flag_token)?;
            let value = serde_json::json!({
                "config_file": path.display().to_string(),
                "endpoint": r.endpoint.as_ref().map(|(v, _)| v.clone()),
                "endpoint_source": r.endpoint.as_ref().map(|(_, s)| s.as_str()),
                "token": r.token.as_ref().map(|(v, _)| mask(v)),
                "token_source": r.token.as_ref().map(|(_, s)| s.as_str()),
            });
            match format {
                Format::Table => {
                    let show = |o: &Option<(String, Source)>, f: &dyn Fn(&str) -> String| match o {
                        Some((v, s)) => format!("{} (from {})", f(v), s.as_str()),
                        None => "(not set)".into(),
                    };
                    let rows = vec![
                        ("config file", path.display().to_string()),
                        ("endpoint", show(&r.endpoint, &|v| v.to_owned())),
                        ("token", show(&r.token, &mask)),
                    ];
                    output::print_kv(&rows);
                }
                _ => output::print_value(format, &value)?,
            }
        }
        ConfigCmd::Set { key, value } => {
            let mut file = load(&path)?;
            match key {
                Key::Endpoint => file.endpoint = Some(value),
                Key::Token => file.token = Some(value),
            }
            save(&path, &file)?;
        }
        ConfigCmd::Unset { key } => {
            let mut file = load(&path)?;
            match key {
                Key::Endpoint => file.endpoint = None,
                Key::Token => file.token = None,
            }
            save(&path, &file)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_owner_only_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sluice").join("config.toml");
        let c = FileConfig {
            endpoint: Some("http://x".into()),
            token: Some("t".into()),
        };
        save(&path, &c).unwrap();
        assert_eq!(load(&path).unwrap(), c);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }

    #[test]
    fn masks_tokens() {
        assert_eq!(mask("short"), "****");
        assert_eq!(mask("eyJhbGciOiJIUzI1NiJ9.abc.defg"), "eyJh…defg");
    }
}
