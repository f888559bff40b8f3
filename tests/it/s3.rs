//! The foundation on a real S3-compatible server: the state store on S3, and sign/verify
//! reading and writing object URLs (skipped with a notice without a server).

use crate::util::{Env, fixture, s3_bucket};

#[test]
fn sign_and_verify_with_an_s3_store_and_object_urls() {
    let Some(bucket) = s3_bucket() else { return };
    let env = Env::with_store(&format!("s3://{bucket}/state"));
    env.profile("S3App", &[]);
    let src_url = format!("s3://{bucket}/incoming/hello.zip");
    let out_url = format!("s3://{bucket}/signed/hello.zip");
    // Sign a local file straight into S3 (a multipart upload that appears on success).
    let local = fixture("packages/hello-function.zip");
    env.run(["sign", "--profile", "S3App", local.to_str().unwrap(), "-o", &out_url]).expect(0);
    let v = env.json(["verify", &out_url]).expect(0).json();
    assert_eq!(v["decision"], "allow");
    // Reading an S3 source: the signed object is a zip, and re-signing it is refused as
    // already signed — through the S3 reader.
    let r = env.run(["sign", "--profile", "S3App", &out_url, "-o", &src_url]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("already signed"), "{}", r.stderr);
    // A missing source object is not found.
    env.run(["verify", &format!("s3://{bucket}/nope.zip")]).expect(4);
    // Download with signature export to check the bytes are a package.
    let dir = env.path("sig");
    env.run(["signature", "export", &out_url, "--dir", dir.to_str().unwrap()]).expect(0);
    assert!(dir.join("payload.bin").exists());
}
