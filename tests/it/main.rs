//! The one integration-test binary: each module is one area.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod crypto_openssl;
mod util;
mod cli;
mod store_contract;
mod tamper;
mod memory;
mod s3;
mod fuzz_seeds;
mod corpus;
mod zipgate;
mod layers;
mod deploy;
mod jobs;
