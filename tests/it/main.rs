//! Integration tests: the real binary and the sandbox over HTTP on 127.0.0.1:0.

mod client;
mod common;
mod recordings;
mod sandbox_auth;
mod sandbox_command;
mod input;
mod sandbox_core;
mod sandbox_fields;
mod sandbox_users;
mod sandbox_memberships;
mod sandbox_organizations;
