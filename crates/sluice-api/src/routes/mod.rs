//! One module per REST resource, each with the same shape: `#[utoipa::path]`-documented handlers
//! that check the caller's role, parse, call the store, and map the answer.

pub mod clusters;
pub mod configurations;
pub mod operations;
pub mod responses;
pub mod system;
pub mod tags;
pub mod updates;
