//! AWS Signer's operations (botocore `signer` 2017-08-25): profiles, their permissions,
//! signing jobs, platforms and tags, each translated to the use case the command line
//! runs.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::Uri;
use axum::response::Response;
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde_json::{Value, json};

use super::tags::{check_tags, read_tags, write_tags};
use super::wire::{self, page};
use super::{Api, ApiError, App, Caller, compact, ok, param, parse_body, query};
use crate::clock;
use crate::error::Error;
use crate::jobs::{self, JobStatus, JobSummary, JobView, ListFilter, StartRequest};
use crate::model::{JobId, Platform, ProfileName, ProfileStatus, Timestamp, Validity, VersionRef};
use crate::permissions::{self, Action, Policy, Statement};
use crate::profiles::{self, NewVersion, Profile, ProfileOptions};

const API: Api = Api::Signer;
/// The most items a page holds (the model's `MaxResults`).
const MAX_RESULTS: usize = 25;

type Answer = Result<Response, ApiError>;
type Shared = State<Arc<App>>;

/// The Signer routes.
pub(super) fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/signing-profiles", get(list_profiles))
        .route("/signing-profiles/{name}", put(put_profile).get(get_profile).delete(cancel_profile))
        .route("/signing-profiles/{name}/revoke", put(revoke_profile))
        .route("/signing-profiles/{name}/permissions", post(add_permission).get(list_permissions))
        .route("/signing-profiles/{name}/permissions/{statement}", axum::routing::delete(remove_permission))
        .route("/signing-jobs", post(start_job).get(list_jobs))
        .route("/signing-jobs/{id}", get(describe_job))
        .route("/signing-jobs/{id}/revoke", put(revoke_signature))
        .route("/signing-platforms", get(list_platforms))
        .route("/signing-platforms/{id}", get(get_platform))
        .route("/tags/{arn}", get(list_tags).post(tag_resource).delete(untag_resource))
}

fn fail(e: Error) -> ApiError {
    ApiError::from_error(API, &e)
}

fn profile_name(s: &str) -> Result<ProfileName, ApiError> {
    s.parse().map_err(|e: crate::model::NameError| ApiError::invalid(API, e.to_string()))
}

fn max_results(q: &[(String, String)]) -> Result<usize, ApiError> {
    let Some(v) = param(q, "maxResults") else { return Ok(MAX_RESULTS) };
    v.parse::<usize>()
        .ok()
        .filter(|n| (1..=MAX_RESULTS).contains(n))
        .ok_or_else(|| ApiError::invalid(API, format!("maxResults {v} must be 1 to {MAX_RESULTS}")))
}

fn bool_param(q: &[(String, String)], name: &str) -> Result<Option<bool>, ApiError> {
    param(q, name)
        .map(|v| match v {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(ApiError::invalid(API, format!("{name} {v} must be true or false"))),
        })
        .transpose()
}

/// A time in a query string: ISO 8601 (fractions of a second dropped) or epoch seconds.
fn time_param(q: &[(String, String)], name: &str) -> Result<Option<Timestamp>, ApiError> {
    let Some(v) = param(q, name) else { return Ok(None) };
    let parsed = time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .ok()
        .or_else(|| v.parse::<f64>().ok().filter(|f| f.is_finite()).map(|f| f.floor() as i64));
    parsed
        .map(|s| Some(Timestamp::from_unix(s)))
        .ok_or_else(|| ApiError::invalid(API, format!("{name} {v} is not an ISO 8601 time or epoch seconds")))
}

fn epoch(t: Timestamp) -> Value {
    json!(t.unix())
}

fn epoch_opt(t: Option<Timestamp>) -> Value {
    t.map_or(Value::Null, epoch)
}

fn platform_from_wire(id: &str) -> Result<Platform, ApiError> {
    wire::parse_platform_id(id).ok_or_else(|| {
        ApiError::invalid(API, format!("platformId {id} is not one of this server's (see ListSigningPlatforms)"))
    })
}

// --- profiles ----------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PutProfile {
    platform_id: String,
    signature_validity_period: Option<ValidityPeriod>,
    signing_material: Option<Value>,
    overrides: Option<Value>,
    #[serde(default)]
    signing_parameters: BTreeMap<String, String>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ValidityPeriod {
    value: Option<i64>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

async fn put_profile(
    State(app): Shared,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    body: Bytes,
) -> Answer {
    caller.must_be_admin(API, "create signing profiles")?;
    let name = profile_name(&name)?;
    let req: PutProfile = parse_body(API, &body)?;
    let platform = platform_from_wire(&req.platform_id)?;
    if req.signing_material.is_some() {
        return Err(ApiError::invalid(
            API,
            "signingMaterial is not taken: signer issues each version's certificate from the store's root CA \
             (to bring a chain of your own, use `signer profile create NAME --cert-chain … --key …`)",
        ));
    }
    if req.overrides.as_ref().is_some_and(|o| o.as_object().is_none_or(|m| !m.is_empty()))
        || !req.signing_parameters.is_empty()
    {
        return Err(ApiError::invalid(API, "overrides and signingParameters are not taken: a platform signs one way"));
    }
    let validity = match req.signature_validity_period {
        None => Validity::MAX,
        Some(ValidityPeriod { value: Some(v), kind: Some(k) }) => wire::validity_from_wire(v, &k)
            .map_err(|why| ApiError::invalid(API, format!("signatureValidityPeriod: {why}")))?,
        Some(_) => return Err(ApiError::invalid(API, "signatureValidityPeriod needs both value and type")),
    };
    check_tags(API, &req.tags)?;
    let options = ProfileOptions {
        platform,
        validity,
        sign_without_tsa: false,
        key_store: app.key_store.clone(),
        description: String::new(),
    };
    let p = profiles::create_profile(&app.store, &app.home, &name, options, NewVersion::Issued, clock::now())
        .await
        .map_err(fail)?;
    if !req.tags.is_empty() {
        write_tags(API, &app, &app.arns.profile(&name), req.tags).await?;
    }
    let version = p.current_version.ok_or_else(|| fail(Error::Internal("a new profile has no version".into())))?;
    Ok(ok(&json!({
        "arn": app.arns.profile(&name),
        "profileVersion": version,
        "profileVersionArn": app.arns.profile_version(&name, &version),
    })))
}

fn status_name(s: ProfileStatus) -> &'static str {
    match s {
        ProfileStatus::Active => "Active",
        ProfileStatus::Canceled => "Canceled",
        ProfileStatus::Revoked => "Revoked",
    }
}

/// A profile as GetSigningProfile and ListSigningProfiles show it.
fn profile_json(app: &App, p: &Profile, tags: Option<BTreeMap<String, String>>) -> Value {
    let (value, kind) = wire::validity_to_wire(p.signature_validity);
    let current = p.versions.last();
    let revocation =
        current.and_then(|v| v.revoked_effective_at).map(|t| json!({ "revocationEffectiveFrom": t.unix() }));
    compact(json!({
        "profileName": p.name,
        "profileVersion": p.current_version,
        "profileVersionArn": p.current_version.as_ref().map(|v| app.arns.profile_version(&p.name, v)),
        "platformId": wire::platform_id(p.platform),
        "platformDisplayName": wire::display_name(p.platform),
        "signatureValidityPeriod": { "value": value, "type": kind },
        "status": status_name(p.status),
        "statusReason": match p.status {
            ProfileStatus::Active => Value::Null,
            ProfileStatus::Canceled => json!("canceled"),
            ProfileStatus::Revoked => json!("the current version is revoked"),
        },
        "revocationRecord": revocation,
        "arn": app.arns.profile(&p.name),
        "tags": tags,
    }))
}

async fn get_profile(State(app): Shared, Path(name): Path<String>, uri: Uri) -> Answer {
    let name = profile_name(&name)?;
    owner_is_us(&app, param(&query(&uri), "profileOwner"))?;
    let p = profiles::show_profile(&app.store, &name).await.map_err(fail)?;
    let tags = read_tags(API, &app, &app.arns.profile(&name)).await?;
    Ok(ok(&profile_json(&app, &p, Some(tags))))
}

async fn list_profiles(State(app): Shared, uri: Uri) -> Answer {
    let q = query(&uri);
    let include_canceled = bool_param(&q, "includeCanceled")?.unwrap_or(false);
    let platform = param(&q, "platformId").map(platform_from_wire).transpose()?;
    let statuses: Vec<&str> = q.iter().filter(|(k, _)| k == "statuses").map(|(_, v)| v.as_str()).collect();
    let all = profiles::list_profiles(&app.store, include_canceled).await.map_err(fail)?;
    let kept: Vec<Profile> = all
        .into_iter()
        .filter(|p| platform.is_none_or(|want| p.platform == want))
        .filter(|p| statuses.is_empty() || statuses.contains(&status_name(p.status)))
        .collect();
    let (shown, next) = page(kept, |p| p.name.to_string(), param(&q, "nextToken"), max_results(&q)?)
        .map_err(|why| ApiError::invalid(API, why))?;
    let profiles: Vec<Value> = shown.iter().map(|p| profile_json(&app, p, None)).collect();
    Ok(ok(&compact(json!({ "profiles": profiles, "nextToken": next }))))
}

async fn cancel_profile(State(app): Shared, Extension(caller): Extension<Caller>, Path(name): Path<String>) -> Answer {
    caller.must_be_admin(API, "cancel signing profiles")?;
    let name = profile_name(&name)?;
    profiles::cancel(&app.store, &name, clock::now()).await.map_err(fail)?;
    Ok(ok(&json!({})))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RevokeProfile {
    profile_version: String,
    reason: String,
    effective_time: f64,
}

async fn revoke_profile(
    State(app): Shared,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    body: Bytes,
) -> Answer {
    caller.must_be_admin(API, "revoke signing profiles")?;
    let name = profile_name(&name)?;
    let req: RevokeProfile = parse_body(API, &body)?;
    let version =
        req.profile_version.parse().map_err(|e: crate::model::NameError| ApiError::invalid(API, e.to_string()))?;
    if !req.effective_time.is_finite() {
        return Err(ApiError::invalid(API, "effectiveTime must be epoch seconds"));
    }
    let effective = Timestamp::from_unix(req.effective_time.floor() as i64);
    let version = VersionRef { profile: name, version };
    profiles::revoke_version(&app.store, &version, Some(effective), &req.reason, clock::now()).await.map_err(fail)?;
    Ok(ok(&json!({})))
}

fn owner_is_us(app: &App, owner: Option<&str>) -> Result<(), ApiError> {
    match owner {
        Some(o) if o != app.arns.account_id => Err(ApiError::not_found(
            API,
            format!("this server's account is {}; it has no resources of account {o}", app.arns.account_id),
        )),
        _ => Ok(()),
    }
}

// --- permissions -------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AddPermission {
    profile_version: Option<String>,
    action: String,
    principal: String,
    revision_id: Option<String>,
    statement_id: String,
}

fn revision(s: &str) -> Result<u64, ApiError> {
    s.parse().map_err(|_| ApiError::invalid(API, format!("revisionId {s} is not one this server gave")))
}

async fn add_permission(
    State(app): Shared,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    body: Bytes,
) -> Answer {
    caller.must_be_admin(API, "grant profile permissions")?;
    let name = profile_name(&name)?;
    let req: AddPermission = parse_body(API, &body)?;
    let statement = Statement {
        statement_id: req.statement_id,
        action: req.action.parse().map_err(|e: permissions::PermissionError| ApiError::invalid(API, e.to_string()))?,
        principal: req
            .principal
            .parse()
            .map_err(|e: permissions::PermissionError| ApiError::invalid(API, e.to_string()))?,
        profile_version: req
            .profile_version
            .map(|v| v.parse())
            .transpose()
            .map_err(|e: crate::model::NameError| ApiError::invalid(API, e.to_string()))?,
    };
    let from = req.revision_id.as_deref().map(revision).transpose()?;
    let policy = permissions::add(&app.store, &name, statement, from, clock::now()).await.map_err(fail)?;
    Ok(ok(&json!({ "revisionId": policy.revision.to_string() })))
}

async fn list_permissions(State(app): Shared, Path(name): Path<String>) -> Answer {
    let name = profile_name(&name)?;
    let policy = permissions::policy(&app.store, &name).await.map_err(fail)?;
    let statements: Vec<Value> = policy
        .statements
        .iter()
        .map(|s| {
            compact(json!({
                "action": s.action.as_str(),
                "principal": s.principal.to_string(),
                "statementId": s.statement_id,
                "profileVersion": s.profile_version,
            }))
        })
        .collect();
    let size = serde_json::to_vec(&policy.statements).map_or(0, |b| b.len());
    Ok(ok(&json!({ "revisionId": policy.revision.to_string(), "policySizeBytes": size, "permissions": statements })))
}

async fn remove_permission(
    State(app): Shared,
    Extension(caller): Extension<Caller>,
    Path((name, statement)): Path<(String, String)>,
    uri: Uri,
) -> Answer {
    caller.must_be_admin(API, "remove profile permissions")?;
    let name = profile_name(&name)?;
    let q = query(&uri);
    let from = param(&q, "revisionId").ok_or_else(|| ApiError::invalid(API, "revisionId is required"))?;
    let policy =
        permissions::remove(&app.store, &name, &statement, revision(from)?, clock::now()).await.map_err(fail)?;
    Ok(ok(&json!({ "revisionId": policy.revision.to_string() })))
}

/// Refuses `caller` unless it may do `action` with the profile's version `version`: admin
/// keys may do everything, sign keys what a statement grants them, read-only keys nothing.
async fn authorise(app: &App, caller: &Caller, version: &VersionRef, action: Action) -> Result<(), ApiError> {
    caller.may_write(API, "change anything")?;
    if caller.is_admin() {
        return Ok(());
    }
    let policy: Policy = permissions::policy(&app.store, &version.profile).await.map_err(fail)?;
    if policy.allows(&caller.0.name, action, &version.version) {
        return Ok(());
    }
    Err(ApiError::denied(
        API,
        format!(
            "access key {key} may not {action} with profile {profile}: no permission statement grants it \
             (signer profile permission add {profile} --action {action} --principal {key})",
            key = caller.0.name,
            action = action.as_str(),
            profile = version.profile,
        ),
    ))
}

// --- jobs --------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StartJob {
    source: SourceIn,
    destination: DestinationIn,
    profile_name: String,
    client_request_token: Option<String>,
    profile_owner: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceIn {
    s3: Option<S3SourceIn>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct S3SourceIn {
    bucket_name: String,
    key: String,
    /// Required by the model; `null` (or the string `null`, S3's version of an object in
    /// an unversioned bucket) when the bucket is not versioned.
    version: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DestinationIn {
    s3: Option<S3DestinationIn>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct S3DestinationIn {
    bucket_name: Option<String>,
    prefix: Option<String>,
}

async fn start_job(State(app): Shared, Extension(caller): Extension<Caller>, body: Bytes) -> Answer {
    let req: StartJob = parse_body(API, &body)?;
    owner_is_us(&app, req.profile_owner.as_deref())?;
    let profile = profile_name(&req.profile_name)?;
    let source = req.source.s3.ok_or_else(|| ApiError::invalid(API, "source.s3 is required"))?;
    let destination = req.destination.s3.ok_or_else(|| ApiError::invalid(API, "destination.s3 is required"))?;
    let bucket =
        destination.bucket_name.ok_or_else(|| ApiError::invalid(API, "destination.s3.bucketName is required"))?;
    let standing = profiles::standing(&app.store, &profile).await.map_err(fail)?;
    let version = standing
        .current_version
        .ok_or_else(|| fail(profiles::ProfileError::NoVersion { name: profile.clone() }.into()))?;
    authorise(&app, &caller, &VersionRef { profile: profile.clone(), version }, Action::StartSigningJob).await?;
    let start = StartRequest {
        profile,
        source: format!("s3://{}/{}", source.bucket_name, source.key),
        destination: format!("s3://{bucket}/{}", destination.prefix.unwrap_or_default()),
        client_token: req.client_request_token,
        requested_by: Some(caller.0.name.to_string()),
        source_version: source.version.filter(|v| v != "null"),
    };
    let started = jobs::start(&app.store, &start, clock::now()).await.map_err(fail)?;
    Ok(ok(&json!({ "jobId": started.job.job_id, "jobOwner": app.arns.account_id })))
}

fn s3_source(url: &str, version: Option<&str>) -> Value {
    wire::split_s3(url).map_or(
        Value::Null,
        |(bucket, key)| json!({ "s3": { "bucketName": bucket, "key": key, "version": version.unwrap_or("null") } }),
    )
}

fn s3_object(url: Option<&str>) -> Value {
    url.and_then(wire::split_s3)
        .map_or(Value::Null, |(bucket, key)| json!({ "s3": { "bucketName": bucket, "key": key } }))
}

fn job_json(app: &App, v: &JobView) -> Value {
    compact(json!({
        "jobId": v.job_id,
        "source": s3_source(&v.source, v.source_pin.version.as_deref()),
        "platformId": wire::platform_id(v.platform),
        "platformDisplayName": wire::display_name(v.platform),
        "profileName": v.profile,
        "profileVersion": v.profile_version,
        "createdAt": epoch(v.submitted_at),
        "completedAt": epoch_opt(v.ended_at),
        "signatureExpiresAt": epoch_opt(v.signature_expires_at),
        "requestedBy": v.requested_by,
        "status": wire::job_status(v.status),
        "statusReason": v.status_reason,
        "revocationRecord": v.revocation.as_ref().map(|r| json!({ "reason": r.reason, "revokedAt": r.revoked_at.unix() })),
        "signedObject": s3_object(v.signed_object.as_deref()),
        "jobOwner": app.arns.account_id,
        "jobInvoker": app.arns.account_id,
    }))
}

fn job_id(s: &str) -> Result<JobId, ApiError> {
    s.parse().map_err(|_| ApiError::not_found(API, format!("no signing job {s}: job ids are UUIDs (ListSigningJobs)")))
}

async fn describe_job(State(app): Shared, Path(id): Path<String>) -> Answer {
    let v = jobs::describe(&app.store, &job_id(&id)?, clock::now()).await.map_err(fail)?;
    Ok(ok(&job_json(&app, &v)))
}

fn summary_json(app: &App, s: &JobSummary) -> Value {
    compact(json!({
        "jobId": s.job_id,
        "source": s3_source(&s.source, None),
        "signedObject": s3_object(s.signed_object.as_deref()),
        "createdAt": epoch(s.submitted_at),
        "status": wire::job_status(s.status),
        "isRevoked": s.revoked,
        "profileName": s.profile,
        "profileVersion": s.profile_version,
        "platformId": wire::platform_id(s.platform),
        "platformDisplayName": wire::display_name(s.platform),
        "signatureExpiresAt": epoch_opt(s.signature_expires_at),
        "jobOwner": app.arns.account_id,
        "jobInvoker": app.arns.account_id,
    }))
}

async fn list_jobs(State(app): Shared, uri: Uri) -> Answer {
    let q = query(&uri);
    let status = match param(&q, "status") {
        None => None,
        Some("InProgress") => Some(JobStatus::InProgress),
        Some("Succeeded") => Some(JobStatus::Succeeded),
        Some("Failed") => Some(JobStatus::Failed),
        Some(other) => {
            return Err(ApiError::invalid(API, format!("status {other} is not InProgress, Failed or Succeeded")));
        }
    };
    let platform = param(&q, "platformId").map(platform_from_wire).transpose()?;
    owner_is_us(&app, param(&q, "jobInvoker"))?;
    let requested_by = param(&q, "requestedBy");
    let filter = ListFilter {
        // InProgress on the wire is signer's Submitted and InProgress: filtered below.
        status: status.filter(|s| s.is_final()),
        profile: None,
        revoked: bool_param(&q, "isRevoked")?.unwrap_or(false),
        expires_before: time_param(&q, "signatureExpiresBefore")?,
        expires_after: time_param(&q, "signatureExpiresAfter")?,
    };
    let all = jobs::list(&app.store, &filter).await.map_err(fail)?;
    let kept: Vec<JobSummary> = all
        .into_iter()
        .filter(|s| status != Some(JobStatus::InProgress) || !s.status.is_final())
        .filter(|s| platform.is_none_or(|p| s.platform == p))
        .filter(|s| requested_by.is_none_or(|r| s.requested_by.as_deref() == Some(r)))
        .collect();
    let (shown, next) = page(
        kept,
        |s| wire::newest_first(s.submitted_at, &s.job_id.to_string()),
        param(&q, "nextToken"),
        max_results(&q)?,
    )
    .map_err(|why| ApiError::invalid(API, why))?;
    let jobs: Vec<Value> = shown.iter().map(|s| summary_json(&app, s)).collect();
    Ok(ok(&compact(json!({ "jobs": jobs, "nextToken": next }))))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RevokeSignature {
    job_owner: Option<String>,
    reason: String,
}

async fn revoke_signature(
    State(app): Shared,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Answer {
    let req: RevokeSignature = parse_body(API, &body)?;
    owner_is_us(&app, req.job_owner.as_deref())?;
    let id = job_id(&id)?;
    let v = jobs::describe(&app.store, &id, clock::now()).await.map_err(fail)?;
    let version = VersionRef { profile: v.profile.clone(), version: v.profile_version.clone() };
    authorise(&app, &caller, &version, Action::RevokeSignature).await?;
    jobs::revoke(&app.store, &id, &req.reason, clock::now()).await.map_err(fail)?;
    Ok(ok(&json!({})))
}

// --- platforms ---------------------------------------------------------------------------

fn platform_json(p: Platform) -> Value {
    let (encryption, hash) = wire::algorithms(p);
    json!({
        "platformId": wire::platform_id(p),
        "displayName": wire::display_name(p),
        "partner": "signer",
        "target": "zip",
        "category": "AWSIoT",
        "signingConfiguration": {
            "encryptionAlgorithmOptions": { "allowedValues": [encryption], "defaultValue": encryption },
            "hashAlgorithmOptions": { "allowedValues": [hash], "defaultValue": hash },
        },
        "signingImageFormat": { "supportedFormats": ["JSONEmbedded"], "defaultFormat": "JSONEmbedded" },
        "maxSizeInMB": 250,
        "revocationSupported": true,
    })
}

async fn list_platforms(uri: Uri) -> Answer {
    let q = query(&uri);
    let (shown, next) =
        page(Platform::ALL.to_vec(), |p| p.as_str().to_owned(), param(&q, "nextToken"), max_results(&q)?)
            .map_err(|why| ApiError::invalid(API, why))?;
    let platforms: Vec<Value> = shown.into_iter().map(platform_json).collect();
    Ok(ok(&compact(json!({ "platforms": platforms, "nextToken": next }))))
}

async fn get_platform(Path(id): Path<String>) -> Answer {
    let p = wire::parse_platform_id(&id)
        .ok_or_else(|| ApiError::not_found(API, format!("no signing platform {id} (see ListSigningPlatforms)")))?;
    Ok(ok(&platform_json(p)))
}

// --- tags --------------------------------------------------------------------------------

/// The profile an ARN in a tag request names, which must exist.
async fn tagged_profile(app: &App, arn: &str) -> Result<(), ApiError> {
    let (name, _) = app.arns.parse_profile(arn).ok_or_else(|| {
        ApiError::new(
            API,
            axum::http::StatusCode::NOT_FOUND,
            "NotFoundException",
            format!("{arn} is not a signing profile of this server"),
        )
    })?;
    profiles::show_profile(&app.store, &name)
        .await
        .map_err(|e| ApiError::new(API, axum::http::StatusCode::NOT_FOUND, "NotFoundException", e.to_string()))?;
    Ok(())
}

async fn list_tags(State(app): Shared, Path(arn): Path<String>) -> Answer {
    tagged_profile(&app, &arn).await?;
    Ok(ok(&json!({ "tags": read_tags(API, &app, &arn).await? })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TagResource {
    tags: BTreeMap<String, String>,
}

async fn tag_resource(
    State(app): Shared,
    Extension(caller): Extension<Caller>,
    Path(arn): Path<String>,
    body: Bytes,
) -> Answer {
    caller.must_be_admin(API, "tag resources")?;
    tagged_profile(&app, &arn).await?;
    let req: TagResource = parse_body(API, &body)?;
    let mut tags = read_tags(API, &app, &arn).await?;
    tags.extend(req.tags);
    write_tags(API, &app, &arn, tags).await?;
    Ok(ok(&json!({})))
}

async fn untag_resource(
    State(app): Shared,
    Extension(caller): Extension<Caller>,
    Path(arn): Path<String>,
    uri: Uri,
) -> Answer {
    caller.must_be_admin(API, "untag resources")?;
    tagged_profile(&app, &arn).await?;
    let q = query(&uri);
    let mut tags = read_tags(API, &app, &arn).await?;
    for (_, k) in q.iter().filter(|(k, _)| k == "tagKeys") {
        tags.remove(k);
    }
    write_tags(API, &app, &arn, tags).await?;
    Ok(ok(&json!({})))
}
