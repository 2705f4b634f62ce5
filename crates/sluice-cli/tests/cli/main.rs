//! End-to-end tests of the `sluice` binary against the real API and a real Postgres
//! (`DATABASE_URL`, one database per test). The terminal test needs `tmux`.

mod clusters;
mod configurations;
mod errors;
mod harness;
mod wait;
