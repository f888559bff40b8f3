//! AWS Lambda's layer and code-signing-config operations (botocore `lambda` 2015-03-31),
//! translated to `signer layer …` and `signer csc …`. A layer's `Content.Location` is a
//! URL this server answers for ten minutes, signed with a key it draws at start.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Value, json};

use super::tags::{check_tags, read_tags, write_tags};
use super::wire::{self, page};
use super::{Api, ApiError, App, Caller, compact, json_body, param, parse_body, query};
use crate::clock;
use crate::csc::{self, Csc, Update};
use crate::error::Error;
use crate::layers::{self, LayerVersion, PublishParams};
use crate::location::Location;
use crate::model::{CscId, LayerName, LayerVersionRef, Policy, VersionRef};

const API: Api = Api::Lambda;
/// The most items a page holds (Lambda's `MaxItems`).
const MAX_ITEMS: usize = 50;
/// How long a layer's download URL works.
const LOCATION_SECS: i64 = 600;

type Answer = Result<Response, ApiError>;
type Shared = State<Arc<App>>;

/// The Lambda routes.
pub(super) fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/2018-10-31/layers", get(list_layers_or_find))
        .route("/2018-10-31/layers/{name}/versions", get(list_layer_versions).post(publish_layer_version))
        .route("/2018-10-31/layers/{name}/versions/{n}", get(get_layer_version).delete(delete_layer_version))
        .route("/2020-04-22/code-signing-configs", get(list_cscs).post(create_csc))
        .route("/2020-04-22/code-signing-configs/{arn}", get(get_csc).put(update_csc).delete(delete_csc))
        .route("/2017-03-31/tags/{arn}", get(list_tags))
}

/// The route of layer downloads, outside authentication: the URL's own signature is the
/// check.
pub(super) fn download_routes() -> Router<Arc<App>> {
    Router::new().route("/layer-content/{name}/{n}", get(download))
}

fn fail(e: Error) -> ApiError {
    ApiError::from_error(API, &e)
}

fn invalid(e: impl std::fmt::Display) -> ApiError {
    ApiError::invalid(API, e.to_string())
}

fn created(value: &Value) -> Response {
    (StatusCode::CREATED, json_body(value)).into_response()
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

fn max_items(q: &[(String, String)]) -> Result<usize, ApiError> {
    let Some(v) = param(q, "MaxItems") else { return Ok(MAX_ITEMS) };
    v.parse::<usize>()
        .ok()
        .filter(|n| (1..=MAX_ITEMS).contains(n))
        .ok_or_else(|| invalid(format!("MaxItems {v} must be 1 to {MAX_ITEMS}")))
}

fn layer_ref(name: &str, n: &str) -> Result<LayerVersionRef, ApiError> {
    let name: LayerName = name.parse().map_err(invalid)?;
    let version = n.parse().map_err(|_| invalid(format!("VersionNumber {n} is not a number")))?;
    Ok(LayerVersionRef { name, version })
}

// --- layers ------------------------------------------------------------------------------

/// The signature of a download URL: HMAC-SHA256 under the server's key over the layer
/// version and the expiry.
fn location_signature(app: &App, layer: &LayerVersionRef, expires: i64) -> String {
    let message = format!("{}:{}:{expires}", layer.name, layer.version);
    hex::encode(ring::hmac::sign(&app.content_key, message.as_bytes()))
}

fn location(app: &App, headers: &HeaderMap, layer: &LayerVersionRef) -> String {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    let scheme = if app.https { "https" } else { "http" };
    let expires = clock::now().unix() + LOCATION_SECS;
    let signature = location_signature(app, layer, expires);
    format!("{scheme}://{host}/layer-content/{}/{}?expires={expires}&signature={signature}", layer.name, layer.version)
}

fn list_item(app: &App, v: &LayerVersion) -> Value {
    compact(json!({
        "LayerVersionArn": app.arns.layer_version(v.layer.name.as_str(), v.layer.version),
        "Version": v.layer.version,
        "Description": v.description,
        "CreatedDate": wire::lambda_time(v.created_at),
        "CompatibleRuntimes": v.compatible_runtimes,
        "CompatibleArchitectures": v.compatible_architectures,
        "LicenseInfo": v.license_info,
    }))
}

fn version_json(app: &App, headers: &HeaderMap, v: &LayerVersion) -> Value {
    let mut item = list_item(app, v);
    if let Some(fields) = item.as_object_mut() {
        fields.insert("LayerArn".into(), json!(app.arns.layer(v.layer.name.as_str())));
        fields.insert(
            "Content".into(),
            compact(json!({
                "Location": location(app, headers, &v.layer),
                "CodeSha256": wire::code_sha256(&v.sha256),
                "CodeSize": v.zipped_size,
                "SigningProfileVersionArn": v.signed_by.as_ref().map(|s| app.arns.profile_version(&s.profile, &s.version)),
                "SigningJobArn": v.signing_job.as_ref().map(|j| app.arns.job(&j.to_string())),
            })),
        );
    }
    item
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Publish {
    description: Option<String>,
    content: ContentIn,
    #[serde(default)]
    compatible_architectures: Vec<String>,
    #[serde(default)]
    compatible_runtimes: Vec<String>,
    license_info: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct ContentIn {
    #[serde(rename = "S3Bucket")]
    s3_bucket: Option<String>,
    #[serde(rename = "S3Key")]
    s3_key: Option<String>,
    #[serde(rename = "S3ObjectVersion")]
    s3_object_version: Option<String>,
    #[serde(rename = "S3ObjectStorageMode")]
    _s3_object_storage_mode: Option<String>,
    zip_file: Option<String>,
}

/// A ZipFile's base64, decoded into a private temporary file in pieces (never a second
/// whole copy in memory).
fn spool_zip(base64_text: &str) -> Result<tempfile::NamedTempFile, ApiError> {
    let mut file = tempfile::NamedTempFile::new().map_err(|e| fail(Error::io("creating a temporary file", e)))?;
    let text = base64_text.as_bytes();
    // 4 base64 characters make 3 bytes: decode 64 KiB of text at a time.
    for piece in text.chunks(64 << 10) {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(piece)
            .map_err(|e| invalid(format!("Content.ZipFile is not base64: {e}")))?;
        file.write_all(&bytes).map_err(|e| fail(Error::io("writing a temporary file", e)))?;
    }
    Ok(file)
}

async fn publish_layer_version(
    State(app): Shared,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Bytes,
) -> Answer {
    caller.must_be_admin(API, "publish layers")?;
    let name: LayerName = name.parse().map_err(invalid)?;
    let req: Publish = parse_body(API, &body)?;
    let params = PublishParams {
        name,
        description: req.description,
        compatible_runtimes: req
            .compatible_runtimes
            .iter()
            .map(|r| r.parse())
            .collect::<Result<_, _>>()
            .map_err(invalid)?,
        compatible_architectures: req
            .compatible_architectures
            .iter()
            .map(|a| a.parse())
            .collect::<Result<_, String>>()
            .map_err(invalid)?,
        license_info: req.license_info,
    };
    let c = req.content;
    let (source, _spooled) = match (c.zip_file, c.s3_bucket, c.s3_key) {
        (Some(zip), None, None) => {
            let file = spool_zip(&zip)?;
            (Location::Path(file.path().to_owned()), Some(file))
        }
        (None, Some(bucket), Some(key)) => {
            if c.s3_object_version.is_some() {
                return Err(invalid("Content.S3ObjectVersion is not taken: signer reads the object's current version"));
            }
            (Location::parse(&format!("s3://{bucket}/{key}")).map_err(fail)?, None)
        }
        _ => return Err(invalid("give Content.ZipFile, or Content.S3Bucket and Content.S3Key")),
    };
    let published = layers::publish(&app.store, &source, params, None, clock::now(), |_| {}).await.map_err(fail)?;
    Ok(created(&version_json(&app, &headers, &published.version)))
}

async fn get_layer_version(State(app): Shared, headers: HeaderMap, Path((name, n)): Path<(String, String)>) -> Answer {
    let v = layers::show(&app.store, &layer_ref(&name, &n)?).await.map_err(fail)?;
    Ok(super::ok(&version_json(&app, &headers, &v)))
}

async fn list_layers_or_find(State(app): Shared, headers: HeaderMap, uri: Uri) -> Answer {
    let q = query(&uri);
    if param(&q, "find") == Some("LayerVersion") {
        let arn = param(&q, "Arn").ok_or_else(|| invalid("Arn is required"))?;
        let (name, n) = app
            .arns
            .parse_layer_version(arn)
            .ok_or_else(|| ApiError::not_found(API, format!("{arn} is not a layer version ARN of this server")))?;
        let v = layers::show(&app.store, &layer_ref(&name, &n.to_string())?).await.map_err(fail)?;
        return Ok(super::ok(&version_json(&app, &headers, &v)));
    }
    let runtime = param(&q, "CompatibleRuntime").map(str::parse).transpose().map_err(invalid)?;
    let arch = param(&q, "CompatibleArchitecture");
    let latest = layers::list(&app.store, runtime.as_ref()).await.map_err(fail)?;
    let kept: Vec<LayerVersion> =
        latest.into_iter().filter(|v| arch.is_none_or(|a| v.compatible_architectures.iter().any(|x| x == a))).collect();
    let (shown, next) =
        page(kept, |v| v.layer.name.to_string(), param(&q, "Marker"), max_items(&q)?).map_err(invalid)?;
    let layers: Vec<Value> = shown
        .iter()
        .map(|v| {
            json!({
                "LayerName": v.layer.name,
                "LayerArn": app.arns.layer(v.layer.name.as_str()),
                "LatestMatchingVersion": list_item(&app, v),
            })
        })
        .collect();
    Ok(super::ok(&compact(json!({ "Layers": layers, "NextMarker": next }))))
}

async fn list_layer_versions(State(app): Shared, Path(name): Path<String>, uri: Uri) -> Answer {
    let q = query(&uri);
    let name: LayerName = name.parse().map_err(invalid)?;
    // Lambda answers an empty list for a layer it never had; signer's CLI says "not found".
    // Newest first, as Lambda lists them (the page's order).
    let all = match layers::versions(&app.store, &name).await {
        Ok(v) => v,
        Err(e) if e.exit_code() == crate::error::exit::NOT_FOUND => Vec::new(),
        Err(e) => return Err(fail(e)),
    };
    let runtime = param(&q, "CompatibleRuntime");
    let arch = param(&q, "CompatibleArchitecture");
    let kept: Vec<LayerVersion> = all
        .into_iter()
        .filter(|v| runtime.is_none_or(|r| v.compatible_runtimes.iter().any(|x| x == r)))
        .filter(|v| arch.is_none_or(|a| v.compatible_architectures.iter().any(|x| x == a)))
        .collect();
    let (shown, next) =
        page(kept, |v| wire::largest_first(v.layer.version), param(&q, "Marker"), max_items(&q)?).map_err(invalid)?;
    let versions: Vec<Value> = shown.iter().map(|v| list_item(&app, v)).collect();
    Ok(super::ok(&compact(json!({ "LayerVersions": versions, "NextMarker": next }))))
}

async fn delete_layer_version(
    State(app): Shared,
    Extension(caller): Extension<Caller>,
    Path((name, n)): Path<(String, String)>,
) -> Answer {
    caller.must_be_admin(API, "delete layer versions")?;
    match layers::delete(&app.store, &layer_ref(&name, &n)?, clock::now()).await {
        Ok(_) => Ok(no_content()),
        // Lambda deletes what does not exist without complaint.
        Err(e) if e.exit_code() == crate::error::exit::NOT_FOUND => Ok(no_content()),
        Err(e) => Err(fail(e)),
    }
}

/// A layer version's zip, for a URL [`location`] made: checked, then streamed from the
/// store.
async fn download(State(app): Shared, Path((name, n)): Path<(String, String)>, uri: Uri) -> Answer {
    let q = query(&uri);
    let layer = layer_ref(&name, &n)?;
    let expires: i64 = param(&q, "expires").and_then(|e| e.parse().ok()).unwrap_or(0);
    let given = param(&q, "signature").and_then(|s| hex::decode(s).ok()).unwrap_or_default();
    let message = format!("{}:{}:{expires}", layer.name, layer.version);
    let denied =
        |why: &str| ApiError::denied(API, format!("this download URL {why}; get a new one with GetLayerVersion"));
    ring::hmac::verify(&app.content_key, message.as_bytes(), &given)
        .map_err(|_| denied("is not one this server made"))?;
    if clock::now().unix() > expires {
        return Err(denied("has expired"));
    }
    let v = layers::show(&app.store, &layer).await.map_err(fail)?;
    let mut reader = app.store.reader(&v.blob_key().map_err(|e| fail(e.into()))?).await.map_err(|e| fail(e.into()))?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::task::spawn_blocking(move || {
        let mut buf = vec![0u8; 1 << 20];
        loop {
            match std::io::Read::read(&mut reader, &mut buf) {
                Ok(0) => break,
                Ok(k) => {
                    let chunk = Bytes::copy_from_slice(buf.get(..k).unwrap_or_default());
                    if tx.blocking_send(Ok(chunk)).is_err() {
                        break;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    break;
                }
            }
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/zip"));
    headers.insert(header::CONTENT_LENGTH, header::HeaderValue::from(v.zipped_size));
    Ok(response)
}

// --- code-signing configs ----------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct AllowedPublishersIn {
    signing_profile_version_arns: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct PoliciesIn {
    untrusted_artifact_on_deployment: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct CreateCsc {
    description: Option<String>,
    allowed_publishers: AllowedPublishersIn,
    code_signing_policies: Option<PoliciesIn>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct UpdateCsc {
    description: Option<String>,
    allowed_publishers: Option<AllowedPublishersIn>,
    code_signing_policies: Option<PoliciesIn>,
}

fn publishers(app: &App, arns: &AllowedPublishersIn) -> Result<Vec<VersionRef>, ApiError> {
    arns.signing_profile_version_arns
        .iter()
        .map(|arn| match app.arns.parse_profile(arn) {
            Some((profile, Some(version))) => Ok(VersionRef { profile, version }),
            _ => Err(invalid(format!("{arn} is not a signing profile version ARN of this server"))),
        })
        .collect()
}

fn policy(p: Option<&PoliciesIn>) -> Result<Option<Policy>, ApiError> {
    match p.and_then(|p| p.untrusted_artifact_on_deployment.as_deref()) {
        None => Ok(None),
        Some("Warn") => Ok(Some(Policy::Warn)),
        Some("Enforce") => Ok(Some(Policy::Enforce)),
        Some(other) => Err(invalid(format!("UntrustedArtifactOnDeployment {other} is not Warn or Enforce"))),
    }
}

fn csc_json(app: &App, c: &Csc) -> Value {
    let arns: Vec<String> =
        c.allowed_publishers.as_slice().iter().map(|v| app.arns.profile_version(&v.profile, &v.version)).collect();
    json!({
            "CodeSigningConfigId": c.id,
            "CodeSigningConfigArn": app.arns.csc(c.id.as_str()),
            "Description": c.description,
            "AllowedPublishers": { "SigningProfileVersionArns": arns },
            "CodeSigningPolicies": {
                "UntrustedArtifactOnDeployment": match c.policy { Policy::Warn => "Warn", Policy::Enforce => "Enforce" },
            },
            "LastModified": wire::lambda_time(c.updated_at),
    })
}

/// `{"CodeSigningConfig": …}`, as Create, Get and Update answer.
fn one_csc(app: &App, c: &Csc) -> Value {
    json!({ "CodeSigningConfig": csc_json(app, c) })
}

fn csc_id(app: &App, arn: &str) -> Result<CscId, ApiError> {
    app.arns
        .parse_csc(arn)
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| ApiError::not_found(API, format!("{arn} is not a code-signing config of this server")))
}

async fn create_csc(State(app): Shared, Extension(caller): Extension<Caller>, body: Bytes) -> Answer {
    caller.must_be_admin(API, "create code-signing configs")?;
    let req: CreateCsc = parse_body(API, &body)?;
    check_tags(API, &req.tags)?;
    let allowed = publishers(&app, &req.allowed_publishers)?;
    let policy = policy(req.code_signing_policies.as_ref())?.unwrap_or(Policy::Warn);
    let c = csc::create(&app.store, allowed, policy, req.description.unwrap_or_default(), false, clock::now())
        .await
        .map_err(fail)?;
    if !req.tags.is_empty() {
        write_tags(API, &app, &app.arns.csc(c.id.as_str()), req.tags).await?;
    }
    Ok(created(&one_csc(&app, &c)))
}

async fn get_csc(State(app): Shared, Path(arn): Path<String>) -> Answer {
    let c = csc::show(&app.store, &csc_id(&app, &arn)?).await.map_err(fail)?;
    Ok(super::ok(&one_csc(&app, &c)))
}

async fn update_csc(
    State(app): Shared,
    Extension(caller): Extension<Caller>,
    Path(arn): Path<String>,
    body: Bytes,
) -> Answer {
    caller.must_be_admin(API, "update code-signing configs")?;
    let id = csc_id(&app, &arn)?;
    let req: UpdateCsc = parse_body(API, &body)?;
    let current = csc::show(&app.store, &id).await.map_err(fail)?;
    // Lambda's update replaces the list; signer's adds and removes.
    let (add, remove) = match &req.allowed_publishers {
        None => (Vec::new(), Vec::new()),
        Some(p) => {
            let wanted = publishers(&app, p)?;
            let now = current.allowed_publishers.as_slice();
            let add = wanted.iter().filter(|v| !now.contains(v)).cloned().collect();
            let remove = now.iter().filter(|v| !wanted.contains(v)).cloned().collect();
            (add, remove)
        }
    };
    let update = Update {
        add,
        remove,
        policy: policy(req.code_signing_policies.as_ref())?,
        description: req.description,
        require_timestamp: None,
    };
    let c = csc::update(&app.store, &id, &update, clock::now()).await.map_err(fail)?;
    Ok(super::ok(&one_csc(&app, &c)))
}

async fn delete_csc(State(app): Shared, Extension(caller): Extension<Caller>, Path(arn): Path<String>) -> Answer {
    caller.must_be_admin(API, "delete code-signing configs")?;
    csc::delete(&app.store, &csc_id(&app, &arn)?, clock::now()).await.map_err(fail)?;
    Ok(no_content())
}

async fn list_cscs(State(app): Shared, uri: Uri) -> Answer {
    let q = query(&uri);
    let all = csc::list(&app.store).await.map_err(fail)?;
    let (shown, next) = page(all, |c| c.id.to_string(), param(&q, "Marker"), max_items(&q)?).map_err(invalid)?;
    let configs: Vec<Value> = shown.iter().map(|c| csc_json(&app, c)).collect();
    Ok(super::ok(&compact(json!({ "CodeSigningConfigs": configs, "NextMarker": next }))))
}

async fn list_tags(State(app): Shared, Path(arn): Path<String>) -> Answer {
    let known = if let Some(id) = app.arns.parse_csc(&arn).filter(|_| arn.starts_with("arn:")) {
        csc::show(&app.store, &id.parse().map_err(invalid)?).await.is_ok()
    } else if let Some((name, n)) = app.arns.parse_layer_version(&arn) {
        layers::show(&app.store, &layer_ref(&name, &n.to_string())?).await.is_ok()
    } else {
        false
    };
    if !known {
        return Err(ApiError::not_found(API, format!("{arn} is not a resource of this server")));
    }
    Ok(super::ok(&json!({ "Tags": read_tags(API, &app, &arn).await? })))
}
