//! The `signer` command line.
fn main() {}
