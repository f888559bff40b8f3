//! The content digest: a hash of hashes over fixed 1 MiB chunks, so that signing and
//! verifying can hash a package on every core and still agree byte for byte.
//!
//! > The content (the first `length` bytes of the package) is cut into chunks of
//! > [`CHUNK_LEN`] bytes, the last one possibly shorter (no chunk when `length` is 0).
//! > `digest = H(H(chunk_1) || H(chunk_2) || … || H(chunk_n))`, with `H` the statement's
//! > hash (SHA-384, or SHA-256 for ECDSA-P256-SHA256).
//!
//! Because `length` is signed and the chunk size is fixed, the number of chunks and the
//! input to the outer hash have one shape per statement: two contents with the same
//! digest would need a collision in `H`. By hand:
//! `head -c LENGTH pkg.zip | split -b 1M --filter='openssl dgst -sha384 -binary' | openssl dgst -sha384`.
//! A single stream of SHA-384 cannot be split across cores; this can (APK Signature
//! Scheme v2 chunks its digests for the same reason).

use crate::model::DigestAlgorithm;

/// Bytes per chunk of the content digest (1 MiB).
pub const CHUNK_LEN: usize = 1 << 20;

/// A SHA-256 or SHA-384 value.
///
/// The content digest is hashed with OpenSSL's libcrypto: its SHA-512 code (AVX2, BMI2)
/// runs a third faster than ring's and the `sha2` crate's on the CPUs signer is measured
/// on, and the content digest is most of what signing and verifying cost (BENCHMARKS.md,
/// rows 9a/9b and "Which hash"). The digest tests check it against ring's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Digest {
    bytes: [u8; 48],
    len: usize,
}

impl Digest {
    fn of(value: &[u8]) -> Self {
        let mut bytes = [0; 48];
        let len = value.len().min(bytes.len());
        if let (Some(to), Some(from)) = (bytes.get_mut(..len), value.get(..len)) {
            to.copy_from_slice(from);
        }
        Self { bytes, len }
    }
}

impl AsRef<[u8]> for Digest {
    fn as_ref(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

/// The digest of one chunk.
pub fn chunk(alg: DigestAlgorithm, bytes: &[u8]) -> Digest {
    match alg {
        DigestAlgorithm::Sha256 => Digest::of(&openssl::sha::sha256(bytes)),
        DigestAlgorithm::Sha384 => Digest::of(&openssl::sha::sha384(bytes)),
    }
}

/// The content digest from the chunks' digests, in order.
pub fn combine<'a>(alg: DigestAlgorithm, chunks: impl IntoIterator<Item = &'a [u8]>) -> Digest {
    match alg {
        DigestAlgorithm::Sha256 => {
            let mut outer = openssl::sha::Sha256::new();
            chunks.into_iter().for_each(|d| outer.update(d));
            Digest::of(&outer.finish())
        }
        DigestAlgorithm::Sha384 => {
            let mut outer = openssl::sha::Sha384::new();
            chunks.into_iter().for_each(|d| outer.update(d));
            Digest::of(&outer.finish())
        }
    }
}

/// The content digest of bytes held in memory (the reference the threaded hasher in
/// `hashpipe` must agree with).
pub fn of_bytes(alg: DigestAlgorithm, content: &[u8]) -> Digest {
    let chunks: Vec<_> = content.chunks(CHUNK_LEN).map(|c| chunk(alg, c)).collect();
    combine(alg, chunks.iter().map(|d| d.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(d: impl AsRef<[u8]>) -> String {
        hex::encode(d.as_ref())
    }

    #[test]
    fn one_chunk_is_the_hash_of_the_hash() {
        let once = ring::digest::digest(&ring::digest::SHA384, b"abc");
        let twice = ring::digest::digest(&ring::digest::SHA384, once.as_ref());
        assert_eq!(hex(of_bytes(DigestAlgorithm::Sha384, b"abc")), hex(twice));
    }

    #[test]
    fn empty_content_has_no_chunk() {
        let empty = ring::digest::digest(&ring::digest::SHA256, b"");
        assert_eq!(hex(of_bytes(DigestAlgorithm::Sha256, b"")), hex(empty));
    }

    #[test]
    fn chunk_boundaries_matter() {
        // The same bytes, cut differently, would give a different digest: the cut is fixed.
        let data = vec![7u8; CHUNK_LEN + 1];
        let fixed = of_bytes(DigestAlgorithm::Sha384, &data);
        let halves = [chunk(DigestAlgorithm::Sha384, &data[..2]), chunk(DigestAlgorithm::Sha384, &data[2..])];
        let other = combine(DigestAlgorithm::Sha384, halves.iter().map(|d| d.as_ref()));
        assert_ne!(hex(fixed), hex(other));
        let plain = ring::digest::digest(&ring::digest::SHA384, &data);
        assert_ne!(hex(of_bytes(DigestAlgorithm::Sha384, &data)), hex(plain));
    }
}
