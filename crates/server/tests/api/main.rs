//! HTTP-level tests of the whole application through the router.

mod agent;
mod auth;
mod bastion;
mod common;
mod mci;
mod namespace;
mod openapi;
mod recommend;
mod remote;
mod resources;
mod system;
