//! The one integration-test binary: each module is one area.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
// The tests read the addresses of the servers scripts/test.sh started, and their switches.
#![allow(clippy::disallowed_methods)]

mod cli;
mod corpus;
mod credentials;
mod crypto_openssl;
mod custody;
mod deploy;
mod fuzz_seeds;
mod hostile;
mod jobs;
mod layering;
mod layers;
mod memory;
mod paths;
mod s3;
mod schemas;
mod serve;
mod sigv4;
mod store_contract;
mod tamper;
mod timestamp;
mod trust;
mod util;
mod writers;
mod zipgate;
