use super::*;

pub(crate) fn settings() -> Settings {
    Settings {
        namespace: "kafka".into(),
        broker_image: "sluice/sluice-broker:0.1.0".into(),
        image_pull_policy: None,
        storage_class: Some("fast".into()),
        cluster_domain: "cluster.local".into(),
        pdb_api: PdbApi::V1,
    }
}

fn spec() -> BrokerSpec {
    BrokerSpec {
        cluster_id: Uuid::parse_str("0190a3f0-0000-7000-8000-000000000001").unwrap(),
        broker_id: 2,
        kafka_version: "3.7.0".into(),
        storage_gib: 100,
        cpu_millis: 2000,
        memory_mib: 8192,
        broker_count: 3,
        zone_count: 3,
        server_properties: "num.partitions=3\n".into(),
        fingerprint: "3.7.0/-/2000m/8192Mi".into(),
    }
}

#[test]
fn names_fit_dns_labels() {
    let n = Names::new(spec().cluster_id);
    for name in [
        n.pod(60),
        n.pvc(60),
        n.headless(),
        n.bootstrap(),
        n.secret(),
    ] {
        assert!(name.len() <= 63, "{name}");
        assert!(name.starts_with(|c: char| c.is_ascii_lowercase()), "{name}");
    }
}

#[test]
fn properties_list_every_voter_after_the_users_settings() {
    let s = settings();
    let p = server_properties(&spec(), &Names::new(spec().cluster_id), &s, 3);
    let voters = p
        .lines()
        .find_map(|l| l.strip_prefix("controller.quorum.voters="))
        .unwrap();
    let base = "sluice-0190a3f0-0000-7000-8000-000000000001-brokers.kafka.svc.cluster.local";
    assert_eq!(
        voters,
        format!("1@broker-1.{base}:9093,2@broker-2.{base}:9093,3@broker-3.{base}:9093")
    );
    assert!(p.starts_with("# The cluster's configuration revision\nnum.partitions=3\n"));
    assert!(p.contains("cluster.id=0190a3f0-0000-7000-8000-000000000001\n"));
}

#[test]
fn voters_are_at_most_three_and_follow_the_recorded_count_not_the_brokers() {
    assert_eq!(initial_voters(1), 1);
    assert_eq!(initial_voters(2), 2);
    assert_eq!(initial_voters(3), 3);
    assert_eq!(initial_voters(9), 3);
    // A cluster created with one broker and scaled to 5 keeps its one voter.
    let mut big = spec();
    big.broker_count = 5;
    let cm = config_map(&big, &settings(), 1);
    assert_eq!(cm["metadata"]["annotations"][ANN_QUORUM_VOTERS], "1");
    let p = cm["data"]["server.properties"].as_str().unwrap();
    let voters = p
        .lines()
        .find_map(|l| l.strip_prefix("controller.quorum.voters="))
        .unwrap();
    assert_eq!(voters.split(',').count(), 1, "{voters}");
    assert!(voters.starts_with("1@broker-1."), "{voters}");
}

#[test]
fn pods_get_the_broker_types_resources_and_their_own_volume() {
    let s = settings();
    let owner = owner_reference(&Names::new(spec().cluster_id), "u-1");
    let p = pod(&spec(), &s, &owner);
    let c = &p["spec"]["containers"][0];
    assert_eq!(c["resources"]["requests"]["cpu"], "2000m");
    assert_eq!(c["resources"]["limits"]["memory"], "8192Mi");
    assert_eq!(
        p["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"],
        "sluice-0190a3f0-0000-7000-8000-000000000001-data-2"
    );
    assert_eq!(p["metadata"]["labels"][LABEL_BROKER], "2");
    assert_eq!(p["metadata"]["ownerReferences"][0]["uid"], "u-1");
    assert_eq!(
        p["spec"]["topologySpreadConstraints"][0]["whenUnsatisfiable"],
        "DoNotSchedule"
    );
    assert_eq!(
        p["spec"]["subdomain"],
        Names::new(spec().cluster_id).headless()
    );
}

#[test]
fn pdb_version_follows_the_server() {
    assert_eq!(PdbApi::for_server("1", "20"), PdbApi::V1beta1);
    assert_eq!(PdbApi::for_server("1", "21+"), PdbApi::V1);
    assert_eq!(PdbApi::for_server("1", "33"), PdbApi::V1);
}

#[test]
fn quantities_parse_to_gib() {
    assert_eq!(parse_gib("100Gi"), Some(100));
    assert_eq!(parse_gib("1Ti"), Some(1024));
    assert_eq!(parse_gib("2147483648"), Some(2));
    assert_eq!(parse_gib("10x"), None);
}

#[test]
fn all_objects_are_labelled_and_owned() {
    let docs = all(&spec(), &settings());
    assert_eq!(docs.len(), 5 + 2 * 3);
    for d in &docs {
        assert_eq!(
            d["metadata"]["labels"][LABEL_CLUSTER],
            "0190a3f0-0000-7000-8000-000000000001"
        );
        if d["kind"] != "ConfigMap" {
            assert_eq!(d["metadata"]["ownerReferences"][0]["kind"], "ConfigMap");
        }
    }
}

#[test]
fn brokers_get_the_clusters_admin_secret_readable_by_them_only() {
    let s = settings();
    let owner = json!({});
    let secret = secret(spec().cluster_id, &s, &owner, "pw", "00ff");
    assert_eq!(secret["stringData"]["admin-secret"], "00ff");
    let pod = pod(&spec(), &s, &owner);
    let env = pod["spec"]["containers"][0]["env"].as_array().unwrap();
    assert!(env.iter().any(
        |e| e["name"] == "SLUICE_ADMIN_SECRET_FILE" && e["value"] == "/run/sluice/admin.secret"
    ));
    let volumes = pod["spec"]["volumes"].as_array().unwrap();
    let credentials = volumes.iter().find(|v| v["name"] == "credentials").unwrap();
    assert_eq!(credentials["secret"]["defaultMode"], 0o400);
    assert!(LAUNCH_SCRIPT.contains(
        "(umask 077 && cp /etc/sluice/credentials/admin-secret /run/sluice/admin.secret)"
    ));
}
