//! One module per command.

pub mod backup;
pub mod batch;
pub mod certify;
pub mod digitize;
mod files;
pub mod renew;
pub mod reuse;
pub mod serve;
pub mod settings;
pub mod sign;
pub mod store;
pub mod user;
pub mod verify;
pub mod worker;
