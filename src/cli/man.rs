//! `signer man`: a man page per command (clap_mangen), each with the ENVIRONMENT it reads
//! and the EXIT STATUS table.

use std::path::Path;

use clap_mangen::roff::{Roff, bold, roman};

use signer::error::exit;

/// The exit codes, as every page and `--help` give them. `tests/it/cli.rs` checks the
/// README's table against this one.
pub(super) const EXIT_CODES: [(u8, &str); 7] = [
    (exit::OK, "success, or allowed"),
    (exit::DENIED, "denied by verification or a deploy check (also: the store's root is not the pinned one)"),
    (exit::USAGE, "usage error"),
    (
        exit::INVALID,
        "invalid input: not a zip, hostile, over a limit, a bad certificate chain, a directory where a file is wanted, a trust record the pinned root did not seal",
    ),
    (exit::NOT_FOUND, "not found (also an input file that does not exist, and no pinned trust root)"),
    (exit::CONFLICT, "conflict: exists, canceled, already deleted, wrong state"),
    (
        exit::IO,
        "store or I/O failure, or a key that cannot be used now (a locked token, a wrong PIN, KMS access denied); also an internal error: a bug in signer, which says so",
    ),
];

/// The environment signer reads.
const ENVIRONMENT: [(&str, &str); 14] = [
    ("SIGNER_STORE", "The store URL, as --store."),
    ("SIGNER_HOME", "The home (private keys, the pin, the default store), as --home."),
    ("SIGNER_TRUST_ROOT", "The root CA to trust, as --trust-root."),
    ("SIGNER_PKCS11_MODULE", "The PKCS#11 module (a .so) of keys kept in a token."),
    ("SIGNER_PKCS11_PIN_FILE", "A file holding the token's user PIN."),
    ("SIGNER_PKCS11_PIN", "The token's user PIN, when no PIN file is given."),
    ("AWS_PROFILE", "The shared-config profile S3 and KMS credentials and region come from."),
    (
        "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN",
        "Static credentials, first in the AWS credential chain.",
    ),
    ("AWS_REGION, AWS_DEFAULT_REGION", "The region of S3 and KMS."),
    ("AWS_ENDPOINT_URL", "An S3-compatible server (MinIO…) instead of AWS."),
    ("AWS_ALLOW_HTTP", "true to let AWS_ENDPOINT_URL be plain HTTP."),
    ("AWS_EC2_METADATA_DISABLED", "true to skip the instance-metadata lookup off AWS."),
    ("COMPLETE", "Set by the completion script `signer completions SHELL` prints."),
    ("TMPDIR", "Where `-` inputs and outputs are spooled, and the quick start works."),
];

/// Every command's page: `(file name, roff)`, the top one first.
pub(super) fn pages(top: clap::Command) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    fn add(cmd: &clap::Command, out: &mut Vec<(String, Vec<u8>)>) -> std::io::Result<()> {
        let man = clap_mangen::Man::new(cmd.clone()).date(env!("SIGNER_BUILD_DATE"));
        out.push((man.get_filename(), render(&man, cmd)?));
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            add(sub, out)?;
        }
        Ok(())
    }
    let mut top = top.disable_help_subcommand(true);
    top.build();
    let mut out = Vec::new();
    add(&top, &mut out)?;
    Ok(out)
}

/// The page of the command `path` names under the top one (`["profile", "create"]`).
pub(super) fn page(top: clap::Command, path: &[String]) -> Result<Vec<u8>, String> {
    let wanted = std::iter::once("signer").chain(path.iter().map(String::as_str)).collect::<Vec<_>>().join("-");
    let pages = pages(top).map_err(|e| format!("rendering the man pages: {e}"))?;
    pages
        .into_iter()
        .find(|(name, _)| name.strip_suffix(".1") == Some(wanted.as_str()))
        .map(|(_, page)| page)
        .ok_or_else(|| format!("no command `signer {}`; `signer --help` lists them", path.join(" ")))
}

fn render(man: &clap_mangen::Man, cmd: &clap::Command) -> std::io::Result<Vec<u8>> {
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    man.render_synopsis_section(&mut page)?;
    man.render_description_section(&mut page)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut page)?;
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        man.render_subcommands_section(&mut page)?;
    }
    let mut roff = Roff::default();
    roff.control("SH", ["ENVIRONMENT"]);
    for (name, what) in ENVIRONMENT {
        roff.control("TP", []).text([bold(name)]).text([roman(what)]);
    }
    roff.control("SH", ["EXIT STATUS"]);
    for (code, what) in EXIT_CODES {
        roff.control("TP", []).text([bold(code.to_string())]).text([roman(what)]);
    }
    roff.to_writer(&mut page)?;
    if cmd.get_version().is_some() {
        man.render_version_section(&mut page)?;
    }
    Ok(page)
}

/// Writes every page into `dir` (created if missing); returns the file names.
pub(super) fn write_all(top: clap::Command, dir: &Path) -> anyhow::Result<Vec<String>> {
    signer::location::create_folder(dir)?;
    let mut names = Vec::new();
    for (name, page) in pages(top).map_err(|e| signer::Error::io("rendering the man pages", e))? {
        let path = dir.join(&name);
        std::fs::write(&path, page).map_err(|e| signer::Error::io(format!("writing {}", path.display()), e))?;
        names.push(name);
    }
    Ok(names)
}
