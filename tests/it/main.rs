//! The one integration-test binary: each module is one area.

mod crypto_openssl;
mod util;
mod cli;
mod store_contract;
mod tamper;
