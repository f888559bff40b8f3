//! The deploy hook's pure part (SPEC §5, §3): the function-deployment document a pipeline
//! hands over, parsed strictly, and the limit checks of a deployment.
//!
//! ```json
//! {"function":"name","code":"PATH|URL","layers":["NAME:N",…],"memory_mb":1024,
//!  "ephemeral_storage_mb":512,"timeout_s":30,"code_signing_config":"csc-…"}
//! ```
//!
//! The document is untrusted input: it is read only up to [`MAX_INPUT_BYTES`] and
//! [`MAX_DEPTH`] levels of nesting, a field given twice or a field this version does not
//! know is refused (another parser might read it differently), and every refusal names the
//! JSON path of the bad field (`$.layers[2]`, `$.memory_mb`) so a pipeline author can fix it.
//!
//! Reading packages and the store is the caller's (`signer deploy check`); this module only
//! turns measured sizes into [`LimitFinding`]s, with Lambda's own wording where Lambda has
//! one, because that is what users search for.
//!
//! ```
//! use signer::deploy::{self, Sizes};
//!
//! let d = deploy::parse(br#"{"function":"hello","code":"hello.zip","memory_mb":20000}"#)?;
//! assert_eq!(d.timeout_s, 3); // Lambda's default
//! let findings = deploy::limit_findings(&d, &Sizes { function: Some(1_000), layers: vec![] }, &[]);
//! let memory = findings.iter().find(|f| f.check == "memory_mb").unwrap();
//! assert!(memory.reason.contains("less than or equal to 10240"));
//!
//! let err = deploy::parse(br#"{"function":"hello","code":"hello.zip","layers":["deps:1","deps:0"]}"#).unwrap_err();
//! assert_eq!(err.path, "$.layers[1]");
//! # Ok::<(), deploy::InputError>(())
//! ```

use std::collections::BTreeSet;
use std::fmt;

use serde::Deserialize;
use serde::de::{MapAccess, Visitor};
use serde_json::Value;

use crate::limits::{self, MAX_LAYERS, MAX_UNZIPPED_BYTES};
use crate::model::{CscId, LayerVersionRef};
use crate::policy::Status;
use crate::verdict::LimitFinding;

/// The largest deployment document read, in bytes (1 MiB).
pub const MAX_INPUT_BYTES: usize = 1 << 20;
/// The deepest nesting of arrays and objects read. The document itself needs two levels.
pub const MAX_DEPTH: usize = 8;
/// The most fields a deployment object may have (it knows seven).
pub const MAX_FIELDS: usize = 64;
/// The most layer entries read; more than [`MAX_LAYERS`] is a limit failure, more than
/// this is malformed input.
pub const MAX_LAYER_ENTRIES: usize = 100;
/// The longest function name, in characters.
pub const MAX_FUNCTION_NAME: usize = 256;
/// The longest `code` path or URL, in characters.
pub const MAX_CODE_LEN: usize = 4096;

/// Lambda's default memory, when the document gives none.
pub const DEFAULT_MEMORY_MB: u64 = 128;
/// Lambda's default ephemeral storage, when the document gives none.
pub const DEFAULT_EPHEMERAL_STORAGE_MB: u64 = 512;
/// Lambda's default timeout, when the document gives none.
pub const DEFAULT_TIMEOUT_S: u64 = 3;

/// The fields of the document, in the order `--help` and errors list them.
const FIELDS: [&str; 7] =
    ["function", "code", "layers", "memory_mb", "ephemeral_storage_mb", "timeout_s", "code_signing_config"];

/// A function deployment, as parsed. Every value has passed its type and syntax rules;
/// ranges are checked by [`limit_findings`], because an out-of-range value is a denial
/// with a reason, not malformed input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    /// The function's name (a label for people).
    pub function: String,
    /// The function package: a path or an object URL (not yet opened).
    pub code: String,
    /// Layer versions, in order.
    pub layers: Vec<LayerVersionRef>,
    /// Memory, MB (default 128).
    pub memory_mb: u64,
    /// Ephemeral storage (`/tmp`), whole MB (default 512).
    pub ephemeral_storage_mb: u64,
    /// Timeout, seconds (default 3).
    pub timeout_s: u64,
    /// The code-signing config in force, if any.
    pub code_signing_config: Option<CscId>,
}

/// Malformed deployment input: where, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid deployment at {path}: {problem}")]
pub struct InputError {
    /// The JSON path of the bad field (`$` for the whole document).
    pub path: String,
    /// What is wrong and what to do.
    pub problem: String,
}

impl InputError {
    fn new(path: impl Into<String>, problem: impl Into<String>) -> Self {
        Self { path: path.into(), problem: problem.into() }
    }
}

/// The JSON path of the deployment field `name` (`$.memory_mb`).
pub fn field_path(name: &str) -> String {
    if !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        format!("$.{name}")
    } else {
        let shown: String = name.chars().take(64).collect();
        format!("$[{}]", serde_json::Value::String(shown))
    }
}

/// The JSON path of layer entry `i` (`$.layers[2]`).
pub fn layer_path(i: usize) -> String {
    format!("$.layers[{i}]")
}

/// Parses a deployment document (SPEC §5). Refuses, naming the JSON path: more than
/// [`MAX_INPUT_BYTES`], nesting deeper than [`MAX_DEPTH`], bad JSON, anything but an
/// object at the top, a field given twice, an unknown field, a missing `function` or
/// `code`, and a value of the wrong type or syntax.
pub fn parse(bytes: &[u8]) -> Result<Deployment, InputError> {
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(InputError::new(
            "$",
            format!(
                "the document is {} bytes, over the {MAX_INPUT_BYTES}-byte limit; a deployment needs a few hundred",
                bytes.len()
            ),
        ));
    }
    check_depth(bytes)?;
    let Fields(fields) = serde_json::from_slice(bytes).map_err(|e| {
        InputError::new("$", format!("not a JSON object ({e}); see `signer deploy check --help` for the format"))
    })?;

    let mut seen = BTreeSet::new();
    let mut function = None;
    let mut code = None;
    let mut layers = Vec::new();
    let mut memory_mb = DEFAULT_MEMORY_MB;
    let mut ephemeral_storage_mb = DEFAULT_EPHEMERAL_STORAGE_MB;
    let mut timeout_s = DEFAULT_TIMEOUT_S;
    let mut code_signing_config = None;
    for (name, value) in &fields {
        let path = field_path(name);
        if !seen.insert(name.as_str()) {
            return Err(InputError::new(path, "given twice; give each field once (readers disagree on which wins)"));
        }
        match name.as_str() {
            "function" => function = Some(text(&path, value, MAX_FUNCTION_NAME, "the function's name")?),
            "code" => code = Some(text(&path, value, MAX_CODE_LEN, "a path or an object URL of the function package")?),
            "layers" => layers = layer_list(value)?,
            "memory_mb" => memory_mb = whole_number(&path, value, "MB")?,
            "ephemeral_storage_mb" => ephemeral_storage_mb = whole_number(&path, value, "MB")?,
            "timeout_s" => timeout_s = whole_number(&path, value, "seconds")?,
            "code_signing_config" => code_signing_config = csc_id(&path, value)?,
            _ => {
                return Err(InputError::new(
                    path,
                    format!("unknown field; a deployment has only {}", FIELDS.join(", ")),
                ));
            }
        }
    }
    let missing = |f: &str| InputError::new(field_path(f), "missing; it is required");
    Ok(Deployment {
        function: function.ok_or_else(|| missing("function"))?,
        code: code.ok_or_else(|| missing("code"))?,
        layers,
        memory_mb,
        ephemeral_storage_mb,
        timeout_s,
        code_signing_config,
    })
}

/// The top-level object as written: every field in order, duplicates kept (a map would
/// silently keep one of them).
struct Fields(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct FieldsVisitor;
        impl<'de> Visitor<'de> for FieldsVisitor {
            type Value = Fields;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry::<String, Value>()? {
                    if out.len() >= MAX_FIELDS {
                        return Err(serde::de::Error::custom(format!("more than {MAX_FIELDS} fields")));
                    }
                    out.push(entry);
                }
                Ok(Fields(out))
            }
        }
        d.deserialize_map(FieldsVisitor)
    }
}

/// Refuses nesting deeper than [`MAX_DEPTH`] before any parser recurses into it. A scan
/// over the bytes that knows only strings (and their escapes) and brackets.
fn check_depth(bytes: &[u8]) -> Result<(), InputError> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (offset, &b) in bytes.iter().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(InputError::new(
                        "$",
                        format!(
                            "nested deeper than {MAX_DEPTH} levels (at byte {offset}); a deployment is one object with one list"
                        ),
                    ));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// A short rendering of a value for an error message.
fn shown(value: &Value) -> String {
    let s = value.to_string();
    if s.chars().count() > 40 { format!("{}…", s.chars().take(40).collect::<String>()) } else { s }
}

fn text(path: &str, value: &Value, max: usize, what: &str) -> Result<String, InputError> {
    let Value::String(s) = value else {
        return Err(InputError::new(path, format!("must be a string ({what}), found {}", shown(value))));
    };
    if s.is_empty() {
        return Err(InputError::new(path, format!("is empty; give {what}")));
    }
    if s.chars().count() > max {
        return Err(InputError::new(path, format!("is longer than {max} characters")));
    }
    if s.chars().any(char::is_control) {
        return Err(InputError::new(path, "contains a control character"));
    }
    Ok(s.clone())
}

fn whole_number(path: &str, value: &Value, unit: &str) -> Result<u64, InputError> {
    value.as_u64().ok_or_else(|| {
        InputError::new(path, format!("must be a whole number of {unit} such as 512, found {}", shown(value)))
    })
}

fn csc_id(path: &str, value: &Value) -> Result<Option<CscId>, InputError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => {
            s.parse().map(Some).map_err(|e: crate::model::NameError| InputError::new(path, e.to_string()))
        }
        other => Err(InputError::new(
            path,
            format!("must be a code-signing config id such as \"csc-0123456789abcdef0\", found {}", shown(other)),
        )),
    }
}

fn layer_list(value: &Value) -> Result<Vec<LayerVersionRef>, InputError> {
    let path = field_path("layers");
    let Value::Array(items) = value else {
        return Err(InputError::new(path, format!("must be a list of \"NAME:N\" strings, found {}", shown(value))));
    };
    if items.len() > MAX_LAYER_ENTRIES {
        return Err(InputError::new(
            path,
            format!(
                "lists {} layers; at most {MAX_LAYER_ENTRIES} entries are read (a function may use {MAX_LAYERS})",
                items.len()
            ),
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::String(s) => {
                s.parse().map_err(|e: crate::model::NameError| InputError::new(layer_path(i), e.to_string()))
            }
            other => Err(InputError::new(
                layer_path(i),
                format!("must be a layer version \"NAME:N\" such as \"deps:3\", found {}", shown(other)),
            )),
        })
        .collect()
}

/// The unzipped sizes of a deployment's packages, where known. A size is unknown when a
/// package's signature did not verify (its statement cannot be trusted, and such a package
/// is denied anyway).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sizes {
    /// The function package.
    pub function: Option<u64>,
    /// Each layer, in the deployment's order, by `NAME:N`.
    pub layers: Vec<(String, Option<u64>)>,
}

/// Lambda's message for layers that alone leave no room for the function code.
pub fn layers_size_message() -> String {
    format!("Layers consume more than the available size of {MAX_UNZIPPED_BYTES} bytes.")
}

/// The limit checks of a deployment (SPEC §3), each reported whether it passes or fails,
/// in a fixed order: `layers`, `deleted_layers`, `total_unzipped_size`, `memory_mb`,
/// `ephemeral_storage_mb`, `timeout_s`. `deleted` are the deployment's layer versions
/// that were deleted: they cannot be added to a new deployment.
pub fn limit_findings(d: &Deployment, sizes: &Sizes, deleted: &[LayerVersionRef]) -> Vec<LimitFinding> {
    vec![
        layer_count(d.layers.len()),
        deleted_layers(deleted),
        total_unzipped(sizes),
        range("memory_mb", "memorySize", d.memory_mb, &limits::MEMORY_MB, "MB"),
        range(
            "ephemeral_storage_mb",
            "ephemeralStorage.size",
            d.ephemeral_storage_mb,
            &limits::EPHEMERAL_STORAGE_MB,
            "MB",
        ),
        range("timeout_s", "timeout", d.timeout_s, &limits::TIMEOUT_S, "seconds"),
    ]
}

fn finding(check: &str, pass: bool, value: u64, limit: u64, reason: String) -> LimitFinding {
    LimitFinding {
        check: check.to_owned(),
        status: if pass { Status::Pass } else { Status::Fail },
        value,
        limit,
        reason,
    }
}

fn layer_count(n: usize) -> LimitFinding {
    let max = MAX_LAYERS as u64;
    let value = n as u64;
    if value <= max {
        finding("layers", true, value, max, format!("{n} of at most {MAX_LAYERS} layers"))
    } else {
        finding(
            "layers",
            false,
            value,
            max,
            format!(
                "{n} layers: a function can use at most {MAX_LAYERS}; merge layers or move their contents into the function package"
            ),
        )
    }
}

fn deleted_layers(deleted: &[LayerVersionRef]) -> LimitFinding {
    if deleted.is_empty() {
        return finding("deleted_layers", true, 0, 0, "no deleted layer version".into());
    }
    let names: Vec<String> = deleted.iter().map(ToString::to_string).collect();
    finding(
        "deleted_layers",
        false,
        deleted.len() as u64,
        0,
        format!(
            "{} deleted: a deleted layer version cannot be added to a new deployment; use a published version (`signer layer versions NAME`)",
            names.join(", ")
        ),
    )
}

fn total_unzipped(sizes: &Sizes) -> LimitFinding {
    let function = sizes.function.unwrap_or(0);
    let layers: u64 = sizes.layers.iter().filter_map(|(_, s)| *s).fold(0, u64::saturating_add);
    let total = function.saturating_add(layers);
    let mut unknown: Vec<&str> = sizes.layers.iter().filter(|(_, s)| s.is_none()).map(|(n, _)| n.as_str()).collect();
    if sizes.function.is_none() {
        unknown.insert(0, "the function package");
    }
    let note = if unknown.is_empty() {
        String::new()
    } else {
        format!(
            " Not counted, because their signatures did not verify and their sizes are unknown: {}.",
            unknown.join(", ")
        )
    };
    if layers > MAX_UNZIPPED_BYTES {
        let reason = format!(
            "{} The layers' actual size is {layers} bytes; with the function code, {total} bytes.{note}",
            layers_size_message()
        );
        finding("total_unzipped_size", false, total, MAX_UNZIPPED_BYTES, reason)
    } else if total > MAX_UNZIPPED_BYTES {
        let reason = format!("{}{note}", limits::combined_size_message(total));
        finding("total_unzipped_size", false, total, MAX_UNZIPPED_BYTES, reason)
    } else {
        let reason = format!(
            "{total} of at most {MAX_UNZIPPED_BYTES} bytes unzipped (function {function}, layers {layers}).{note}"
        );
        finding("total_unzipped_size", true, total, MAX_UNZIPPED_BYTES, reason)
    }
}

fn range(
    check: &str,
    lambda_name: &str,
    value: u64,
    bounds: &std::ops::RangeInclusive<u32>,
    unit: &str,
) -> LimitFinding {
    let (lo, hi) = (u64::from(*bounds.start()), u64::from(*bounds.end()));
    if value < lo {
        finding(
            check,
            false,
            value,
            lo,
            format!(
                "Value '{value}' at '{lambda_name}' failed to satisfy constraint: Member must have value greater than or equal to {lo} ({check} must be {lo}–{hi} {unit})"
            ),
        )
    } else if value > hi {
        finding(
            check,
            false,
            value,
            hi,
            format!(
                "Value '{value}' at '{lambda_name}' failed to satisfy constraint: Member must have value less than or equal to {hi} ({check} must be {lo}–{hi} {unit})"
            ),
        )
    } else {
        finding(check, true, value, hi, format!("{value} {unit} is within {lo}–{hi} {unit}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(extra: &str) -> Vec<u8> {
        format!(r#"{{"function":"hello","code":"hello.zip"{extra}}}"#).into_bytes()
    }

    fn err_path(bytes: &[u8]) -> String {
        parse(bytes).unwrap_err().path
    }

    fn check<'a>(findings: &'a [LimitFinding], name: &str) -> &'a LimitFinding {
        findings.iter().find(|f| f.check == name).unwrap()
    }

    fn with(memory: u64, ephemeral: u64, timeout: u64) -> Deployment {
        Deployment {
            function: "f".into(),
            code: "f.zip".into(),
            layers: vec![],
            memory_mb: memory,
            ephemeral_storage_mb: ephemeral,
            timeout_s: timeout,
            code_signing_config: None,
        }
    }

    fn no_sizes() -> Sizes {
        Sizes { function: Some(1), layers: vec![] }
    }

    #[test]
    fn the_spec_example_parses() {
        let d = parse(
            br#"{"function":"name","code":"s3://bucket/f.zip","layers":["deps:1","util-x:12"],"memory_mb":1024,
                 "ephemeral_storage_mb":512,"timeout_s":30,"code_signing_config":"csc-0123456789abcdef0"}"#,
        )
        .unwrap();
        assert_eq!(d.function, "name");
        assert_eq!(d.code, "s3://bucket/f.zip");
        assert_eq!(d.layers.iter().map(ToString::to_string).collect::<Vec<_>>(), ["deps:1", "util-x:12"]);
        assert_eq!((d.memory_mb, d.ephemeral_storage_mb, d.timeout_s), (1024, 512, 30));
        assert_eq!(d.code_signing_config.unwrap().as_str(), "csc-0123456789abcdef0");
    }

    #[test]
    fn omitted_settings_take_lambdas_defaults() {
        let d = parse(&doc("")).unwrap();
        assert!(d.layers.is_empty());
        assert_eq!((d.memory_mb, d.ephemeral_storage_mb, d.timeout_s), (128, 512, 3));
        assert_eq!(d.code_signing_config, None);
        assert_eq!(parse(&doc(r#","code_signing_config":null"#)).unwrap().code_signing_config, None);
    }

    #[test]
    fn every_refusal_names_the_path_of_the_bad_field() {
        let cases: &[(&[u8], &str, &str)] = &[
            (b"[1,2]", "$", "not a JSON object"),
            (b"{\"function\":", "$", "not a JSON object"),
            (b"", "$", "not a JSON object"),
            (br#"{"code":"a.zip"}"#, "$.function", "missing"),
            (br#"{"function":"f"}"#, "$.code", "missing"),
            (&doc(r#","memory_mb":"1024""#), "$.memory_mb", "whole number"),
            (&doc(r#","memory_mb":1024.5"#), "$.memory_mb", "whole number"),
            (&doc(r#","memory_mb":-1"#), "$.memory_mb", "whole number"),
            (&doc(r#","ephemeral_storage_mb":512.5"#), "$.ephemeral_storage_mb", "whole number"),
            (&doc(r#","timeout_s":null"#), "$.timeout_s", "whole number"),
            (&doc(r#","layers":"deps:1""#), "$.layers", "list"),
            (&doc(r#","layers":["deps:1","deps:2","deps:0"]"#), "$.layers[2]", "NAME:N"),
            (&doc(r#","layers":["deps:1",7]"#), "$.layers[1]", "layer version"),
            (&doc(r#","layers":["a/b:1"]"#), "$.layers[0]", "layer name"),
            (&doc(r#","code_signing_config":"csc-xyz""#), "$.code_signing_config", "17 hex"),
            (&doc(r#","code_signing_config":5"#), "$.code_signing_config", "config id"),
            (&doc(r#","memroy_mb":1024"#), "$.memroy_mb", "unknown field"),
            (&doc(r#","a b":1"#), "$[\"a b\"]", "unknown field"),
            (&doc(r#","memory_mb":128,"memory_mb":20000"#), "$.memory_mb", "twice"),
            (br#"{"function":"","code":"a.zip"}"#, "$.function", "empty"),
            (br#"{"function":"f","code":"a\u0000.zip"}"#, "$.code", "control character"),
            (br#"{"function":["f"],"code":"a.zip"}"#, "$.function", "must be a string"),
        ];
        for (input, path, words) in cases {
            let e = parse(input).unwrap_err();
            assert_eq!(e.path, *path, "{}", String::from_utf8_lossy(input));
            assert!(e.problem.contains(words), "{}: {e}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn size_and_depth_are_bounded() {
        let mut big = doc(r#","layers":[]"#);
        big.extend(std::iter::repeat_n(b' ', MAX_INPUT_BYTES));
        let e = parse(&big).unwrap_err();
        assert!(e.problem.contains("limit"), "{e}");

        let deep = format!(r#"{{"function":"f","code":"c","layers":{}{}}}"#, "[".repeat(50), "]".repeat(50));
        let e = parse(deep.as_bytes()).unwrap_err();
        assert!(e.problem.contains("nested deeper"), "{e}");
        // Brackets inside strings are not nesting.
        let d = parse(&doc(r#","layers":[],"code_signing_config":null"#)).unwrap();
        assert!(d.layers.is_empty());
        assert_eq!(parse(br#"{"function":"[[[[[[[[[[[[[\"","code":"c"}"#).unwrap().function, "[[[[[[[[[[[[[\"");

        let many = format!(r#"{{"function":"f","code":"c","layers":[{}]}}"#, vec!["\"d:1\""; 101].join(","));
        assert_eq!(err_path(many.as_bytes()), "$.layers");
        let fine = format!(r#"{{"function":"f","code":"c","layers":[{}]}}"#, vec!["\"d:1\""; 100].join(","));
        assert_eq!(parse(fine.as_bytes()).unwrap().layers.len(), 100);
    }

    #[test]
    fn memory_bounds_on_both_sides_of_each_edge() {
        for (v, pass, limit) in
            [(127, false, 128), (128, true, 10_240), (10_240, true, 10_240), (10_241, false, 10_240)]
        {
            let f = limit_findings(&with(v, 512, 3), &no_sizes(), &[]);
            let m = check(&f, "memory_mb");
            assert_eq!(m.status == Status::Pass, pass, "memory {v}: {}", m.reason);
            assert_eq!((m.value, m.limit), (v, limit));
            if !pass {
                assert!(m.reason.contains(&format!("Value '{v}' at 'memorySize'")), "{}", m.reason);
            }
        }
    }

    #[test]
    fn ephemeral_storage_bounds_on_both_sides_of_each_edge() {
        for (v, pass) in [(511, false), (512, true), (10_240, true), (10_241, false), (0, false)] {
            let f = limit_findings(&with(128, v, 3), &no_sizes(), &[]);
            let e = check(&f, "ephemeral_storage_mb");
            assert_eq!(e.status == Status::Pass, pass, "ephemeral {v}: {}", e.reason);
            if !pass {
                assert!(e.reason.contains("ephemeralStorage.size"), "{}", e.reason);
            }
        }
    }

    #[test]
    fn timeout_bounds_on_both_sides_of_each_edge() {
        for (v, pass) in [(0, false), (1, true), (900, true), (901, false)] {
            let f = limit_findings(&with(128, 512, v), &no_sizes(), &[]);
            let t = check(&f, "timeout_s");
            assert_eq!(t.status == Status::Pass, pass, "timeout {v}: {}", t.reason);
        }
    }

    #[test]
    fn layer_count_bound() {
        for (n, pass) in [(0, true), (5, true), (6, false)] {
            let mut d = with(128, 512, 3);
            d.layers = (1..=n).map(|i| format!("l{i}:1").parse().unwrap()).collect();
            let f = limit_findings(&d, &no_sizes(), &[]);
            let l = check(&f, "layers");
            assert_eq!(l.status == Status::Pass, pass, "{n} layers: {}", l.reason);
            assert_eq!((l.value, l.limit), (n as u64, 5));
        }
    }

    #[test]
    fn combined_size_uses_lambdas_wording_with_the_actual_size() {
        let d = with(128, 512, 3);
        let at_limit = Sizes { function: Some(MAX_UNZIPPED_BYTES - 10), layers: vec![("deps:1".into(), Some(10))] };
        let t = limit_findings(&d, &at_limit, &[]).remove(2);
        assert_eq!((t.check.as_str(), t.status, t.value), ("total_unzipped_size", Status::Pass, MAX_UNZIPPED_BYTES));

        let over = Sizes { function: Some(MAX_UNZIPPED_BYTES - 10), layers: vec![("deps:1".into(), Some(11))] };
        let t = limit_findings(&d, &over, &[]).remove(2);
        assert_eq!(t.status, Status::Fail);
        assert_eq!(t.value, MAX_UNZIPPED_BYTES + 1);
        assert_eq!(
            t.reason,
            "Function code combined with layers exceeds the maximum allowed size of 262144000 bytes. The actual size is 262144001 bytes."
        );
    }

    #[test]
    fn layers_alone_over_the_limit_say_so_as_lambda_does() {
        let d = with(128, 512, 3);
        let sizes = Sizes {
            function: Some(5),
            layers: vec![("a:1".into(), Some(200_000_000)), ("b:1".into(), Some(70_000_000))],
        };
        let t = limit_findings(&d, &sizes, &[]).remove(2);
        assert_eq!(t.status, Status::Fail);
        assert!(
            t.reason.starts_with("Layers consume more than the available size of 262144000 bytes."),
            "{}",
            t.reason
        );
        assert!(t.reason.contains("270000000") && t.reason.contains("270000005"), "{}", t.reason);
    }

    #[test]
    fn unknown_sizes_are_named_not_counted() {
        let d = with(128, 512, 3);
        let sizes = Sizes { function: None, layers: vec![("a:1".into(), Some(7)), ("b:2".into(), None)] };
        let t = limit_findings(&d, &sizes, &[]).remove(2);
        assert_eq!((t.status, t.value), (Status::Pass, 7));
        assert!(t.reason.contains("the function package, b:2"), "{}", t.reason);
    }

    #[test]
    fn deleted_layers_fail() {
        let d = with(128, 512, 3);
        let gone: LayerVersionRef = "deps:2".parse().unwrap();
        let f = limit_findings(&d, &no_sizes(), std::slice::from_ref(&gone));
        let del = check(&f, "deleted_layers");
        assert_eq!(del.status, Status::Fail);
        assert!(del.reason.contains("deps:2 deleted"), "{}", del.reason);
        assert_eq!(check(&limit_findings(&d, &no_sizes(), &[]), "deleted_layers").status, Status::Pass);
    }

    #[test]
    fn every_limit_is_reported_in_a_fixed_order() {
        let names: Vec<String> =
            limit_findings(&with(128, 512, 3), &no_sizes(), &[]).into_iter().map(|f| f.check).collect();
        assert_eq!(
            names,
            ["layers", "deleted_layers", "total_unzipped_size", "memory_mb", "ephemeral_storage_mb", "timeout_s"]
        );
    }
}
