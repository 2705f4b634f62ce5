//! `sluice configurations …`: broker configurations, their revisions, and the settings catalogue.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use sluice_model::{
    Catalogue, Configuration, ConfigurationList, ConfigurationRef, ConfigurationRevision,
    CreateConfigurationRequest, CreateRevisionRequest, RevisionList,
};
use uuid::Uuid;

use crate::client::{query, Client, Resp};
use crate::error::CliError;
use crate::output::{self, Format};
use crate::{parse_pair, show};

#[derive(Debug, Subcommand)]
pub(crate) enum ConfigurationsCmd {
    /// Create a configuration with its first revision.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        description: Option<String>,
        /// A Kafka version the configuration may be applied to; repeat for more (default: any).
        #[arg(long = "kafka-version", value_name = "VERSION")]
        kafka_versions: Vec<String>,
        #[command(flatten)]
        props: PropertiesArgs,
        /// A tag, KEY=VALUE; repeat for more.
        #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse_pair)]
        tags: Vec<(String, String)>,
    },
    /// List configurations.
    #[command(visible_alias = "ls")]
    List {
        #[command(flatten)]
        page: crate::PageArgs,
    },
    /// Show a configuration and its latest revision's settings.
    #[command(visible_alias = "get")]
    Describe {
        /// The configuration's name or id.
        configuration: String,
    },
    /// Add a revision with a new set of settings (clusters keep theirs until `clusters apply-config`).
    Revise {
        /// The configuration's name or id.
        configuration: String,
        #[arg(long)]
        description: Option<String>,
        #[command(flatten)]
        props: PropertiesArgs,
    },
    /// List a configuration's revisions, or show one with its settings.
    Revisions {
        /// The configuration's name or id.
        configuration: String,
        /// Show this revision's settings.
        revision: Option<i64>,
        #[command(flatten)]
        page: crate::PageArgs,
    },
    /// Delete a configuration that no cluster uses.
    Delete {
        /// The configuration's name or id.
        configuration: String,
        /// Do not ask for confirmation (needed when standard input is not a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// The broker settings a configuration may carry, with their types, ranges and defaults.
    Catalogue,
}

/// Broker settings from flags and/or a `server.properties` file; a flag overrides the file.
#[derive(Debug, Args)]
pub(crate) struct PropertiesArgs {
    /// A broker setting, KEY=VALUE; repeat for more.
    #[arg(long = "property", short = 'p', value_name = "KEY=VALUE", value_parser = parse_pair)]
    properties: Vec<(String, String)>,
    /// A Java properties file of broker settings, such as server.properties.
    #[arg(long, value_name = "FILE")]
    properties_file: Option<PathBuf>,
}

impl PropertiesArgs {
    fn collect(&self) -> Result<BTreeMap<String, serde_json::Value>, CliError> {
        let mut map = BTreeMap::new();
        if let Some(path) = &self.properties_file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", path.display())))?;
            let parsed = crate::properties::parse(&text)
                .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?;
            map.extend(parsed);
        }
        map.extend(self.properties.iter().cloned());
        if map.is_empty() {
            return Err(CliError::Usage(
                "give at least one --property KEY=VALUE or a --properties-file".into(),
            ));
        }
        Ok(map
            .into_iter()
            .map(|(k, v)| (k, serde_json::Value::String(v)))
            .collect())
    }
}

/// Accepts a configuration id or its name.
pub(crate) async fn resolve_configuration(client: &Client, s: &str) -> Result<Uuid, CliError> {
    if let Ok(id) = Uuid::parse_str(s) {
        return Ok(id);
    }
    let mut next: Option<String> = None;
    loop {
        let q = query(&[
            ("max_results", Some("100".into())),
            ("next_token", next.clone()),
        ]);
        let page = client
            .get::<ConfigurationList>(&format!("/v1/configurations{q}"))
            .await?
            .typed;
        if let Some(c) = page.configurations.iter().find(|c| c.name == s) {
            return Ok(c.id);
        }
        match page.next_token {
            Some(t) => next = Some(t),
            None => return Err(CliError::NotFound(format!("no configuration named {s:?}"))),
        }
    }
}

/// A configuration and revision; without a revision, the latest.
pub(crate) async fn resolve_configuration_ref(
    client: &Client,
    s: &str,
    revision: Option<i64>,
) -> Result<ConfigurationRef, CliError> {
    let id = resolve_configuration(client, s).await?;
    let revision = match revision {
        Some(r) => r,
        None => {
            client
                .get::<Configuration>(&format!("/v1/configurations/{id}"))
                .await?
                .typed
                .latest_revision
                .revision
        }
    };
    Ok(ConfigurationRef { id, revision })
}

pub(crate) async fn run(
    cmd: ConfigurationsCmd,
    client: &Client,
    format: Format,
) -> Result<(), CliError> {
    match cmd {
        ConfigurationsCmd::Create {
            name,
            description,
            kafka_versions,
            props,
            tags,
        } => {
            let req = CreateConfigurationRequest {
                name,
                description,
                kafka_versions,
                server_properties: props.collect()?,
                tags: tags.into_iter().collect(),
            };
            let resp = client
                .post::<Configuration, _>("/v1/configurations", &req)
                .await?;
            show(format, &resp, print_configuration)
        }
        ConfigurationsCmd::List { page } => {
            let resp: Resp<ConfigurationList> =
                crate::list_pages(client, "/v1/configurations", &[], &page, "configurations")
                    .await?;
            show(format, &resp, |l| {
                let mut t = output::table(&[
                    "NAME",
                    "ID",
                    "REVISION",
                    "KAFKA VERSIONS",
                    "SETTINGS",
                    "AGE",
                ]);
                for c in &l.configurations {
                    let cells = vec![
                        c.name.clone(),
                        c.id.to_string(),
                        c.latest_revision.revision.to_string(),
                        versions(&c.kafka_versions),
                        c.latest_revision.server_properties.len().to_string(),
                        output::age(&c.created_at),
                    ];
                    output::add_row(&mut t, cells);
                }
                output::keep_whole(&mut t, &[0]);
                output::print_table(&t);
                output::next_page_hint(&l.next_token);
            })
        }
        ConfigurationsCmd::Describe { configuration } => {
            let id = resolve_configuration(client, &configuration).await?;
            let resp = client
                .get::<Configuration>(&format!("/v1/configurations/{id}"))
                .await?;
            show(format, &resp, print_configuration)
        }
        ConfigurationsCmd::Revise {
            configuration,
            description,
            props,
        } => {
            let id = resolve_configuration(client, &configuration).await?;
            let req = CreateRevisionRequest {
                description,
                server_properties: props.collect()?,
            };
            let resp = client
                .post::<ConfigurationRevision, _>(
                    &format!("/v1/configurations/{id}/revisions"),
                    &req,
                )
                .await?;
            show(format, &resp, print_revision)
        }
        ConfigurationsCmd::Revisions {
            configuration,
            revision,
            page,
        } => {
            let id = resolve_configuration(client, &configuration).await?;
            if let Some(rev) = revision {
                let path = format!("/v1/configurations/{id}/revisions/{rev}");
                let resp = client.get::<ConfigurationRevision>(&path).await?;
                return show(format, &resp, print_revision);
            }
            let path = format!("/v1/configurations/{id}/revisions");
            let resp: Resp<RevisionList> =
                crate::list_pages(client, &path, &[], &page, "revisions").await?;
            show(format, &resp, |l| {
                let mut t = output::table(&["REVISION", "SETTINGS", "CREATED", "DESCRIPTION"]);
                for r in &l.revisions {
                    let cells = vec![
                        r.revision.to_string(),
                        r.server_properties.len().to_string(),
                        output::time(&r.created_at),
                        output::or_dash(&r.description),
                    ];
                    output::add_row(&mut t, cells);
                }
                output::print_table(&t);
                output::next_page_hint(&l.next_token);
            })
        }
        ConfigurationsCmd::Delete { configuration, yes } => {
            let id = resolve_configuration(client, &configuration).await?;
            crate::confirm(
                yes,
                &format!("Delete configuration {configuration} and all its revisions?"),
            )?;
            client
                .delete_empty(&format!("/v1/configurations/{id}"))
                .await?;
            match format {
                Format::Table => outln!("Deleted configuration {configuration} ({id})."),
                // 204 has no body; scripts still get a document to parse.
                _ => output::print_value(format, &serde_json::json!({"id": id, "deleted": true}))?,
            }
            Ok(())
        }
        ConfigurationsCmd::Catalogue => {
            let resp = client
                .get::<Catalogue>("/v1/configurations/catalogue")
                .await?;
            show(format, &resp, print_catalogue)
        }
    }
}

fn versions(v: &[String]) -> String {
    if v.is_empty() {
        "any".into()
    } else {
        v.join(", ")
    }
}

fn print_configuration(c: &Configuration) {
    let rows = vec![
        ("name", c.name.clone()),
        ("id", c.id.to_string()),
        ("description", output::or_dash(&c.description)),
        ("kafka versions", versions(&c.kafka_versions)),
        ("state", format!("{:?}", c.state).to_uppercase()),
        ("latest revision", c.latest_revision.revision.to_string()),
        ("tags", output::tags(&c.tags)),
        ("created", output::time(&c.created_at)),
    ];
    output::print_kv(&rows);
    outln!();
    print_settings(&c.latest_revision.server_properties);
}

fn print_revision(r: &ConfigurationRevision) {
    let rows = vec![
        ("revision", r.revision.to_string()),
        ("description", output::or_dash(&r.description)),
        ("created", output::time(&r.created_at)),
    ];
    output::print_kv(&rows);
    outln!();
    print_settings(&r.server_properties);
}

fn print_settings(props: &BTreeMap<String, String>) {
    let mut t = output::table(&["SETTING", "VALUE"]);
    for (k, v) in props {
        output::add_row(&mut t, vec![k.clone(), v.clone()]);
    }
    output::print_table(&t);
}

/// A bound as a person writes it: `10000`, not `10000.0`; none at all for "as large as a long".
fn bound(n: Option<f64>) -> String {
    match n {
        Some(f) if f.abs() >= 1e15 => String::new(),
        Some(f) if f.fract() == 0.0 => format!("{}", f as i64),
        Some(f) => f.to_string(),
        None => String::new(),
    }
}

fn print_catalogue(c: &Catalogue) {
    let mut t = output::table(&["SETTING", "KIND", "DEFAULT", "RANGE", "DESCRIPTION"]);
    for setting in &c.settings {
        let range = if !setting.allowed.is_empty() {
            setting.allowed.join("|")
        } else {
            match (bound(setting.min), bound(setting.max)) {
                (lo, hi) if lo.is_empty() && hi.is_empty() => "-".into(),
                (lo, hi) => format!("{lo}..{hi}"),
            }
        };
        let cells = vec![
            setting.name.clone(),
            setting.kind.clone(),
            setting.default.clone(),
            range,
            setting.doc.clone(),
        ];
        output::add_row(&mut t, cells);
    }
    output::keep_whole(&mut t, &[0]);
    output::print_table(&t);
}
