//! The one integration-test binary: each module is one area.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod cli;
mod corpus;
mod crypto_openssl;
mod deploy;
mod fuzz_seeds;
mod hostile;
mod jobs;
mod layers;
mod memory;
mod s3;
mod store_contract;
mod tamper;
mod util;
mod writers;
mod zipgate;
