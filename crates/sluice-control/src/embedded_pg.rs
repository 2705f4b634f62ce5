//! A private Postgres for `dev`, run from the system's own binaries in a directory that is kept
//! between runs.
//!
//! Postgres refuses to run as root, so under root it runs as the `postgres` user. That user must
//! be able to reach its data directory and its working directory, and a state directory under
//! root's home (mode 0700) or one made by `mktemp -d` is out of its reach. Rather than loosen the
//! permissions of the user's own directories, root's private Postgres lives in a directory of its
//! own under [`ROOT_DATA_HOME`], owned by `postgres`; the state directory records which one
//! (`pg/location`), so it is still kept between runs and never shared by two state directories.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use tokio::process::Command;

use crate::files::write_atomically;

/// Where root's private Postgres servers live, one directory per state directory.
pub(crate) const ROOT_DATA_HOME: &str = "/var/lib/sluice/dev-postgres";

/// A Postgres server this process found running in its directory or started there.
#[derive(Debug)]
pub(crate) struct EmbeddedPostgres {
    bin: PathBuf,
    /// The server's own directory: data, socket, log; reachable by the user it runs as.
    home: PathBuf,
    data: PathBuf,
    port: u16,
    run_as: Option<String>,
    started_here: bool,
}

const DATABASE: &str = "sluice";

impl EmbeddedPostgres {
    /// Initialises the server kept for `dir` if it is new, starts it unless it already runs,
    /// and makes sure the `sluice` database exists.
    pub(crate) async fn start(dir: &Path) -> anyhow::Result<EmbeddedPostgres> {
        let bin = find_bin_dir()?;
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let dir = dir.canonicalize()?;
        let run_as = is_root().then(|| "postgres".to_owned());
        let home = match &run_as {
            Some(user) => root_home(&dir, user).await?,
            None => dir.clone(),
        };
        let data = home.join("data");
        let mut port = read_or_pick_port(&dir.join("port"))?;
        let mut pg = EmbeddedPostgres {
            bin,
            home,
            data,
            port,
            run_as,
            started_here: false,
        };
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
            // The port kept from the last run may have been taken since by something else.
            if std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
                port = pick_port(&dir.join("port"))?;
                pg.port = port;
            }
            let log = pg.log_file();
            let mut start = pg.tool("pg_ctl");
            start
                .arg("-D")
                .arg(&pg.data)
                .arg("-l")
                .arg(&log)
                .args(["-w", "-t", "60", "-o"])
                .arg(format!(
                    "-p {port} -c listen_addresses=127.0.0.1 -k {} -c fsync=on",
                    pg.home.display()
                ))
                .arg("start");
            pg.run(&mut start, "pg_ctl start").await.with_context(|| {
                format!(
                    "the private Postgres did not start on port {port} (its log: {})",
                    log.display()
                )
            })?;
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
    pub(crate) fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{DATABASE}", self.port)
    }

    /// The server's data directory.
    pub(crate) fn data_dir(&self) -> &Path {
        &self.data
    }

    fn log_file(&self) -> PathBuf {
        self.home.join("postgres.log")
    }

    /// Stops the server if this process started it; one that was already running is left so.
    pub(crate) async fn stop(self) {
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
        let mut c = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(self.bin.join(name));
                c
            }
            None => Command::new(self.bin.join(name)),
        };
        // initdb and pg_ctl change back to the directory they were started in: it must be one
        // the server's user can enter, which the caller's (root's home, say) need not be.
        c.current_dir(&self.home);
        c
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
            let said = format!(
                "{} {}",
                String::from_utf8_lossy(&out.stdout).trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
            // One line: what the tool said, without its blank lines and hints.
            let said = said.split_whitespace().collect::<Vec<_>>().join(" ");
            bail!("{what} failed ({}): {said}", out.status);
        }
        Ok(())
    }
}

/// Root's private Postgres for the state directory `dir`: the one it used before (data under
/// `dir` itself, from before the server moved out, or the directory `dir/location` names), or a
/// new directory under [`ROOT_DATA_HOME`] owned by `user`.
async fn root_home(dir: &Path, user: &str) -> anyhow::Result<PathBuf> {
    if dir.join("data/PG_VERSION").exists() {
        return Ok(dir.to_path_buf());
    }
    let pointer = dir.join("location");
    let home = match std::fs::read_to_string(&pointer) {
        Ok(s) if !s.trim().is_empty() => PathBuf::from(s.trim()),
        _ => {
            let home = Path::new(ROOT_DATA_HOME).join(uuid::Uuid::new_v4().simple().to_string());
            // Written before the directory is made: a crash in between leaves a name, never an
            // unrecorded directory.
            write_atomically(&pointer, home.display().to_string().as_bytes(), 0o644)?;
            home
        }
    };
    create_private_dir(&home, user).await?;
    Ok(home)
}

/// Creates `home` (parents 0755, `home` itself 0700) and gives it to `user`.
async fn create_private_dir(home: &Path, user: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if let Some(parent) = home.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    if !home.exists() {
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(home)
            .with_context(|| format!("creating {}", home.display()))?;
    }
    std::fs::set_permissions(home, std::fs::Permissions::from_mode(0o700))?;
    let out = Command::new("chown")
        .args(["-R", &format!("{user}:")])
        .arg(home)
        .output()
        .await
        .context("running chown")?;
    if !out.status.success() {
        bail!(
            "could not give {} to the {user} user: {}",
            home.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
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
        "no Postgres server binaries found: install the `postgresql` package, or set DATABASE_URL",
    )
}

/// Whether this process runs as root (the owner of /proc/self is who we are).
fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn read_or_pick_port(file: &Path) -> anyhow::Result<u16> {
    if let Ok(s) = std::fs::read_to_string(file) {
        if let Ok(p) = s.trim().parse() {
            return Ok(p);
        }
    }
    pick_port(file)
}

fn pick_port(file: &Path) -> anyhow::Result<u16> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    write_atomically(file, port.to_string().as_bytes(), 0o644)?;
    Ok(port)
}
