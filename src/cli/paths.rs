//! Paths on the command line: `-` is stdin where a command reads a file and stdout where
//! it writes one.
//!
//! A package read from stdin is first copied into a private temporary file (a zip is read
//! from its end, which a pipe cannot give), bounded, and then read from there once. A
//! package written to stdout is written to a private temporary file and copied to stdout
//! only when the command succeeded, so a failed run writes nothing there.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use super::{Format, Out};
use signer::location::Location;

/// How a path argument names stdin or stdout.
const DASH: &str = "-";

/// Whether an argument has already taken stdin: a second `-` is refused, not read empty.
static STDIN_TAKEN: AtomicBool = AtomicBool::new(false);

/// The most bytes a package read from stdin may have: the zip gate stops at Lambda's
/// 262,144,000 unzipped bytes, and a stored zip is a little larger than what it holds.
const MAX_STDIN_PACKAGE: u64 = signer::limits::MAX_UNZIPPED_BYTES + (16 << 20);

fn is_dash(s: &std::ffi::OsStr) -> bool {
    s == DASH
}

/// Stdin, for the one argument that names it.
fn take_stdin(what: &str) -> Result<std::io::Stdin, signer::Error> {
    if STDIN_TAKEN.swap(true, Ordering::SeqCst) {
        return Err(signer::Error::Usage {
            why: format!("{what} is `-`, but stdin is already read for another argument; give a file"),
        });
    }
    Ok(std::io::stdin())
}

/// How messages name an input path: `-` is "on stdin".
pub(super) fn shown(path: &Path) -> String {
    if is_dash(path.as_os_str()) { "on stdin".to_owned() } else { path.display().to_string() }
}

/// Reads a small input file whole, at most `max` bytes: `-` reads stdin. `what` names it
/// in errors ("deployment file", "certificate chain"…).
pub(super) fn read_input(path: &Path, max: usize, what: &'static str) -> anyhow::Result<Vec<u8>> {
    if !is_dash(path.as_os_str()) {
        return signer::location::read_file(path, max).map_err(|e| match e {
            signer::Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                signer::Error::NoFile {
                    path: path.display().to_string(),
                    what,
                    fix: "check the path, or give - for stdin",
                }
                .into()
            }
            e => e.into(),
        });
    }
    let mut bytes = Vec::new();
    take_stdin(what)?
        .lock()
        .take(u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| signer::Error::io(format!("reading the {what} from stdin"), e))?;
    if bytes.len() > max {
        return Err(signer::Error::FileTooLarge { path: format!("the {what} on stdin"), max }.into());
    }
    Ok(bytes)
}

/// A package to read: a path, an object URL, or `-` for stdin (spooled first).
pub(super) struct Input {
    /// Where it is read from.
    pub(super) location: Location,
    /// How verdicts and messages name it: the argument as given (`-` is "stdin").
    pub(super) name: String,
    /// The spooled copy of stdin, removed when dropped.
    _spool: Option<tempfile::NamedTempFile>,
}

impl Input {
    /// Opens the argument `arg` (a package, for `what` in errors).
    pub(super) fn parse(arg: &str, what: &'static str) -> anyhow::Result<Self> {
        if arg != DASH {
            return Ok(Self { location: Location::parse(arg)?, name: arg.to_owned(), _spool: None });
        }
        let mut spool = spool_file()?;
        let copied = std::io::copy(&mut take_stdin(what)?.lock().take(MAX_STDIN_PACKAGE + 1), spool.as_file_mut())
            .map_err(|e| signer::Error::io(format!("copying the {what} from stdin"), e))?;
        if copied > MAX_STDIN_PACKAGE {
            return Err(signer::Error::FileTooLarge {
                path: format!("the {what} on stdin"),
                max: usize::try_from(MAX_STDIN_PACKAGE).unwrap_or(usize::MAX),
            }
            .into());
        }
        spool.as_file_mut().flush().map_err(|e| signer::Error::io("spooling stdin", e))?;
        Ok(Self { location: Location::Path(spool.path().to_owned()), name: "stdin".to_owned(), _spool: Some(spool) })
    }
}

/// A private temporary file (mode 0600) in the system's temporary folder.
fn spool_file() -> anyhow::Result<tempfile::NamedTempFile> {
    Ok(tempfile::Builder::new()
        .prefix(".signer-stdio-")
        .tempfile()
        .map_err(|e| signer::Error::io("creating a temporary file for stdin or stdout", e))?)
}

/// A file to write: a path, an object URL, or `-` for stdout (written to a private
/// temporary file, then copied out by [`Output::finish`]).
pub(super) struct Output {
    /// Where the command writes.
    pub(super) location: Location,
    /// How messages name it.
    pub(super) name: String,
    spool: Option<tempfile::NamedTempFile>,
}

impl Output {
    /// The argument `arg` (`what` names it in errors). `-` is refused with `--output json`,
    /// whose document stdout holds.
    pub(super) fn parse(arg: &str, what: &'static str, out: &Out) -> anyhow::Result<Self> {
        if arg != DASH {
            return Ok(Self { location: Location::parse(arg)?, name: arg.to_owned(), spool: None });
        }
        refuse_with_json(what, out)?;
        // The command writes the whole file beside the spool's path and renames it there.
        let spool = spool_file()?;
        Ok(Self { location: Location::Path(spool.path().to_owned()), name: "stdout".to_owned(), spool: Some(spool) })
    }

    /// After the command wrote the file: for `-`, copies it to stdout, and the command's
    /// own message goes to stderr from then on.
    pub(super) fn finish(&self, out: &Out) -> anyhow::Result<()> {
        let Some(spool) = &self.spool else {
            return Ok(());
        };
        let mut file = signer::location::open_file(spool.path())?;
        let mut stdout = std::io::stdout().lock();
        std::io::copy(&mut file, &mut stdout).map_err(|e| signer::Error::io("writing to stdout", e))?;
        stdout.flush().map_err(|e| signer::Error::io("writing to stdout", e))?;
        out.stdout_taken();
        Ok(())
    }
}

fn refuse_with_json(what: &str, out: &Out) -> Result<(), signer::Error> {
    if out.format() == Format::Json {
        return Err(signer::Error::Usage {
            why: format!(
                "the {what} is `-` (stdout), where --output json prints its document; give a file, or leave out --output json"
            ),
        });
    }
    Ok(())
}

/// Writes a small file whole (it appears complete or not at all): `-` writes it to stdout.
pub(super) async fn write_whole(path: &Path, bytes: &[u8], what: &'static str, out: &Out) -> anyhow::Result<()> {
    if is_dash(path.as_os_str()) {
        refuse_with_json(what, out)?;
        super::output::write_stdout(bytes).map_err(|e| signer::Error::io("writing to stdout", e))?;
        out.stdout_taken();
        return Ok(());
    }
    let mut file = Location::Path(path.to_owned()).create().await?;
    if let Err(e) = file.write_all(bytes) {
        file.abort();
        return Err(signer::Error::io(format!("writing {}", path.display()), e).into());
    }
    file.finish()?;
    Ok(())
}

/// A relative local path named inside a file, taken relative to that file's folder
/// (`base`, the file as given; `-` or an object URL leaves the path as it is).
pub(super) fn beside(base: &str, named: &str) -> String {
    let rel = Path::new(named);
    if base == DASH || named.contains("://") || named.starts_with("file:") || rel.is_absolute() {
        return named.to_owned();
    }
    let dir: PathBuf = Path::new(base).parent().map(Path::to_owned).unwrap_or_default();
    dir.join(rel).display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relative_path_in_a_file_is_taken_beside_that_file() {
        assert_eq!(beside("deploy/prod.json", "build/fn.zip"), "deploy/build/fn.zip");
        assert_eq!(beside("prod.json", "fn.zip"), "fn.zip");
        assert_eq!(beside("/etc/d.json", "../fn.zip"), "/etc/../fn.zip");
        assert_eq!(beside("deploy/prod.json", "/abs/fn.zip"), "/abs/fn.zip");
        assert_eq!(beside("deploy/prod.json", "s3://b/fn.zip"), "s3://b/fn.zip");
        assert_eq!(beside("deploy/prod.json", "file:///abs/fn.zip"), "file:///abs/fn.zip");
        assert_eq!(beside("-", "fn.zip"), "fn.zip");
    }
}
