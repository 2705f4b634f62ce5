//! A private Postgres for `dev`, run from the system's own binaries in a directory that is kept
//! between runs. Postgres refuses to run as root, so under root it runs as the `postgres` user.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use tokio::process::Command;

/// A Postgres server this process found running in its directory or started there.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    run_as: Option<String>,
    started_here: bool,
}

const DATABASE: &str = "sluice";

impl EmbeddedPostgres {
    /// Initialises `dir` if it is new, starts the server unless it already runs, and makes sure
    /// the `sluice` database exists.
    pub async fn start(dir: &Path) -> anyhow::Result<EmbeddedPostgres> {
        let bin = find_bin_dir()?;
        let run_as = if is_root().await {
            Some("postgres".to_owned())
        } else {
            None
        };
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let dir = dir.canonicalize()?;
        let data = dir.join("data");
        let port = read_or_pick_port(&dir.join("port"))?;
        let mut pg = EmbeddedPostgres {
            bin,
            data,
            port,
            run_as,
            started_here: false,
        };
        if let Some(user) = &pg.run_as {
            pg.run(Command::new("chown").args(["-R", user]).arg(&dir), "chown")
                .await?;
        }
        if !pg.data.join("PG_VERSION").exists() {
            tracing::info!(dir = %pg.data.display(), "initialising a private Postgres");
            let mut initdb = pg.tool("initdb");
            initdb.arg("-D").arg(&pg.data).args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ]);
            pg.run(&mut initdb, "initdb").await?;
        }
        let mut status = pg.tool("pg_ctl");
        status.arg("-D").arg(&pg.data).arg("status");
        let running = pg
            .wrap(&mut status)
            .output()
            .await
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !running {
            let mut start = pg.tool("pg_ctl");
            start
                .arg("-D")
                .arg(&pg.data)
                .arg("-l")
                .arg(dir.join("postgres.log"))
                .args(["-w", "-t", "60", "-o"])
                .arg(format!(
                    "-p {port} -c listen_addresses=127.0.0.1 -k {} -c fsync=on",
                    dir.display()
                ))
                .arg("start");
            pg.run(&mut start, "pg_ctl start").await?;
            pg.started_here = true;
        }
        let mut createdb = pg.tool("createdb");
        createdb.args([
            "-h",
            "127.0.0.1",
            "-p",
            &pg.port.to_string(),
            "-U",
            "postgres",
            DATABASE,
        ]);
        let out = pg
            .wrap(&mut createdb)
            .output()
            .await
            .context("running createdb")?;
        if !out.status.success() && !String::from_utf8_lossy(&out.stderr).contains("already exists")
        {
            bail!(
                "createdb failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(pg)
    }

    /// The URL of the `sluice` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{DATABASE}", self.port)
    }

    /// Stops the server if this process started it; one that was already running is left so.
    pub async fn stop(self) {
        if !self.started_here {
            return;
        }
        let mut stop = self.tool("pg_ctl");
        stop.arg("-D")
            .arg(&self.data)
            .args(["-m", "fast", "-w", "stop"]);
        if let Err(e) = self.run(&mut stop, "pg_ctl stop").await {
            tracing::warn!(error = %e, "could not stop the private Postgres");
        }
    }

    fn tool(&self, name: &str) -> Command {
        match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(self.bin.join(name));
                c
            }
            None => Command::new(self.bin.join(name)),
        }
    }

    fn wrap<'a>(&self, c: &'a mut Command) -> &'a mut Command {
        c.stdin(std::process::Stdio::null()).kill_on_drop(true)
    }

    async fn run(&self, c: &mut Command, what: &str) -> anyhow::Result<()> {
        let out = self
            .wrap(c)
            .output()
            .await
            .with_context(|| format!("running {what}"))?;
        if !out.status.success() {
            bail!(
                "{what} failed ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout).trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(())
    }
}

/// The directory holding `initdb` and `pg_ctl`: from PATH, else the newest under /usr/lib/postgresql.
fn find_bin_dir() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("initdb").is_file() && dir.join("pg_ctl").is_file() {
                // Debian links these into PATH; resolve to find the sibling tools.
                let real = dir.join("initdb").canonicalize()?;
                return Ok(real.parent().map(Path::to_path_buf).unwrap_or(dir));
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).context(
        "no Postgres server binaries found (install the `postgresql` package, or set DATABASE_URL)",
    )
}

async fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .await
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn read_or_pick_port(file: &Path) -> anyhow::Result<u16> {
    if let Ok(s) = std::fs::read_to_string(file) {
        if let Ok(p) = s.trim().parse() {
            return Ok(p);
        }
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    std::fs::write(file, port.to_string())?;
    Ok(port)
}
