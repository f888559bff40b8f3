//! [`Key`]: a validated object key.
//!
//! Every object signer reads or writes is named by a `Key`, and a `Key` can only be built
//! from segments that pass [`check_segment`]. Names from [`crate::model`] already obey
//! stricter rules; this check is the second wall, so that no string, whatever its origin,
//! turns into a key that escapes its prefix (`..`), nests where it should not (`/`), is
//! decoded differently by another store (`%`, `\`), or collides with the file store's
//! staging files (`#`).

use std::fmt;

use object_store::path::Path;

use super::StoreError;

/// The longest key accepted, in bytes (S3's own limit is 1,024).
pub const MAX_KEY_LEN: usize = 1024;

/// Characters refused in a segment besides anything that is not printable ASCII (spaces,
/// control characters, non-ASCII, which `object_store` would percent-encode): the delimiter, the escape
/// characters of URLs and Windows paths, the file store's staging suffix (`#`), and the
/// rest of the characters that `object_store` would percent-encode (AWS recommends
/// avoiding them in keys).
const FORBIDDEN: &[char] = &['/', '\\', '%', '#', '{', '}', '^', '`', '[', ']', '"', '<', '>', '~', '|', '*', '?'];

/// A validated object key: segments joined with `/`.
///
/// Built only by [`Key::new`] and [`Key::child`] from fixed segments and validated names
/// (see [`super::keys`] for the layout), so it never holds an empty, `.` or `..` segment,
/// nor `/`, `\`, `%`, `#`, spaces, control or non-ASCII characters, or other characters that
/// object stores treat specially.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key(String);

impl Key {
    /// A key from its segments; each must pass the segment rules, and there must be one.
    pub fn new(segments: &[&str]) -> Result<Self, StoreError> {
        let (first, rest) = segments.split_first().ok_or_else(|| StoreError::BadKey {
            key: String::new(),
            reason: "a key needs at least one segment".to_owned(),
        })?;
        let mut key = Self::single(first)?;
        for segment in rest {
            key = key.child(segment)?;
        }
        Ok(key)
    }

    /// This key with one more segment appended.
    pub fn child(&self, segment: &str) -> Result<Self, StoreError> {
        check_segment(segment).map_err(|reason| StoreError::BadKey { key: format!("{}/{segment}", self.0), reason })?;
        let joined = format!("{}/{segment}", self.0);
        check_len(&joined)?;
        Ok(Self(joined))
    }

    /// The key's text, segments joined with `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The segments of the key.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// Whether this key lies below `prefix` (at any depth; not `prefix` itself).
    pub fn is_under(&self, prefix: &Key) -> bool {
        let mut mine = self.segments();
        prefix.segments().all(|p| mine.next() == Some(p)) && mine.next().is_some()
    }

    /// The last segment.
    pub fn last_segment(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }

    /// The `object_store` path of this key.
    pub fn path(&self) -> Path {
        // Every segment passed `check_segment`, which refuses everything that
        // `object_store` encodes, so this is the key's text as is.
        Path::from_iter(self.segments())
    }

    /// The key of an `object_store` path found by a listing; a path that breaks the rules
    /// (an object signer did not write) is `Corrupt`.
    pub fn from_path(path: &Path) -> Result<Self, StoreError> {
        let raw = path.as_ref();
        let segments: Vec<&str> = raw.split('/').collect();
        Self::new(&segments).map_err(|e| StoreError::Corrupt {
            key: raw.to_owned(),
            reason: format!("{e}; signer did not write this object: remove it from the store"),
        })
    }

    fn single(segment: &str) -> Result<Self, StoreError> {
        check_segment(segment).map_err(|reason| StoreError::BadKey { key: segment.to_owned(), reason })?;
        check_len(segment)?;
        Ok(Self(segment.to_owned()))
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks one key segment, returning the broken rule.
fn check_segment(segment: &str) -> Result<(), String> {
    if segment.is_empty() {
        return Err("a key segment must not be empty".to_owned());
    }
    if segment == "." || segment == ".." {
        return Err(format!("a key segment must not be {segment:?}"));
    }
    if let Some(c) = segment.chars().find(|c| !c.is_ascii_graphic() || FORBIDDEN.contains(c)) {
        return Err(format!("a key segment must be printable ASCII without spaces and must not contain {c:?}"));
    }
    Ok(())
}

fn check_len(key: &str) -> Result<(), StoreError> {
    if key.len() > MAX_KEY_LEN {
        return Err(StoreError::BadKey {
            key: key.chars().take(80).collect(),
            reason: format!("a key must be at most {MAX_KEY_LEN} bytes long"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_join_validated_segments() {
        let k = Key::new(&["profiles", "My_Profile", "profile.json"]).unwrap();
        assert_eq!(k.as_str(), "profiles/My_Profile/profile.json");
        assert_eq!(k.to_string(), "profiles/My_Profile/profile.json");
        assert_eq!(k.last_segment(), "profile.json");
        assert_eq!(k.path().as_ref(), "profiles/My_Profile/profile.json");
        let c = k.child("x.json").unwrap();
        assert_eq!(c.as_str(), "profiles/My_Profile/profile.json/x.json");
        let profiles = Key::new(&["profiles"]).unwrap();
        assert!(k.is_under(&profiles) && c.is_under(&k));
        assert!(!profiles.is_under(&profiles) && !profiles.is_under(&k));
        // Whole segments only: `profilesX/…` is not under `profiles`.
        assert!(!Key::new(&["profilesX", "a.json"]).unwrap().is_under(&profiles));
    }

    #[test]
    fn hostile_segments_are_refused() {
        for bad in [
            "", ".", "..", "a/b", "a\\b", "%2e%2e", "a\0b", "a\nb", "x#1", "a[b", "~", "a*", "b?", "a b", "é",
            "a\u{7f}",
        ] {
            assert!(Key::new(&["ok", bad]).is_err(), "{bad:?}");
            assert!(Key::new(&[bad]).is_err(), "{bad:?}");
            let base = Key::new(&["ok"]).unwrap();
            let err = base.child(bad).unwrap_err();
            assert!(matches!(err, StoreError::BadKey { .. }), "{bad:?}: {err}");
        }
        assert!(Key::new(&[]).is_err());
    }

    #[test]
    fn overlong_keys_are_refused() {
        let long = "a".repeat(600);
        let k = Key::new(&[&long]).unwrap();
        assert!(k.child(&long).is_err());
    }

    #[test]
    fn every_valid_key_round_trips_through_object_store_paths() {
        for segs in [&["a", "b-c_d", "d.json"][..], &["x=1;y", "..."], &["a'b", "(c)", "+d@e", "$!&,:"]] {
            let k = Key::new(segs).unwrap();
            let p = k.path();
            assert_eq!(Path::parse(k.as_str()).unwrap(), p, "{k}");
            assert_eq!(p.as_ref(), k.as_str(), "object_store encoded nothing");
            assert_eq!(Key::from_path(&p).unwrap(), k);
        }
    }

    #[test]
    fn foreign_paths_are_corrupt() {
        let p = Path::from_iter(["a", "b%c"]);
        assert!(matches!(Key::from_path(&p), Err(StoreError::Corrupt { .. })));
    }
}
