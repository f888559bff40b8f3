//! The use cases: profiles, code-signing configs, signing jobs and their workers, layers,
//! judging packages. Each reads and writes the store and the home through `edge`, takes
//! its time from the caller (or the clock at the top), and decides with the pure `core`.

pub mod access_keys;
pub mod admins;
pub mod bundle;
pub mod csc;
pub mod jobs;
pub mod judge;
pub mod layers;
pub mod permissions;
pub mod profiles;
pub mod signing;
pub mod snapshots;
pub mod status;
pub mod tsa;
pub mod worker;
