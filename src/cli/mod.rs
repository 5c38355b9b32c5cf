//! One module per command.

pub mod certify;
pub mod digitize;
mod files;
pub mod verify;
