//! The tags `signer serve` keeps for its resources (Signer's TagResource and
//! ListTagsForResource, Lambda's `Tags` and ListTags): plain records under `tags/` in the
//! store, one per resource, named by the hash of its ARN. Tags decide nothing.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Api, ApiError, App};
use crate::store::keys;

/// The most tags a resource holds, and their sizes (AWS's limits).
const MAX_TAGS: usize = 200;
const MAX_TAG_KEY: usize = 128;
const MAX_TAG_VALUE: usize = 256;

pub(super) fn check_tags(api: Api, tags: &BTreeMap<String, String>) -> Result<(), ApiError> {
    if tags.len() > MAX_TAGS {
        return Err(ApiError::invalid(api, format!("{} tags; a resource holds at most {MAX_TAGS}", tags.len())));
    }
    for (k, v) in tags {
        if k.is_empty() || k.chars().count() > MAX_TAG_KEY || v.chars().count() > MAX_TAG_VALUE {
            return Err(ApiError::invalid(
                api,
                format!("tag {k:?}: keys are 1 to {MAX_TAG_KEY} characters, values at most {MAX_TAG_VALUE}"),
            ));
        }
    }
    Ok(())
}

#[derive(serde::Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TagRecord {
    arn: String,
    tags: BTreeMap<String, String>,
}

pub(super) async fn read_tags(api: Api, app: &App, arn: &str) -> Result<BTreeMap<String, String>, ApiError> {
    let record: Option<TagRecord> = app
        .store
        .get_json(&keys::tags(arn).map_err(|e| ApiError::from_error(api, &e.into()))?)
        .await
        .map_err(|e| ApiError::from_error(api, &e.into()))?;
    Ok(record.filter(|r| r.arn == arn).map(|r| r.tags).unwrap_or_default())
}

pub(super) async fn write_tags(api: Api, app: &App, arn: &str, tags: BTreeMap<String, String>) -> Result<(), ApiError> {
    check_tags(api, &tags)?;
    let key = keys::tags(arn).map_err(|e| ApiError::from_error(api, &e.into()))?;
    app.store
        .put_json(&key, &TagRecord { arn: arn.to_owned(), tags })
        .await
        .map_err(|e| ApiError::from_error(api, &e.into()))
}
