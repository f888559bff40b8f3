//! The same gate as [`super::inspect`], with the entries checked on several threads.
//!
//! Layer publishing wants the real unzipped size of packages of up to 250 MB quickly
//! (issue #4, "size accounting inflates entries in parallel across cores"). Inflating one
//! deflate stream cannot be split, but the entries of an archive are independent, so:
//!
//! 1. [`read_tail`] parses the end records and the central directory, as the sequential
//!    gate does (every central-directory rule, the layout plan and the declared total are
//!    checked there, before any data is read: zip bombs stop here);
//! 2. the entries, in offset order, are cut into *runs* of consecutive entries, and each
//!    run is checked by [`check_body`] itself, as the entries region of an archive of its
//!    own: its entries rebased to offset 0 and its "central directory" at the offset where
//!    the next run begins. Runs are handed out largest first to
//!    [`Parallelism::workers`] threads, which read the source by offset
//!    ([`ReadAt`]), so they share no cursor.
//!
//! Nothing of the gate is duplicated here: every local header, data descriptor, CRC-32,
//! size and byte between entries is checked by the same code as in the sequential walk.
//! The runs tile the entries region, and `check_body` requires a run's last entry to end
//! exactly where the run ends, which is where the next run's first local header begins,
//! so together the runs check exactly what one walk over the region checks.
//!
//! Verdicts are the sequential gate's, and so are the messages: when a run is refused, the
//! sequential [`check_body`] is run over the whole region to report the refusal it finds
//! first (inside a run, offsets are relative to the run, and a run's last entry running
//! over its end reads "overlaps the central directory" where the walk says "overlaps entry
//! …"). A refusal costs at most one more pass, itself bounded by the declared sizes.

use std::io::{self, Read, Seek, SeekFrom};
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::{Entry, InspectError, Inspected, Tail, ZipLimits, check_body, read_tail};

/// Below this many bytes of entries per run, a thread costs more than it saves.
pub const MIN_RUN: u64 = 4 << 20;
/// Runs per worker, so that a worker that drew small runs takes more of them.
const RUNS_PER_WORKER: u64 = 4;

/// A source read by offset, shared by the worker threads without a shared cursor (a file
/// read with `pread`, or bytes in memory).
pub trait ReadAt: Sync {
    /// Reads up to `buf.len()` bytes at `offset`; 0 only at or past the end.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;

    /// The source's length in bytes.
    fn size(&self) -> io::Result<u64>;
}

impl ReadAt for [u8] {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let from = usize::try_from(offset).unwrap_or(usize::MAX).min(self.len());
        let available = self.get(from..).unwrap_or_default();
        let n = available.len().min(buf.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), available.get(..n)) {
            dst.copy_from_slice(src);
        }
        Ok(n)
    }

    fn size(&self) -> io::Result<u64> {
        Ok(self.len() as u64)
    }
}

/// How the work is split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parallelism {
    /// Threads that check runs.
    pub workers: NonZeroUsize,
    /// The smallest run worth a thread, in bytes of the entries region; 0 makes every
    /// entry a run of its own (for tests).
    pub min_run: u64,
}

impl Parallelism {
    /// One worker per core ([`std::thread::available_parallelism`]), runs of at least
    /// [`MIN_RUN`] bytes.
    pub fn available() -> Self {
        Self { workers: std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN), min_run: MIN_RUN }
    }
}

impl Default for Parallelism {
    fn default() -> Self {
        Self::available()
    }
}

/// Inspects the archive `src` like [`super::inspect`], with the same verdicts, checking
/// runs of entries on `parallelism.workers` threads.
///
/// `progress` is called from the worker threads with the number of entry bytes each
/// read just consumed (a delta; the total is the entries region, `central_offset`).
/// Memory: the central directory, plus about 1.5 MiB per worker.
pub fn inspect_parallel<S: ReadAt + ?Sized>(
    src: &S,
    limits: &ZipLimits,
    parallelism: Parallelism,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Inspected, InspectError> {
    let size = src.size()?;
    let tail = read_tail(&mut Window::new(src, 0, size), limits)?;
    let region = tail.end.central_offset;
    let workers = parallelism.workers.get() as u64;
    let target = (region / workers.saturating_mul(RUNS_PER_WORKER)).max(parallelism.min_run);
    // Too little for two runs: one walk.
    if workers == 1 || tail.entries.len() < 2 || region < target.saturating_mul(2) {
        let body = Counting { inner: Window::new(src, 0, region), progress };
        return check_body(&tail, body, limits);
    }
    // The entries move into the runs (no second copy of a million of them).
    let runs = split(tail, target);
    match check_runs(src, &runs, limits, parallelism.workers, progress) {
        Ok(inspected) => Ok(inspected),
        Err(InspectError::Io(e)) => Err(InspectError::Io(e)),
        Err(refusal @ InspectError::Zip(_)) => {
            // The sequential walk names the refusal it meets first, with whole-archive
            // offsets. It refuses too, unless the source changed under us: then the
            // run's refusal stands.
            drop(runs);
            let tail = read_tail(&mut Window::new(src, 0, size), limits)?;
            match check_body(&tail, Window::new(src, 0, region), limits) {
                Err(e) => Err(e),
                Ok(_) => Err(refusal),
            }
        }
    }
}

/// Consecutive entries checked as one archive region `[start, end)`.
struct Run {
    start: u64,
    end: u64,
    /// The run as `check_body` sees it: entries rebased to `start`, its central directory
    /// at `end - start`.
    tail: Tail,
}

/// Cuts the entries, in offset order, into runs of at least `target` bytes (the last
/// one may be shorter). `parse_central` has checked the layout: the first entry at 0,
/// offsets distinct and below the central directory.
///
/// The entries move into the runs, cut off the sorted list from its end, which shrinks as
/// it goes: at no time are there two copies of them.
fn split(tail: Tail, target: u64) -> Vec<Run> {
    let Tail { end: end_records, mut entries, .. } = tail;
    entries.sort_by_key(|e| e.local_offset);
    let region = end_records.central_offset;
    // (first entry, start offset, end offset) of each run.
    let mut cuts = Vec::new();
    let mut first = 0;
    for k in 0..entries.len() {
        let start = entries.get(first).map_or(0, |m| m.local_offset);
        let end = entries.get(k + 1).map_or(region, |n| n.local_offset);
        if end.saturating_sub(start) >= target || end == region {
            cuts.push((first, start, end));
            first = k + 1;
        }
    }
    let mut runs: Vec<Run> = cuts
        .into_iter()
        .rev()
        .map(|(first, start, end)| {
            let members = entries.split_off(first.min(entries.len()));
            entries.shrink_to_fit();
            rebase(&end_records, members, start, end)
        })
        .collect();
    runs.reverse();
    runs
}

fn rebase(end_records: &super::End, mut members: Vec<Entry>, start: u64, end: u64) -> Run {
    for e in &mut members {
        e.local_offset -= start;
    }
    let mut end_records = end_records.clone();
    end_records.central_offset = end - start;
    Run { start, end, tail: Tail { end: end_records, entries: members, central: std::sync::Arc::default() } }
}

/// Checks every run on up to `workers` threads, largest runs first; stops handing out
/// runs after the first refusal.
fn check_runs<S: ReadAt + ?Sized>(
    src: &S,
    runs: &[Run],
    limits: &ZipLimits,
    workers: NonZeroUsize,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Inspected, InspectError> {
    let mut order: Vec<usize> = (0..runs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(runs.get(i).map_or(0, |r| r.end - r.start)));
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let work = || -> Result<Inspected, InspectError> {
        let mut sum = Inspected { entries: 0, unzipped_size: 0 };
        while !stop.load(Ordering::Relaxed) {
            let Some(run) = order.get(next.fetch_add(1, Ordering::Relaxed)).and_then(|&i| runs.get(i)) else {
                break;
            };
            let body = Counting { inner: Window::new(src, run.start, run.end - run.start), progress };
            match check_body(&run.tail, body, limits) {
                Ok(one) => {
                    sum.entries += one.entries;
                    sum.unzipped_size += one.unzipped_size;
                }
                Err(e) => {
                    stop.store(true, Ordering::Relaxed);
                    return Err(e);
                }
            }
        }
        Ok(sum)
    };
    let outcomes: Vec<Result<Inspected, InspectError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers.get().min(runs.len())).map(|_| s.spawn(work)).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(io::Error::other("a zip-checking thread failed").into())))
            .collect()
    });
    let mut total = Inspected { entries: 0, unzipped_size: 0 };
    let mut io_error = None;
    for outcome in outcomes {
        match outcome {
            Ok(one) => {
                total.entries += one.entries;
                total.unzipped_size += one.unzipped_size;
            }
            // A refusal wins over an I/O error: it is a verdict on the zip.
            Err(e @ InspectError::Zip(_)) => return Err(e),
            Err(e @ InspectError::Io(_)) => io_error = Some(e),
        }
    }
    match io_error {
        Some(e) => Err(e),
        None => Ok(total),
    }
}

/// A [`Read`] + [`Seek`] view of `len` bytes of a [`ReadAt`] from `start`.
struct Window<'a, S: ?Sized> {
    src: &'a S,
    start: u64,
    len: u64,
    pos: u64,
}

impl<'a, S: ReadAt + ?Sized> Window<'a, S> {
    fn new(src: &'a S, start: u64, len: u64) -> Self {
        Self { src, start, len, pos: 0 }
    }
}

impl<S: ReadAt + ?Sized> Read for Window<'_, S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.len.saturating_sub(self.pos);
        let want = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
        let Some(buf) = buf.get_mut(..want).filter(|b| !b.is_empty()) else {
            return Ok(0);
        };
        let n = self.src.read_at(buf, self.start + self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl<S: ReadAt + ?Sized> Seek for Window<'_, S> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = target.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        Ok(self.pos)
    }
}

/// Reports the bytes read through it.
struct Counting<'a, R> {
    inner: R,
    progress: &'a (dyn Fn(u64) + Sync),
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        (self.progress)(n as u64);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Write};

    use super::*;
    use crate::zipcheck::{Rule, inspect};

    fn zip(entries: &[(&str, Vec<u8>, bool)]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, data, deflate) in entries {
            let method = if *deflate { zip::CompressionMethod::Deflated } else { zip::CompressionMethod::Stored };
            w.start_file(*name, zip::write::SimpleFileOptions::default().compression_method(method)).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    fn every_entry_a_run(workers: usize) -> Parallelism {
        Parallelism { workers: NonZeroUsize::new(workers).unwrap(), min_run: 0 }
    }

    fn both(bytes: &[u8], parallelism: Parallelism) -> (Result<Inspected, String>, Result<Inspected, String>) {
        let limits = ZipLimits::default();
        let show = |r: Result<Inspected, InspectError>| r.map_err(|e| e.to_string());
        let sequential = inspect(&mut Cursor::new(bytes), &limits).map(|(_, i)| i);
        (show(sequential), show(inspect_parallel(bytes, &limits, parallelism, &|_| {})))
    }

    fn sample() -> Vec<u8> {
        let entries: Vec<(String, Vec<u8>, bool)> = (0..12)
            .map(|i| {
                (format!("dir/file{i}.txt"), format!("content {i} ").repeat(2000 + i * 300).into_bytes(), i % 3 != 0)
            })
            .collect();
        let borrowed: Vec<(&str, Vec<u8>, bool)> =
            entries.iter().map(|(n, d, z)| (n.as_str(), d.clone(), *z)).collect();
        zip(&borrowed)
    }

    #[test]
    fn accepts_what_the_sequential_gate_accepts_with_the_same_sizes() {
        let bytes = sample();
        for workers in [1, 2, 3, 8] {
            let (seq, par) = both(&bytes, every_entry_a_run(workers));
            assert!(seq.is_ok(), "{seq:?}");
            assert_eq!(seq, par, "{workers} workers");
        }
        let (seq, par) = both(&bytes, Parallelism::available());
        assert_eq!(seq, par);
    }

    #[test]
    fn runs_tile_the_region() {
        let bytes = sample();
        let (tail, _) = inspect(&mut Cursor::new(&bytes), &ZipLimits::default()).unwrap();
        for target in [0, 1, 5000, 20_000, u64::MAX] {
            let runs = split(tail.clone(), target);
            assert_eq!(runs.first().unwrap().start, 0);
            assert_eq!(runs.last().unwrap().end, tail.end.central_offset);
            for pair in runs.windows(2) {
                assert_eq!(pair[0].end, pair[1].start);
            }
            assert_eq!(runs.iter().map(|r| r.tail.entries.len()).sum::<usize>(), tail.entries.len());
        }
        assert_eq!(split(tail.clone(), 0).len(), tail.entries.len());
        assert_eq!(split(tail.clone(), u64::MAX).len(), 1);
    }

    #[test]
    fn refusals_in_any_run_are_the_sequential_ones() {
        let good = sample();
        let (tail, _) = inspect(&mut Cursor::new(&good), &ZipLimits::default()).unwrap();
        let mut sorted: Vec<&Entry> = tail.entries.iter().collect();
        sorted.sort_by_key(|e| e.local_offset);
        // Flip one byte in the data, the local header or the name of each entry in turn:
        // CRC mismatches, corrupt streams and local/central mismatches, in every run.
        for e in &sorted {
            for offset in
                [e.local_offset + 14, e.local_offset + 30, e.local_offset + 30 + e.raw_name().len() as u64 + 1]
            {
                let mut bad = good.clone();
                let Some(b) = bad.get_mut(usize::try_from(offset).unwrap()) else { continue };
                *b ^= 0x55;
                for workers in [2, 3] {
                    let (seq, par) = both(&bad, every_entry_a_run(workers));
                    assert!(seq.is_err(), "flipping byte {offset} went unnoticed");
                    assert_eq!(seq, par, "byte {offset}, {workers} workers");
                }
            }
        }
    }

    #[test]
    fn a_gap_between_entries_is_refused_like_the_walk_refuses_it() {
        // Stored entries, then 7 bytes of junk inserted after the second entry's data, with
        // every later offset in the central directory moved to keep it consistent.
        let entries =
            vec![("a", b"alpha".to_vec(), false), ("b", b"bravo".to_vec(), false), ("c", b"charlie".to_vec(), false)];
        let good = zip(&entries);
        let (tail, _) = inspect(&mut Cursor::new(&good), &ZipLimits::default()).unwrap();
        let third = tail.entries.iter().find(|e| e.name() == "c").unwrap().local_offset as usize;
        let mut bad = good[..third].to_vec();
        bad.extend_from_slice(b"JUNK!!!");
        bad.extend_from_slice(&good[third..]);
        // Patch the central directory: offset of "c" (+7) and the central offset (+7).
        let cd = tail.end.central_offset as usize + 7;
        let mut p = cd;
        while p + 46 <= bad.len() && bad[p..p + 4] == [0x50, 0x4b, 0x01, 0x02] {
            let name_len = u16::from_le_bytes([bad[p + 28], bad[p + 29]]) as usize;
            let extra_len = u16::from_le_bytes([bad[p + 30], bad[p + 31]]) as usize;
            let comment_len = u16::from_le_bytes([bad[p + 32], bad[p + 33]]) as usize;
            let off = u32::from_le_bytes(bad[p + 42..p + 46].try_into().unwrap());
            if off as usize >= third {
                bad[p + 42..p + 46].copy_from_slice(&(off + 7).to_le_bytes());
            }
            p += 46 + name_len + extra_len + comment_len;
        }
        let eocd = bad.len() - 22;
        let co = u32::from_le_bytes(bad[eocd + 16..eocd + 20].try_into().unwrap());
        bad[eocd + 16..eocd + 20].copy_from_slice(&(co + 7).to_le_bytes());
        let (seq, par) = both(&bad, every_entry_a_run(3));
        let err = seq.clone().unwrap_err();
        assert!(err.contains("bytes") || err.contains("between"), "{err}");
        assert_eq!(seq, par);
        // A run cut right after the gap sees it as its last entry running short of the
        // run's end: refused there too, before the sequential walk names it.
        let limits = ZipLimits::default();
        let bad_tail = read_tail(&mut Cursor::new(&bad), &limits).unwrap();
        let runs = split(bad_tail.clone(), 0);
        let refused =
            runs.iter().any(|r| check_body(&r.tail, Window::new(&bad[..], r.start, r.end - r.start), &limits).is_err());
        assert!(refused);
    }

    #[test]
    fn the_declared_total_is_refused_before_any_thread_starts() {
        let bytes = sample();
        let limits = ZipLimits { max_unzipped: 10, ..ZipLimits::default() };
        let err =
            inspect_parallel(&bytes[..], &limits, every_entry_a_run(4), &|_| panic!("read entry data")).unwrap_err();
        assert!(matches!(err, InspectError::Zip(ref z) if matches!(z.rule, Rule::UnzippedTooLarge { .. })), "{err}");
    }

    #[test]
    fn progress_adds_up_to_the_entries_region() {
        let bytes = sample();
        let (tail, _) = inspect(&mut Cursor::new(&bytes), &ZipLimits::default()).unwrap();
        let seen = std::sync::atomic::AtomicU64::new(0);
        inspect_parallel(&bytes[..], &ZipLimits::default(), every_entry_a_run(3), &|n| {
            seen.fetch_add(n, Ordering::Relaxed);
        })
        .unwrap();
        assert_eq!(seen.into_inner(), tail.end.central_offset);
    }
}
