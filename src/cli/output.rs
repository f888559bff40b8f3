//! Text for people, or exactly one JSON document on stdout; logs and progress on stderr.

use std::io::{IsTerminal, Write};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// One JSON document on stdout.
    Json,
}

/// Writes bytes to stdout and flushes. Unlike `print!`, a closed stdout (a pipe whose
/// reader is gone) is an error returned, not a panic.
pub fn write_stdout(bytes: &[u8]) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(bytes)?;
    stdout.flush()
}

/// Writes one line to stderr; a closed stderr is ignored rather than a panic.
pub fn stderr_line(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// Where a command's result, logs and progress go.
pub struct Out {
    format: Format,
    quiet: bool,
    verbose: u8,
    /// Set once a file went to stdout (`-o -`): the text result goes to stderr then.
    stdout_taken: std::sync::atomic::AtomicBool,
}

impl Out {
    /// An output.
    pub fn new(format: Format, quiet: bool, verbose: u8) -> Self {
        Self { format, quiet, verbose, stdout_taken: false.into() }
    }

    /// Says that stdout holds a file the command wrote (`-o -`), so that its text result
    /// goes to stderr instead.
    pub fn stdout_taken(&self) {
        self.stdout_taken.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// The format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Whether a verdict printed here needs the packages' whole-file SHA-256: only its
    /// JSON shows it.
    pub fn verdict_hash(&self) -> signer::verify::WholeHash {
        match self.format {
            Format::Json => signer::verify::WholeHash::Sha256,
            Format::Text => signer::verify::WholeHash::Skip,
        }
    }

    /// Prints the result: `value` as JSON, or `text`.
    pub fn emit<T: Serialize>(&self, value: &T, text: impl AsRef<str>) -> anyhow::Result<()> {
        let doc = match self.format {
            Format::Json => {
                let mut doc = serde_json::to_vec(value)?;
                doc.push(b'\n');
                doc
            }
            Format::Text if text.as_ref().is_empty() => return Ok(()),
            Format::Text if self.stdout_taken.load(std::sync::atomic::Ordering::SeqCst) => {
                self.log(text);
                return Ok(());
            }
            Format::Text => format!("{}\n", text.as_ref()).into_bytes(),
        };
        // An `io::Error` in the chain, so a closed pipe is recognised and ends quietly.
        write_stdout(&doc)?;
        Ok(())
    }

    /// A log line on stderr (hidden by `-q`).
    pub fn log(&self, line: impl AsRef<str>) {
        if !self.quiet {
            stderr_line(line.as_ref());
        }
    }

    /// A detail line on stderr (shown with `-v`).
    pub fn debug(&self, line: impl AsRef<str>) {
        if self.verbose > 0 && !self.quiet {
            stderr_line(line.as_ref());
        }
    }

    /// A byte-progress bar on stderr, drawn only on a terminal and never with `-q`.
    pub fn progress(&self, total: u64, what: &str) -> ProgressBar {
        if self.quiet || !std::io::stderr().is_terminal() {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(what.to_owned());
        bar
    }

    /// A spinner for waits of unknown length, drawn only on a terminal.
    pub fn spinner(&self, what: &str) -> ProgressBar {
        if self.quiet || !std::io::stderr().is_terminal() {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_message(what.to_owned());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar
    }
}
