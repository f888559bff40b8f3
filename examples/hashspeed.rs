//! Hash speed in memory, for the benchmark harness (`bench/run.py`, "Which hash"): ring's,
//! the `sha2` crate's and OpenSSL's SHA-384 and SHA-256 on one core, and the content
//! digest (`format::digest`, SHA-384 over 1 MiB chunks) on every core, as `signer`
//! computes it.
//! Prints one JSON object per line: `{"what": …, "mb_per_s": …}` (MB = 10^6 bytes).
//!
//! `cargo run --release --example hashspeed [MiB]` (default 256 MiB, best of 3).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::time::Instant;

use sha2::Digest as _;
use signer::hashpipe::ContentHasher;
use signer::model::DigestAlgorithm;

/// A hash over the whole buffer, returning its digest.
type HashFn<'a> = Box<dyn Fn() -> Vec<u8> + 'a>;

fn best_of_3(bytes: usize, mut f: impl FnMut() -> Vec<u8>) -> f64 {
    let mut best = f64::MAX;
    let mut first: Option<Vec<u8>> = None;
    for _ in 0..3 {
        let t = Instant::now();
        let out = f();
        best = best.min(t.elapsed().as_secs_f64());
        // Every round must compute the same digest: the work cannot be skipped.
        assert_eq!(first.get_or_insert_with(|| out.clone()), &out);
    }
    bytes as f64 / best / 1e6
}

fn main() {
    let mib: usize = std::env::args().nth(1).map_or(256, |a| a.parse().expect("MiB as a number"));
    let data: Vec<u8> = (0..mib << 20).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let n = data.len();
    let rows: [(&str, HashFn); 7] = [
        ("ring SHA-384 (one core)", Box::new(|| ring::digest::digest(&ring::digest::SHA384, &data).as_ref().to_vec())),
        ("sha2 SHA-384 (one core)", Box::new(|| sha2::Sha384::digest(&data).to_vec())),
        ("OpenSSL SHA-384 (one core)", Box::new(|| openssl::sha::sha384(&data).to_vec())),
        ("ring SHA-256 (one core)", Box::new(|| ring::digest::digest(&ring::digest::SHA256, &data).as_ref().to_vec())),
        ("sha2 SHA-256 (one core)", Box::new(|| sha2::Sha256::digest(&data).to_vec())),
        ("OpenSSL SHA-256 (one core)", Box::new(|| openssl::sha::sha256(&data).to_vec())),
        (
            "signer content digest, SHA-384 over 1 MiB chunks (every core)",
            Box::new(|| {
                let mut h = ContentHasher::new(DigestAlgorithm::Sha384);
                h.update(&data);
                h.finish().unwrap().as_ref().to_vec()
            }),
        ),
    ];
    for (what, f) in rows {
        let mbps = best_of_3(n, f);
        println!("{}", serde_json::json!({"what": what, "mb_per_s": mbps.round()}));
    }
}
