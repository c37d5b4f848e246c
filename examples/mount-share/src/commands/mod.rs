//! The commands, by concept.

pub(crate) mod acl;
pub(crate) mod auth;
pub(crate) mod files;
pub(crate) mod mount;
pub(crate) mod refresh;
pub(crate) mod transfer;
