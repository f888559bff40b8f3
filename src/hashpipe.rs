//! The content digest (`format::digest`) computed on every core: the caller hands it
//! bytes and goes on reading, checking and writing (or hashing the whole file with
//! SHA-256) while worker threads hash whole chunks side by side. Used by `sign` and
//! `verify`.

use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::sync::{Arc, Mutex};

use crate::error::Error;
use crate::format::digest::{self, CHUNK_LEN};
use crate::model::DigestAlgorithm;

/// Most hashing threads, whatever the machine.
const MAX_WORKERS: usize = 8;

/// A chunk handed to the workers: its index and bytes.
type Job = (usize, Vec<u8>);

/// The content digest of a stream, hashed chunk by chunk on worker threads. Memory is
/// bounded: `workers + 2` chunk buffers circulate through a pool, so a slow hasher
/// slows the caller rather than queueing without end. A content of one chunk or less is
/// hashed on the caller's thread and starts no thread.
pub struct ContentHasher {
    alg: DigestAlgorithm,
    /// The chunk being filled.
    cur: Vec<u8>,
    /// Chunks handed to the workers so far.
    sent: usize,
    workers: Option<Workers>,
}

struct Workers {
    jobs: Option<SyncSender<Job>>,
    pool: Receiver<Vec<u8>>,
    results: Receiver<(usize, ring::digest::Digest)>,
    handles: Vec<std::thread::JoinHandle<()>>,
}

impl Workers {
    fn start(alg: DigestAlgorithm) -> Self {
        let n = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, MAX_WORKERS);
        let (jobs, rx) = sync_channel::<Job>(n);
        let rx = Arc::new(Mutex::new(rx));
        let (pool_tx, pool) = channel();
        for _ in 0..n + 1 {
            let _ = pool_tx.send(Vec::with_capacity(CHUNK_LEN));
        }
        let (results_tx, results) = channel();
        let handles = (0..n)
            .map(|_| {
                let (rx, pool_tx, results_tx) = (Arc::clone(&rx), pool_tx.clone(), results_tx.clone());
                std::thread::spawn(move || work(alg, &rx, &pool_tx, &results_tx))
            })
            .collect();
        Self { jobs: Some(jobs), pool, results, handles }
    }
}

/// One worker: takes chunks until the sender is gone.
fn work(
    alg: DigestAlgorithm,
    rx: &Mutex<Receiver<Job>>,
    pool: &Sender<Vec<u8>>,
    results: &Sender<(usize, ring::digest::Digest)>,
) {
    loop {
        // A poisoned lock means another worker panicked; `finish` reports the gap.
        let job = match rx.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok((index, mut buf)) = job else { return };
        let _ = results.send((index, digest::chunk(alg, &buf)));
        buf.clear();
        let _ = pool.send(buf);
    }
}

impl ContentHasher {
    /// A hasher for the content digest with `alg`.
    pub fn new(alg: DigestAlgorithm) -> Self {
        Self { alg, cur: Vec::with_capacity(CHUNK_LEN), sent: 0, workers: None }
    }

    /// Hands bytes to the hasher (copied into chunk buffers).
    pub fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let cur = self.room();
            let take = (CHUNK_LEN - cur.len()).min(data.len());
            let (now, rest) = data.split_at(take);
            cur.extend_from_slice(now);
            data = rest;
        }
    }

    /// Reads up to `max` bytes from `r` straight into the chunk being filled (no copy)
    /// and returns them, so the caller can hash them with another algorithm too. Returns
    /// fewer than `max` bytes only at a chunk's end; an empty slice only for `max == 0`.
    pub fn read_from<R: std::io::Read>(&mut self, r: &mut R, max: usize) -> std::io::Result<&[u8]> {
        let cur = self.room();
        let start = cur.len();
        let want = (CHUNK_LEN - start).min(max);
        cur.resize(start + want, 0);
        let filled = cur.get_mut(start..).unwrap_or_default();
        if let Err(e) = r.read_exact(filled) {
            cur.truncate(start);
            return Err(e);
        }
        Ok(cur.get(start..).unwrap_or_default())
    }

    /// The chunk being filled, after handing a full one to the workers.
    fn room(&mut self) -> &mut Vec<u8> {
        if self.cur.len() == CHUNK_LEN {
            let workers = self.workers.get_or_insert_with(|| Workers::start(self.alg));
            let next = workers.pool.recv().unwrap_or_default();
            let full = std::mem::replace(&mut self.cur, next);
            if let Some(jobs) = &workers.jobs {
                // A send fails only if every worker is gone; `finish` then reports it.
                let _ = jobs.send((self.sent, full));
            }
            self.sent += 1;
        }
        &mut self.cur
    }

    /// Waits for the workers and returns the content digest.
    pub fn finish(mut self) -> Result<ring::digest::Digest, Error> {
        let last = (!self.cur.is_empty()).then(|| digest::chunk(self.alg, &self.cur));
        let mut chunks: Vec<Option<ring::digest::Digest>> = vec![None; self.sent];
        if let Some(mut w) = self.workers.take() {
            w.jobs = None;
            let lost = w.handles.drain(..).map(std::thread::JoinHandle::join).any(|j| j.is_err());
            for (index, d) in w.results.try_iter() {
                if let Some(slot) = chunks.get_mut(index) {
                    *slot = Some(d);
                }
            }
            if lost {
                return Err(Error::Invalid("internal: a hashing thread failed".into()));
            }
        }
        let all: Option<Vec<_>> = chunks.into_iter().chain(last.map(Some)).collect();
        let all = all.ok_or_else(|| Error::Invalid("internal: a chunk of the content digest is missing".into()))?;
        Ok(digest::combine(self.alg, all.iter().map(|d| d.as_ref())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect()
    }

    #[test]
    fn agrees_with_the_reference_at_every_boundary() {
        for n in [0, 1, CHUNK_LEN - 1, CHUNK_LEN, CHUNK_LEN + 1, 3 * CHUNK_LEN, 5 * CHUNK_LEN + 77] {
            let data = bytes(n);
            let want = hex::encode(digest::of_bytes(DigestAlgorithm::Sha384, &data));

            // Fed in odd-sized pieces by copy.
            let mut h = ContentHasher::new(DigestAlgorithm::Sha384);
            for piece in data.chunks(65_537) {
                h.update(piece);
            }
            assert_eq!(hex::encode(h.finish().unwrap()), want, "update, {n} bytes");

            // Read straight into the chunk buffers.
            let mut h = ContentHasher::new(DigestAlgorithm::Sha384);
            let mut r = std::io::Cursor::new(&data);
            let mut got = Vec::new();
            while got.len() < n {
                got.extend_from_slice(h.read_from(&mut r, (n - got.len()).min(300_000)).unwrap());
            }
            assert_eq!(got, data);
            assert_eq!(hex::encode(h.finish().unwrap()), want, "read_from, {n} bytes");
        }
    }

    #[test]
    fn a_short_read_is_an_error_and_keeps_nothing() {
        let mut h = ContentHasher::new(DigestAlgorithm::Sha256);
        h.update(b"ab");
        assert!(h.read_from(&mut std::io::Cursor::new(b"xy"), 3).is_err());
        let want = hex::encode(digest::of_bytes(DigestAlgorithm::Sha256, b"ab"));
        assert_eq!(hex::encode(h.finish().unwrap()), want);
    }
}
