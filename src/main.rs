//! The `signer` command line: clap's types, the commands and the output live here, in the
//! binary; what they do lives in the library.
#![forbid(unsafe_code)]

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
