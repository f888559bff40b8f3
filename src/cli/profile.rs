//! `signer profile …`

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Subcommand;

use super::Ctx;
use signer::clock;
use signer::crypto::{self, SecretKey};
use signer::error::exit;
use signer::model::{Platform, ProfileName, Timestamp, Validity, VersionId, VersionRef};
use signer::profiles::{self, Definition, NewVersion, Profile};

#[derive(Debug, Subcommand)]
pub(super) enum ProfileCmd {
    /// Create a signing profile and its first version (a key and a code-signing
    /// certificate from the store's root CA, or your own chain and key).
    ///
    /// Examples:
    ///   signer profile create MyApp
    ///   signer profile create MyApp --platform Ed25519 --validity 12months
    ///   signer profile create --from profiles/release-profile.json
    ///   signer profile create Vendor --cert-chain chain.pem --key key.pk8.pem
    ///   signer profile create MyApp --key-store aws-kms
    ///   SIGNER_PKCS11_MODULE=/usr/lib/softhsm/libsofthsm2.so SIGNER_PKCS11_PIN_FILE=pin \
    ///     signer profile create MyApp --key-store 'pkcs11:token=signer'
    #[command(verbatim_doc_comment)]
    Create {
        /// Profile name: 2–64 of A-Z a-z 0-9 _. Never reusable, even after cancel. May be
        /// left out when the --from file names it.
        #[arg(required_unless_present = "from")]
        name: Option<ProfileName>,
        /// Read the settings from a JSON file (`-` for stdin), as in `profiles/`: name,
        /// platform, validity, description, sign_without_tsa, key_store. A flag given here
        /// wins over the file.
        #[arg(long, value_name = "FILE")]
        from: Option<PathBuf>,
        /// Signing platform: ECDSA-P384-SHA384 (the default), ECDSA-P256-SHA256 or Ed25519.
        #[arg(long, value_parser = super::one_of::<Platform>(Platform::ALL.map(Platform::as_str)))]
        platform: Option<Platform>,
        /// How long each signature stays valid, 1 day to 135 months: 30d, 2w, 12M (or
        /// 12months), 5y. Default (and maximum) 135months.
        #[arg(long)]
        validity: Option<Validity>,
        /// For people: what the profile signs (at most 256 characters, one line).
        #[arg(long)]
        description: Option<String>,
        /// Bring your own chain: PEM certificates, the signer's first, ending with the
        /// root that verifiers will trust. Its leaf needs extendedKeyUsage codeSigning.
        #[arg(long, requires = "key", value_name = "PEM")]
        cert_chain: Option<PathBuf>,
        /// The PKCS#8 private key (PEM or DER) of the chain's first certificate.
        #[arg(long, requires = "cert_chain", value_name = "PKCS8", conflicts_with = "key_store")]
        key: Option<PathBuf>,
        #[command(flatten)]
        key_store: super::KeyStoreArg,
        /// When the store's TSA does not answer, sign without a timestamp (and say so)
        /// instead of failing. Off by default: an untimestamped signature fails every
        /// revocation of its version and a cancellation of its profile.
        #[arg(long)]
        sign_without_tsa: bool,
    },
    /// Add a new version (new key and certificate); new signatures use it. Its key goes
    /// where the profile's keys go, unless --key-store says otherwise.
    ///
    /// Examples:
    ///   signer profile rotate MyApp
    ///   signer profile rotate MyApp --key-store aws-kms
    #[command(verbatim_doc_comment)]
    Rotate {
        /// Profile name.
        #[arg(add = super::complete::profiles())]
        name: ProfileName,
        #[command(flatten)]
        key_store: super::KeyStoreArg,
    },
    /// List signing profiles.
    ///
    /// Example: signer profile list --include-canceled
    List {
        /// Include canceled profiles.
        #[arg(long)]
        include_canceled: bool,
    },
    /// Show a profile, its status and versions.
    ///
    /// Example: signer --output json profile show MyApp
    Show {
        /// Profile name.
        #[arg(add = super::complete::profiles())]
        name: ProfileName,
    },
    /// Cancel a profile: it signs nothing new; existing signatures stay valid; the name
    /// is never reused. Canceling twice is not an error.
    ///
    /// Example: signer profile cancel MyApp
    Cancel {
        /// Profile name.
        #[arg(add = super::complete::profiles())]
        name: ProfileName,
    },
    /// Revoke one profile version from an effective time (irreversible): signatures it
    /// made at or after that time fail the revocation check. The effective time must be
    /// in the past; revoking again may move it earlier, never later.
    ///
    /// Example: signer profile revoke MyApp --version AbCdEf1234 --effective-time 2026-01-31T00:00:00Z --reason "key leaked"
    Revoke {
        /// Profile name.
        #[arg(add = super::complete::profiles())]
        name: ProfileName,
        /// The version id (10 characters).
        #[arg(long)]
        version: VersionId,
        /// RFC 3339 time: signatures timestamped at or after it fail (untimestamped ones
        /// fail whatever they claim). Not needed with --reason key-compromise.
        #[arg(long, value_name = "TIME")]
        effective_time: Option<Timestamp>,
        /// Why (recorded). `key-compromise` revokes from the certificate's start: every
        /// signature the leaked key could have made, timestamped or not.
        #[arg(long)]
        reason: String,
    },
    /// Who may sign with the profile through `signer serve`: grant, list and remove
    /// access keys' permissions.
    #[command(subcommand)]
    Permission(super::permission::PermissionCmd),
}

pub(super) async fn run(ctx: &Ctx, cmd: ProfileCmd) -> anyhow::Result<u8> {
    if let ProfileCmd::Permission(cmd) = cmd {
        return super::permission::run(ctx, cmd).await;
    }
    let store = match cmd {
        ProfileCmd::List { .. } | ProfileCmd::Show { .. } => ctx.read_store()?,
        _ => ctx.store()?,
    };
    let now = clock::now();
    match cmd {
        ProfileCmd::Create {
            name,
            from,
            platform,
            validity,
            description,
            cert_chain,
            key,
            sign_without_tsa,
            key_store,
        } => {
            let shown = from.as_deref().map(super::paths::shown).unwrap_or_default();
            let def = match &from {
                Some(file) => Definition::parse(
                    &super::paths::read_input(file, profiles::MAX_DEFINITION_BYTES, "profile definition")?,
                    &shown,
                )?,
                None => Definition::default(),
            };
            let name = name
                .or(def.name)
                .ok_or_else(|| signer::Error::from(profiles::ProfileError::NoName { file: shown.clone() }))?;
            let home = ctx.home()?;
            let first = match (cert_chain, key) {
                (Some(chain), Some(key)) => own_chain(&chain, &key)?,
                _ => NewVersion::Issued,
            };
            let options = profiles::ProfileOptions {
                platform: platform.or(def.platform).unwrap_or_default(),
                validity: validity.or(def.validity).unwrap_or(Validity::MAX),
                sign_without_tsa: sign_without_tsa || def.sign_without_tsa.unwrap_or(false),
                key_store: key_store.key_store.or(def.key_store).unwrap_or_default(),
                description: description.or(def.description).unwrap_or_default(),
            };
            let p = profiles::create_profile(&store, &home, &name, options, first, now).await?;
            let text = format!("created signing profile {}\n{}", p.name, profile_text(&p));
            ctx.out.emit(&p, text)?;
        }
        ProfileCmd::Rotate { name, key_store } => {
            let p = profiles::rotate(&store, &ctx.home()?, &name, key_store.key_store.as_ref(), now).await?;
            let text = format!(
                "new version {} of {}",
                p.current_version.as_ref().map(VersionId::as_str).unwrap_or("?"),
                p.name
            );
            ctx.out.emit(&p, text)?;
        }
        ProfileCmd::List { include_canceled } => {
            let list = profiles::list_profiles(&store, include_canceled).await?;
            let mut text = format!("{:<24} {:<9} {:<18} {:<11} VERSIONS", "NAME", "STATUS", "PLATFORM", "CURRENT");
            for p in &list {
                text.push_str(&format!(
                    "\n{:<24} {:<9} {:<18} {:<11} {}",
                    p.name.as_str(),
                    format!("{:?}", p.status),
                    p.platform.as_str(),
                    p.current_version.as_ref().map(VersionId::as_str).unwrap_or("-"),
                    p.versions.len()
                ));
            }
            if list.is_empty() {
                text = "no signing profiles; create one with `signer profile create NAME`".into();
            }
            ctx.out.emit(&serde_json::json!({ "profiles": list }), text)?;
        }
        ProfileCmd::Show { name } => {
            let p = profiles::show_profile(&store, &name).await?;
            ctx.out.emit(&p, profile_text(&p))?;
        }
        ProfileCmd::Cancel { name } => {
            let c = profiles::cancel(&store, &name, now).await?;
            let mut doc = serde_json::to_value(&c.profile)?;
            if let Some(fields) = doc.as_object_mut() {
                fields.insert("already_canceled".into(), c.already.into());
            }
            let text = if c.already {
                format!("{} was already canceled; nothing to do", c.profile.name)
            } else {
                format!("canceled {}: it signs nothing new; existing signatures stay valid", c.profile.name)
            };
            ctx.out.emit(&doc, text)?;
        }
        ProfileCmd::Revoke { name, version, effective_time, reason } => {
            let v = VersionRef { profile: name, version };
            let r = profiles::revoke_version(&store, &v, effective_time, &reason, now).await?;
            let text = format!(
                "revoked {} effective {}: signatures made at or after it fail the revocation check",
                r.version, r.effective_time
            );
            let doc = serde_json::json!({
                "profile": r.version.profile,
                "profile_version": r.version.version,
                "effective_at": r.effective_time,
                "reason": r.reason,
                "revoked_at": r.revoked_at,
            });
            ctx.out.emit(&doc, text)?;
        }
        ProfileCmd::Permission(_) => {}
    }
    Ok(exit::OK)
}

/// The largest certificate chain file read for `--cert-chain` (eight 16 KiB certificates
/// in PEM, with room to spare).
const MAX_CHAIN_FILE: usize = 256 << 10;
/// The largest key file read for `--key`.
const MAX_KEY_FILE: usize = signer::home::MAX_KEY_FILE_BYTES as usize;

fn own_chain(chain: &std::path::Path, key: &std::path::Path) -> anyhow::Result<NewVersion> {
    let pem = super::paths::read_input(chain, MAX_CHAIN_FILE, "certificate chain")?;
    let pem = String::from_utf8(pem).map_err(|_| {
        signer::Error::from(crypto::CryptoError::BadPem {
            reason: format!("{} is not a PEM file (not text)", chain.display()),
        })
    })?;
    let chain =
        crypto::parse_pem_certs(&pem).with_context(|| format!("reading the certificate chain {}", chain.display()))?;
    let bytes = zeroize::Zeroizing::new(super::paths::read_input(key, MAX_KEY_FILE, "private key")?);
    let key = match std::str::from_utf8(&bytes) {
        Ok(text) if text.contains("-----BEGIN") => SecretKey::from_pkcs8_pem(text),
        _ => SecretKey::from_pkcs8(&bytes),
    }
    .map_err(signer::Error::from)?;
    profiles::check_own_chain(&chain, &key, clock::now())?;
    Ok(NewVersion::OwnChain { chain, key: Box::new(key) })
}

fn profile_text(p: &Profile) -> String {
    let mut t = format!(
        "name:       {}\nstatus:     {:?}\nplatform:   {}\nvalidity:   {}\ncreated:    {}",
        p.name, p.status, p.platform, p.signature_validity, p.created_at
    );
    if !p.description.is_empty() {
        t.push_str(&format!("\nabout:      {}", p.description));
    }
    if let Some(c) = p.canceled_at {
        t.push_str(&format!("\ncanceled:   {c}"));
    }
    t.push_str("\nversions:");
    for v in &p.versions {
        let current = if Some(&v.version) == p.current_version.as_ref() { " (current)" } else { "" };
        let revoked = v.revoked_effective_at.map(|e| format!(" revoked effective {e}")).unwrap_or_default();
        t.push_str(&format!(
            "\n  {}/{}  created {}  cert sha256 {}{current}{revoked}",
            p.name, v.version, v.created_at, v.certificate_sha256
        ));
    }
    t
}
