//! `sluice-broker` binary: parses configuration, binds the listeners and runs until SIGTERM/SIGINT.

use anyhow::Context;
use clap::Parser;
use sluice_broker::{BrokerConfig, Cli};
use tokio::signal::unix::{signal, SignalKind};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cli = Cli::parse();
    let config = BrokerConfig::from_cli(&cli).context("invalid configuration")?;
    let mut term = signal(SignalKind::terminate()).context("installing SIGTERM handler")?;
    let shutdown = async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM received"),
            _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received"),
        }
    };
    sluice_broker::run(config, shutdown)
        .await
        .context("broker failed")?;
    Ok(())
}
