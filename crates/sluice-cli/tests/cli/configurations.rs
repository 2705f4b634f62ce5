//! Configuration commands, configuration tags, `login` and `config`.

use serde_json::Value;
use sqlx::PgPool;

use crate::harness::{write_file, Env};

#[sqlx::test(migrations = "../../migrations")]
async fn configurations_through_every_command(pool: PgPool) {
    let env = Env::start(pool).await;
    let file = write_file(
        env.home.path(),
        "server.properties",
        "# broker defaults\nnum.partitions = 6\nlog.retention.ms: 86400000\ncompression.type zstd\n",
    );
    let created = env
        .run(&[
            "-o",
            "json",
            "configurations",
            "create",
            "--name",
            "base",
            "--description",
            "defaults",
            "--kafka-version",
            "3.7.0",
            "--properties-file",
            file.to_str().unwrap(),
            "--property",
            "num.partitions=12",
            "--tag",
            "owner=ops",
        ])
        .await
        .json();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created, env.api(&format!("/v1/configurations/{id}")).await);
    let props = &created["latest_revision"]["server_properties"];
    assert_eq!(props["num.partitions"], "12", "a flag overrides the file");
    assert_eq!(props["log.retention.ms"], "86400000");
    assert_eq!(props["compression.type"], "zstd");

    let yaml = env
        .run(&["-o", "yaml", "configurations", "describe", "base"])
        .await;
    assert_eq!(serde_norway::from_str::<Value>(yaml.ok()).unwrap(), created);
    let table = env.run(&["configurations", "describe", &id]).await;
    assert!(
        table.ok().contains("log.retention.ms") && table.stdout.contains("86400000"),
        "{}",
        table.stdout
    );

    assert_eq!(
        env.run(&["-o", "json", "configs", "list"]).await.json(),
        env.api("/v1/configurations").await
    );
    assert!(env
        .run(&["configurations", "list"])
        .await
        .ok()
        .contains("base"));

    let rev = env
        .run(&[
            "-o",
            "json",
            "configurations",
            "revise",
            "base",
            "-p",
            "num.partitions=3",
            "--description",
            "fewer",
        ])
        .await
        .json();
    assert_eq!(rev["revision"], 2);
    assert_eq!(
        rev,
        env.api(&format!("/v1/configurations/{id}/revisions/2"))
            .await
    );
    let revs = env
        .run(&["-o", "json", "configurations", "revisions", "base"])
        .await
        .json();
    assert_eq!(
        revs,
        env.api(&format!("/v1/configurations/{id}/revisions")).await
    );
    assert_eq!(revs["revisions"].as_array().unwrap().len(), 2);
    let one = env
        .run(&["-o", "json", "configurations", "revisions", "base", "1"])
        .await
        .json();
    assert_eq!(
        one,
        env.api(&format!("/v1/configurations/{id}/revisions/1"))
            .await
    );
    assert!(env
        .run(&["configurations", "revisions", "base"])
        .await
        .ok()
        .contains("fewer"));

    let cat = env
        .run(&["-o", "json", "configurations", "catalogue"])
        .await
        .json();
    assert_eq!(cat, env.api("/v1/configurations/catalogue").await);
    assert!(env
        .run(&["configurations", "catalogue"])
        .await
        .ok()
        .contains("num.partitions"));

    // Tags on a configuration.
    let tags = env
        .run(&[
            "-o",
            "json",
            "tags",
            "add",
            "--configuration",
            "base",
            "tier=gold",
        ])
        .await
        .json();
    assert_eq!(
        tags["tags"],
        serde_json::json!({"owner": "ops", "tier": "gold"})
    );
    let tags = env
        .run(&["-o", "yaml", "tags", "rm", "--configuration", &id, "owner"])
        .await;
    assert_eq!(
        serde_norway::from_str::<Value>(tags.ok()).unwrap(),
        env.api(&format!("/v1/configurations/{id}/tags")).await
    );
    assert!(env
        .run(&["tags", "list", "--configuration", "base"])
        .await
        .ok()
        .contains("gold"));

    // A bad properties file is a usage error naming the line; no settings at all too.
    let bad = write_file(env.home.path(), "bad.properties", "a=1\nb=\\u12\n");
    let out = env
        .run(&[
            "configurations",
            "create",
            "--name",
            "x",
            "--properties-file",
            bad.to_str().unwrap(),
        ])
        .await;
    assert_eq!(out.code(), 2, "{}", out.stderr);
    assert!(out.stderr.contains("line 2"), "{}", out.stderr);
    assert_eq!(
        env.run(&["configurations", "create", "--name", "x"])
            .await
            .code(),
        2
    );

    let del = env
        .run(&["configurations", "delete", "base", "--yes"])
        .await;
    assert!(del.ok().contains("Deleted configuration base"));
    let gone = env.run(&["configurations", "describe", &id]).await;
    assert_eq!(gone.code(), 5, "{}", gone.stderr);
}

#[sqlx::test(migrations = "../../migrations")]
async fn login_saves_a_private_config_that_later_commands_use(pool: PgPool) {
    let env = Env::start(pool).await;

    // A rejected token is not saved.
    let mut c = env.command(&[
        "login",
        "--endpoint",
        &env.endpoint,
        "--token",
        "not-a-token",
    ]);
    c.env_remove("SLUICE_ENDPOINT").env_remove("SLUICE_TOKEN");
    let out = Env::output(c).await;
    assert_eq!(out.code(), 4, "{}", out.stderr);
    let path = env.config_home().join("sluice").join("config.toml");
    assert!(!path.exists());

    // The token read from stdin, as a script would pipe it.
    let mut c = env.command(&["login", "--endpoint", &env.endpoint, "--token-stdin"]);
    c.env_remove("SLUICE_ENDPOINT")
        .env_remove("SLUICE_TOKEN")
        .stdin(std::process::Stdio::piped());
    c.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut stdin, format!("{}\n", env.token).as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(&env.endpoint) && text.contains(&env.token));

    // Without env, the file is used; env and flags override it, in that order.
    let mut c = env.command(&["-o", "json", "clusters", "list"]);
    c.env_remove("SLUICE_ENDPOINT").env_remove("SLUICE_TOKEN");
    assert_eq!(Env::output(c).await.json(), env.api("/v1/clusters").await);
    let mut c = env.command(&["-o", "json", "config", "show"]);
    c.env_remove("SLUICE_ENDPOINT");
    let show = Env::output(c).await.json();
    assert_eq!(show["endpoint"], env.endpoint.as_str());
    assert_eq!(show["endpoint_source"], "config file");
    assert_eq!(show["token_source"], "environment");
    assert!(
        !show["token"].as_str().unwrap().contains(&env.token),
        "the token is masked"
    );
    let flag = env
        .run(&[
            "--endpoint",
            "http://127.0.0.1:9",
            "-o",
            "json",
            "config",
            "show",
        ])
        .await
        .json();
    assert_eq!(flag["endpoint_source"], "flag");
    let out = env.run(&["--token", "wrong", "clusters", "list"]).await;
    assert_eq!(out.code(), 4, "the flag beats env and file: {}", out.stderr);

    // config set/unset/path.
    let p = env.run(&["config", "path"]).await;
    assert_eq!(p.ok().trim(), path.to_str().unwrap());
    env.run(&["config", "unset", "token"]).await.ok();
    assert!(!std::fs::read_to_string(&path).unwrap().contains("token"));
    env.run(&["config", "set", "endpoint", "http://127.0.0.1:1"])
        .await
        .ok();
    let mut c = env.command(&["clusters", "list"]);
    c.env_remove("SLUICE_ENDPOINT").env_remove("SLUICE_TOKEN");
    let out = Env::output(c).await;
    assert_eq!(out.code(), 4, "no token anywhere: {}", out.stderr);
    assert!(out.stderr.contains("sluice login"), "{}", out.stderr);
}
