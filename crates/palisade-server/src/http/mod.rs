//! HTTP adapters. Handlers parse, call the identity domain, and render; no rules live here.

pub mod ctx;
pub mod defender;
pub mod errors;
pub mod graph;
pub mod oauth;
pub mod openapi;
pub mod operator;
pub mod pages;
pub mod security;
pub mod telemetry;
