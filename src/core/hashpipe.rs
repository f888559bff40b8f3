//! The content digest (`format::digest`) computed on every core: the caller hands it
//! bytes and goes on reading, checking and writing (or hashing the whole file with
//! SHA-256) while worker threads hash whole chunks side by side. Used by `sign` and
//! `verify`.

use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::sync::{Arc, Mutex};

use crate::error::Error;
use crate::format::digest::{self, CHUNK_LEN, Digest};
use crate::model::DigestAlgorithm;

/// Most hashing threads, whatever the machine.
const MAX_WORKERS: usize = 8;

/// Chunk buffers in flight per worker (queued, being hashed or being filled): enough
/// slack that neither side waits on the other's scheduling.
const BUFFERS_PER_WORKER: usize = 3;

/// A chunk buffer: always [`CHUNK_LEN`] bytes long (allocated once, never zero-filled
/// again), of which the first `len` are content.
struct Chunk {
    bytes: Vec<u8>,
    len: usize,
}

impl Chunk {
    fn new() -> Self {
        Self { bytes: vec![0; CHUNK_LEN], len: 0 }
    }

    fn filled(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

/// A chunk handed to the workers, with its index in the content.
type Job = (usize, Chunk);

/// The content digest of a stream, hashed chunk by chunk on worker threads and on the
/// caller's. Memory is bounded: a fixed set of chunk buffers circulates through a pool,
/// and when every one is in the workers' hands the caller hashes the next chunk itself
/// rather than queue it. A content of one chunk or less is hashed on the caller's thread
/// and starts no thread.
pub struct ContentHasher {
    alg: DigestAlgorithm,
    /// The chunk being filled.
    cur: Chunk,
    /// Whole chunks so far (handed to the workers or hashed here).
    sent: usize,
    /// The digests of the chunks hashed on the caller's thread, with their indexes.
    own: Vec<(usize, Digest)>,
    workers: Option<Workers>,
}

struct Workers {
    jobs: SyncSender<Job>,
    pool: Receiver<Chunk>,
    results: Receiver<(usize, Digest)>,
    handles: Vec<std::thread::JoinHandle<()>>,
}

impl Workers {
    fn start(alg: DigestAlgorithm) -> Self {
        // The caller's thread hashes too (see `hand_off`), so one core is left to it.
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let n = cores.saturating_sub(1).clamp(1, MAX_WORKERS);
        let (jobs, rx) = sync_channel::<Job>(n * BUFFERS_PER_WORKER);
        let rx = Arc::new(Mutex::new(rx));
        let (pool_tx, pool) = channel();
        for _ in 0..n * BUFFERS_PER_WORKER {
            let _ = pool_tx.send(Chunk::new());
        }
        let (results_tx, results) = channel();
        let handles = (0..n)
            .map(|_| {
                let (rx, pool_tx, results_tx) = (Arc::clone(&rx), pool_tx.clone(), results_tx.clone());
                std::thread::spawn(move || work(alg, &rx, &pool_tx, &results_tx))
            })
            .collect();
        Self { jobs, pool, results, handles }
    }
}

/// One worker: takes chunks until the sender is gone.
fn work(alg: DigestAlgorithm, rx: &Mutex<Receiver<Job>>, pool: &Sender<Chunk>, results: &Sender<(usize, Digest)>) {
    loop {
        // A poisoned lock means another worker panicked; `finish` reports the gap.
        let job = match rx.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok((index, mut chunk)) = job else { return };
        let _ = results.send((index, digest::chunk(alg, chunk.filled())));
        chunk.len = 0;
        let _ = pool.send(chunk);
    }
}

impl ContentHasher {
    /// A hasher for the content digest with `alg`.
    pub fn new(alg: DigestAlgorithm) -> Self {
        Self { alg, cur: Chunk::new(), sent: 0, own: Vec::new(), workers: None }
    }

    /// Hands bytes to the hasher (copied into chunk buffers).
    pub fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let room = self.room();
            let take = room.len().min(data.len());
            let (now, rest) = data.split_at(take);
            room.get_mut(..take).unwrap_or_default().copy_from_slice(now);
            self.cur.len += take;
            data = rest;
        }
    }

    /// Reads up to `max` bytes from `r` straight into the chunk being filled (no copy)
    /// and returns them, so the caller can hash them with another algorithm too. Returns
    /// fewer than `max` bytes only at a chunk's end; an empty slice only for `max == 0`.
    pub fn read_from<R: std::io::Read>(&mut self, r: &mut R, max: usize) -> std::io::Result<&[u8]> {
        let room = self.room();
        let want = room.len().min(max);
        let target = room.get_mut(..want).unwrap_or_default();
        r.read_exact(target)?;
        let start = self.cur.len;
        self.cur.len += want;
        Ok(self.cur.bytes.get(start..self.cur.len).unwrap_or_default())
    }

    /// The unfilled rest of the current chunk, after handing off a full one.
    fn room(&mut self) -> &mut [u8] {
        if self.cur.len == CHUNK_LEN {
            self.hand_off();
        }
        self.cur.bytes.get_mut(self.cur.len..).unwrap_or_default()
    }

    /// Hands the full current chunk to a worker if a free buffer is at hand; otherwise
    /// (every buffer is queued or being hashed) hashes it on this thread. The caller never
    /// waits and never leaves a core idle: it hashes whenever the workers are behind.
    fn hand_off(&mut self) {
        let index = self.sent;
        self.sent += 1;
        let workers = self.workers.get_or_insert_with(|| Workers::start(self.alg));
        match workers.pool.try_recv() {
            Ok(next) => {
                let full = std::mem::replace(&mut self.cur, next);
                // Never blocks (the queue holds every buffer); fails only if every worker
                // is gone, and `finish` then reports the missing chunk.
                let _ = workers.jobs.send((index, full));
            }
            Err(_) => {
                self.own.push((index, digest::chunk(self.alg, self.cur.filled())));
                self.cur.len = 0;
            }
        }
    }

    /// Waits for the workers and returns the content digest.
    pub fn finish(mut self) -> Result<Digest, Error> {
        let last = (self.cur.len > 0).then(|| digest::chunk(self.alg, self.cur.filled()));
        let mut chunks: Vec<Option<Digest>> = vec![None; self.sent];
        for (index, d) in self.own.drain(..) {
            if let Some(slot) = chunks.get_mut(index) {
                *slot = Some(d);
            }
        }
        if let Some(Workers { jobs, results, handles, .. }) = self.workers.take() {
            drop(jobs); // the workers end once the queue is empty
            let lost = handles.into_iter().map(std::thread::JoinHandle::join).any(|j| j.is_err());
            for (index, d) in results.try_iter() {
                if let Some(slot) = chunks.get_mut(index) {
                    *slot = Some(d);
                }
            }
            if lost {
                return Err(Error::Internal("a hashing thread failed".into()));
            }
        }
        let all: Option<Vec<_>> = chunks.into_iter().chain(last.map(Some)).collect();
        let all = all.ok_or_else(|| Error::Internal("a chunk of the content digest is missing".into()))?;
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
