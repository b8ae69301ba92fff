//! HTTP-level tests of the whole application through the router.

mod auth;
mod common;
mod mci;
mod namespace;
mod openapi;
mod recommend;
mod resources;
mod system;
