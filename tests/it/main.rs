//! Integration tests: the real binary and the sandbox over HTTP on 127.0.0.1:0.

mod common;
mod input;
mod sandbox_core;
