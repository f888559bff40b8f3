//! A digest computed on its own thread: the caller hands it bytes and goes on reading,
//! checking and writing (or hashing with another algorithm) on its own core. Used by
//! `sign` (the content digest beside the gate and the write) and `verify` (the content
//! digest beside the whole-file SHA-256).

use crate::error::Error;

/// Bytes handed to the hashing thread at a time.
const PIPE_CHUNK: usize = 1 << 20;
/// Chunks in flight to the hashing thread; with the two being filled and returned, this
/// bounds the memory the pipe holds to a few MiB whatever the package size.
const PIPE_DEPTH: usize = 4;

/// A digest computed on its own thread, so hashing overlaps reading, checking and
/// writing on the caller's thread. Buffers come back through a pool: memory is bounded
/// and a slow hasher slows the caller rather than queueing without end.
pub struct HashPipe {
    tx: Option<std::sync::mpsc::SyncSender<Vec<u8>>>,
    pool: std::sync::mpsc::Receiver<Vec<u8>>,
    cur: Vec<u8>,
    handle: Option<std::thread::JoinHandle<ring::digest::Digest>>,
}

impl HashPipe {
    /// Starts the hashing thread.
    pub fn new(alg: &'static ring::digest::Algorithm) -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(PIPE_DEPTH);
        let (pool_tx, pool) = std::sync::mpsc::channel();
        for _ in 0..PIPE_DEPTH + 1 {
            let _ = pool_tx.send(Vec::with_capacity(PIPE_CHUNK));
        }
        let handle = std::thread::spawn(move || {
            let mut ctx = ring::digest::Context::new(alg);
            for mut buf in rx {
                ctx.update(&buf);
                buf.clear();
                let _ = pool_tx.send(buf);
            }
            ctx.finish()
        });
        Self { tx: Some(tx), pool, cur: Vec::with_capacity(PIPE_CHUNK), handle: Some(handle) }
    }

    /// Hands bytes to the hashing thread (copied into pooled buffers).
    pub fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let take = (PIPE_CHUNK - self.cur.len()).min(data.len());
            let (now, rest) = data.split_at(take);
            self.cur.extend_from_slice(now);
            data = rest;
            if self.cur.len() == PIPE_CHUNK {
                self.send();
            }
        }
    }

    fn send(&mut self) {
        let next = self.pool.recv().unwrap_or_default();
        let full = std::mem::replace(&mut self.cur, next);
        if let Some(tx) = &self.tx {
            // A send fails only if the hasher is gone; `finish` then reports it.
            let _ = tx.send(full);
        }
    }

    /// Waits for the thread and returns the digest.
    pub fn finish(&mut self) -> Result<ring::digest::Digest, Error> {
        if !self.cur.is_empty() {
            self.send();
        }
        self.tx = None;
        self.handle
            .take()
            .and_then(|h| h.join().ok())
            .ok_or_else(|| Error::Invalid("internal: the hashing thread failed".into()))
    }
}
