//! Integration tests: the real binary and the sandbox over HTTP on 127.0.0.1:0.

mod auth;
mod changes;
mod client;
mod common;
mod definitions;
mod fuzz;
mod import;
mod input;
mod recordings;
mod sandbox_auth;
mod sandbox_command;
mod sandbox_core;
mod sandbox_faults;
mod sandbox_fields;
mod sandbox_limits;
mod sandbox_lock;
mod sandbox_memberships;
mod sandbox_organizations;
mod sandbox_state;
mod sandbox_users;
mod stopping;
mod token_faults;
mod token_retry;
mod undo;
mod users;
mod validate;
