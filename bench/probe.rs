//! Measurement probe for bench/run.py: `probe RESULT_FILE CMD [ARGS...]`.
//!
//! Runs CMD (stdio inherited), reaps it with wait4 and writes one line to RESULT_FILE:
//! `wall_ns exit user_us sys_us maxrss_kb minflt ctxsw` (exit is -SIGNAL when killed by a
//! signal, 127 when CMD cannot be started).
//!
//! Why a separate tiny process: Linux carries the exec'ing process's old address-space
//! high-water mark into ru_maxrss, so a child spawned straight from the Python harness
//! would report at least the harness's own peak RSS. Spawned from this probe, a command's
//! ru_maxrss is its own (plus a floor of about the probe's size, which run.py measures
//! and reports). Compiled by run.py with plain `rustc -O`; std only.

use std::io::Write;
use std::process::Command;
use std::time::Instant;

#[repr(C)]
#[derive(Default)]
struct Timeval {
    sec: i64,
    usec: i64,
}

#[repr(C)]
#[derive(Default)]
struct Rusage {
    utime: Timeval,
    stime: Timeval,
    maxrss: i64,
    ixrss: i64,
    idrss: i64,
    isrss: i64,
    minflt: i64,
    majflt: i64,
    nswap: i64,
    inblock: i64,
    oublock: i64,
    msgsnd: i64,
    msgrcv: i64,
    nsignals: i64,
    nvcsw: i64,
    nivcsw: i64,
}

extern "C" {
    fn wait4(pid: i32, status: *mut i32, options: i32, rusage: *mut Rusage) -> i32;
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: probe RESULT_FILE CMD [ARGS...]");
        std::process::exit(2);
    }
    let result = &args[1];
    let t0 = Instant::now();
    let child = match Command::new(&args[2]).args(&args[3..]).spawn() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("probe: cannot start {}: {e}", args[2]);
            write_result(result, "0 127 0 0 0 0 0");
            std::process::exit(127);
        }
    };
    let pid = child.id() as i32;
    let mut status: i32 = 0;
    let mut ru = Rusage::default();
    loop {
        let r = unsafe { wait4(pid, &mut status, 0, &mut ru) };
        if r == pid {
            break;
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            eprintln!("probe: wait4: {err}");
            std::process::exit(125);
        }
    }
    let wall = t0.elapsed().as_nanos();
    let code = if status & 0x7f == 0 { (status >> 8) & 0xff } else { -(status & 0x7f) };
    let us = |t: &Timeval| t.sec * 1_000_000 + t.usec;
    write_result(
        result,
        &format!(
            "{wall} {code} {} {} {} {} {}",
            us(&ru.utime),
            us(&ru.stime),
            ru.maxrss,
            ru.minflt,
            ru.nvcsw + ru.nivcsw
        ),
    );
    std::process::exit(if code < 0 { 128 - code } else { code });
}

fn write_result(path: &str, line: &str) {
    let mut f = std::fs::File::create(path).expect("probe: result file");
    writeln!(f, "{line}").expect("probe: write result");
}
