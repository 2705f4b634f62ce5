//! `sluice tags …`: list, add and remove the tags of a cluster or a configuration.

use clap::{Args, Subcommand};
use sluice_model::{TagList, TagResourceRequest};

use crate::client::{query, Client, Resp};
use crate::clusters::resolve_cluster;
use crate::configurations::resolve_configuration;
use crate::error::CliError;
use crate::output::{self, Format};
use crate::{parse_pair, show};

#[derive(Debug, Subcommand)]
pub(crate) enum TagsCmd {
    /// Show the tags of a resource.
    #[command(visible_alias = "ls")]
    List {
        #[command(flatten)]
        target: Target,
    },
    /// Add tags, or change the value of existing keys.
    Add {
        #[command(flatten)]
        target: Target,
        /// KEY=VALUE pairs.
        #[arg(required = true, value_name = "KEY=VALUE", value_parser = parse_pair)]
        tags: Vec<(String, String)>,
    },
    /// Remove tags by key; keys that are not there are ignored.
    #[command(visible_alias = "rm")]
    Remove {
        #[command(flatten)]
        target: Target,
        #[arg(required = true, value_name = "KEY")]
        keys: Vec<String>,
    },
}

/// Exactly one resource, by name or id.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub(crate) struct Target {
    /// A cluster's name or id.
    #[arg(long)]
    cluster: Option<String>,
    /// A configuration's name or id.
    #[arg(long)]
    configuration: Option<String>,
}

impl Target {
    async fn path(&self, client: &Client) -> Result<String, CliError> {
        match (&self.cluster, &self.configuration) {
            (Some(c), _) => Ok(format!(
                "/v1/clusters/{}/tags",
                resolve_cluster(client, c).await?
            )),
            (None, Some(c)) => Ok(format!(
                "/v1/configurations/{}/tags",
                resolve_configuration(client, c).await?
            )),
            (None, None) => Err(CliError::Usage("give --cluster or --configuration".into())),
        }
    }
}

fn print_tags(l: &TagList) {
    let mut t = output::table(&["KEY", "VALUE"]);
    for (k, v) in &l.tags {
        output::add_row(&mut t, vec![k.clone(), v.clone()]);
    }
    output::print_table(&t);
}

pub(crate) async fn run(cmd: TagsCmd, client: &Client, format: Format) -> Result<(), CliError> {
    let resp: Resp<TagList> = match cmd {
        TagsCmd::List { target } => client.get(&target.path(client).await?).await?,
        TagsCmd::Add { target, tags } => {
            let req = TagResourceRequest {
                tags: tags.into_iter().collect(),
            };
            client.post(&target.path(client).await?, &req).await?
        }
        TagsCmd::Remove { target, keys } => {
            // The API takes keys comma-separated, so a key with a comma cannot be named.
            if let Some(k) = keys.iter().find(|k| k.contains(',') || k.is_empty()) {
                return Err(CliError::Usage(format!(
                    "invalid tag key {k:?}: keys are non-empty and have no commas"
                )));
            }
            let q = query(&[("keys", Some(keys.join(",")))]);
            client
                .delete(&format!("{}{q}", target.path(client).await?))
                .await?
        }
    };
    show(format, &resp, print_tags)
}
