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

/// Where a command's result, logs and progress go.
pub struct Out {
    format: Format,
    quiet: bool,
    verbose: u8,
}

impl Out {
    /// An output.
    pub fn new(format: Format, quiet: bool, verbose: u8) -> Self {
        Self { format, quiet, verbose }
    }

    /// The format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Prints the result: `value` as JSON, or `text`.
    pub fn emit<T: Serialize>(&self, value: &T, text: impl AsRef<str>) -> anyhow::Result<()> {
        let mut stdout = std::io::stdout().lock();
        match self.format {
            Format::Json => {
                serde_json::to_writer(&mut stdout, value)?;
                writeln!(stdout)?;
            }
            Format::Text => {
                let t = text.as_ref();
                if !t.is_empty() {
                    writeln!(stdout, "{t}")?;
                }
            }
        }
        stdout.flush()?;
        Ok(())
    }

    /// A log line on stderr (hidden by `-q`).
    pub fn log(&self, line: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("{}", line.as_ref());
        }
    }

    /// A detail line on stderr (shown with `-v`).
    pub fn debug(&self, line: impl AsRef<str>) {
        if self.verbose > 0 && !self.quiet {
            eprintln!("{}", line.as_ref());
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
