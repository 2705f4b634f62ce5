//! SCRAM authentications against a running broker, and what they cost it: wall-clock rate over
//! `CONNS` concurrent connections, and the broker's CPU-seconds per authentication (from
//! `/proc/<pid>/stat`), whose inverse is the rate one broker core sustains. The client side
//! (PBKDF2 with the credential's iterations) runs here, not in the broker.
//!
//! usage: cargo run --release --example sasl_bench -- HOST:PORT BROKER_PID USER PASSWORD [N] [CONNS]

use std::time::Instant;

use sluice_auth::ScramMechanism;
use sluice_kafka_client::{Connection, SaslCredentials};

/// utime + stime of `pid`, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("broker pid");
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    // Linux reports in USER_HZ, 100 on every supported architecture.
    ticks / 100.0
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        eprintln!("usage: sasl_bench HOST:PORT BROKER_PID USER PASSWORD [N] [CONNS]");
        std::process::exit(2);
    }
    let addr = args[1].clone();
    let pid: u32 = args[2].parse().expect("pid");
    let n: usize = args.get(5).map_or(2000, |v| v.parse().expect("N"));
    let conns: usize = args.get(6).map_or(8, |v| v.parse().expect("CONNS"));
    let credentials = SaslCredentials {
        mechanism: ScramMechanism::Sha512,
        user: args[3].clone(),
        password: args[4].clone(),
    };
    let cpu_before = cpu_seconds(pid);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..conns {
        let (addr, credentials) = (addr.clone(), credentials.clone());
        let mine = n / conns + usize::from(i < n % conns);
        tasks.push(tokio::spawn(async move {
            for _ in 0..mine {
                let mut c = Connection::connect(&addr, "sasl-bench")
                    .await
                    .expect("connect");
                c.authenticate(&credentials).await.expect("authenticate");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let wall = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds(pid) - cpu_before;
    println!(
        "SCRAM-SHA-512 authentications: {n} in {wall:.2} s = {:.0}/s over {conns} connections; \
         broker CPU {:.3} ms each = {:.0}/s per broker core",
        n as f64 / wall,
        cpu * 1000.0 / n as f64,
        n as f64 / cpu.max(1e-9)
    );
}
