//! The Zendesk-compatible sandbox server (`zdbulk sandbox`, `--sandbox`).
//!
//! It answers in the shapes of `tests/fixtures/zendesk-recordings/` and enforces Zendesk's limits.
//! It is a crate of its own so that the compiler keeps the rule that it and the client share
//! JSON over HTTP only: `zdbulk` links it to start it in-process, and uses nothing but
//! [`start`], [`SandboxConfig`] and the handle. Module map:
//! - [`config`]: knobs and fault probabilities.
//! - `state`: the store, the sandbox clock, persistence; `lock`: one sandbox per state file.
//! - `router`: routes and the gate (faults, rate budget, auth, counters).
//! - `limits`, `faults`, `stats`: the request budget, fault draws, `/sandbox/stats`.
//! - `jobs`: the job lifecycle and `job_statuses`; `merges`: organization merges.
//! - `pagination`: cursor and offset pages.
//! - `organizations`, `users`, `memberships`, `fields`, `values`: the resources, and custom
//!   field values checked against their definitions; `groups`: groups, listed and created.
//! - `auth`, `oauth`: API-token and bearer checks; `/oauth/*`.
//! - `seed`, `server`: seed documents; binding, serving, saving state.

mod auth;
pub mod config;
mod errors;
mod faults;
mod fields;
mod groups;
mod jobs;
mod limits;
mod lock;
mod memberships;
mod merges;
mod oauth;
mod organizations;
mod pagination;
mod router;
mod seed;
mod server;
mod state;
mod stats;
mod users;
mod values;

pub use config::{FaultSpec, SandboxConfig, BULK_IMPORTS_ENV};
pub use server::{embedded_config, start, SandboxHandle, SAMPLE_SEED};
