//! The `signer` command line; everything lives in the library's `cli` module.

fn main() -> std::process::ExitCode {
    signer::cli::main()
}
