//! Streaming: a 250 MB package signs and verifies in bounded memory. Peak RSS of the
//! child process is measured with getrusage (through python3, since the crate forbids
//! unsafe code); this is a memory bound, not a timing.

use crate::util::{Env, tool};

const PEAK_RSS_LIMIT_KB: u64 = 64 * 1024;

/// Runs `signer ARGS…` and returns (exit code, peak RSS in KiB).
fn peak_rss(env: &Env, args: &[&str]) -> (i32, u64) {
    let script = "import resource,subprocess,sys\nr=subprocess.run(sys.argv[1:])\nprint(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\nsys.exit(r.returncode)";
    let cmd = env.cmd();
    let program = cmd.get_program().to_owned();
    let mut py = std::process::Command::new("python3");
    py.arg("-c").arg(script).arg(program).args(args);
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => py.env(k, v),
            None => py.env_remove(k),
        };
    }
    let out = py.output().unwrap();
    let rss =
        String::from_utf8_lossy(&out.stdout).lines().last().and_then(|l| l.trim().parse().ok()).unwrap_or(u64::MAX);
    (out.status.code().unwrap_or(-1), rss)
}

#[test]
fn a_250_mb_package_signs_and_verifies_in_bounded_memory() {
    let env = Env::new();
    env.profile("Mem", &[]);
    let big = env.path("big.zip");
    let make = "import zipfile,sys\nz=zipfile.ZipFile(sys.argv[1],'w',zipfile.ZIP_STORED)\nblock=bytes(range(256))*4096\nwith z.open('payload.bin','w',force_zip64=False) as f:\n    for _ in range(250):\n        f.write(block)\nz.close()";
    tool("python3", &["-c", make, big.to_str().unwrap()]).expect(0);
    assert!(std::fs::metadata(&big).unwrap().len() > 250_000_000);
    let signed = env.path("big.signed.zip");
    let (code, sign_kb) =
        peak_rss(&env, &["sign", "--profile", "Mem", big.to_str().unwrap(), "-o", signed.to_str().unwrap()]);
    assert_eq!(code, 0);
    let (code, verify_kb) = peak_rss(&env, &["verify", signed.to_str().unwrap()]);
    assert_eq!(code, 0);
    eprintln!("peak RSS: sign {sign_kb} KiB, verify {verify_kb} KiB");
    assert!(sign_kb < PEAK_RSS_LIMIT_KB, "sign peaked at {sign_kb} KiB");
    assert!(verify_kb < PEAK_RSS_LIMIT_KB, "verify peaked at {verify_kb} KiB");
}

#[test]
fn every_zip_bomb_is_refused_by_sign_fast_and_in_bounded_memory() {
    let env = Env::new();
    env.profile("Bombs", &[]);
    let bombs = crate::util::corpus_dir().join("zip-bombs");
    let mut seen = 0;
    for dir in std::fs::read_dir(&bombs).unwrap().flatten().filter(|d| d.path().is_dir()) {
        for bomb in std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|f| f.path().extension().is_some_and(|e| e == "zip"))
        {
            let out = env.path("bomb.signed.zip");
            let started = std::time::Instant::now();
            let (code, kb) = peak_rss(
                &env,
                &["sign", "--profile", "Bombs", bomb.path().to_str().unwrap(), "-o", out.to_str().unwrap()],
            );
            let took = started.elapsed();
            assert_eq!(code, 3, "{} must be refused as invalid input", bomb.path().display());
            assert!(kb < 256 * 1024, "{}: peak RSS {kb} KiB", bomb.path().display());
            assert!(took < std::time::Duration::from_secs(10), "{}: took {took:?}", bomb.path().display());
            assert!(!out.exists());
            seen += 1;
        }
    }
    assert!(seen >= 7, "expected the seven corpus bombs, saw {seen}");
}
