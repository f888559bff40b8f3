//! The edges where signer touches the world: the object store, the home (private keys),
//! the key stores that hold keys elsewhere (PKCS#11 tokens, AWS KMS),
//! the clock, and local or object locations. Nothing above them opens a file or reads the
//! time another way (`clippy.toml` keeps `SystemTime::now` in `clock`).

pub(crate) mod aws;
pub mod clock;
pub mod custody;
pub mod home;
pub mod location;
pub mod store;
pub mod tsa_http;
