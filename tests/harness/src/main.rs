// SPDX-License-Identifier: GPL-2.0

//! `ve-harness`: runs guest suites, one VM boot each. For every suite it starts the VE engine
//! emulator with a fresh random nonce, waits for its socket, boots QEMU (TCG, q35, ivshmem-doorbell
//! with 96 vectors: VE1's MSI-X map, `hw::emu::VECTORS`; guest RAM shared with the emulator),
//! streams the console to a log, enforces the suite's timeout, and judges the log (`ve_harness::judge`).
//!
//! ```text
//! ve-harness --kernel BZIMAGE --initrd INITRD --emulator VE_EMU --suites DIR --out DIR
//!            [--mem-mib MIB] [--console all|tests|none] [--append KERNEL-ARGS] [--iommu]
//!            [--variant ve1|ve3] SUITE...
//! ```
//! The guest has 3 GiB, 4 GiB for a suite that asks for a 1 GiB hugetlb page
//! (`ve_harness::HugePages`), unless `--mem-mib` says.
//! `--variant ve3` starts the emulator with `--variant ve3`: the card the driver binds is an
//! emulated VE3 (its register layout, its privileged DMA engine on MSI-X 32); VE1 by default.
//! `--iommu` gives the guest QEMU's Intel IOMMU (`-device intel-iommu,intremap=off`, before the
//! ivshmem device), boots its kernel with `intel_iommu=on iommu.passthrough=0 iommu.strict=1`
//! and starts the emulator with `--iommu`, so that the engine's host-side addresses are IOVAs it
//! translates through the guest's VT-d tables (a suite hands them over with `ve_iommu_attach`;
//! `ve_harness::iommu`).
//! `--console` chooses what of the guest console is echoed (every line is always kept in
//! `OUT/SUITE/console.log`): `tests` (default) shows the tests' own lines and the kernel's lines
//! about ve_drv, KUnit and problems; a failed suite's last console lines are shown in any case.
//! Prints one result line per suite and, last, `guest suites: N passed, N failed` over every test
//! of every suite (user-space TAP and KUnit); exits 1 if any suite failed.

use std::{
    fs,
    io::{
        BufRead,
        BufReader,
        Read,
        Write, //
    },
    path::{
        Path,
        PathBuf, //
    },
    process::{
        Child,
        Command,
        ExitCode,
        Stdio, //
    },
    sync::mpsc,
    time::{
        Duration,
        Instant, //
    },
};

use ve_harness::{
    iommu,
    judge_allowing,
    qemu_devices,
    suite_header,
    taint_bits,
    HugePages,
    Verdict, //
};

#[derive(Copy, Clone, PartialEq, Eq)]
enum Console {
    All,
    Tests,
    None,
}

/// Whether a console line is worth echoing in `--console tests` mode.
fn interesting(line: &str) -> bool {
    let kernel = line.starts_with('[');
    !kernel
        || ["ve_drv", "KTAP", "Subtest", "ok ", "# ", "ve-"]
            .iter()
            .any(|k| line.contains(k))
        || ve_harness::SPLATS.iter().any(|k| line.contains(k))
}

struct Opts {
    kernel: PathBuf,
    initrd: PathBuf,
    emulator: PathBuf,
    suites: PathBuf,
    out: PathBuf,
    /// `--mem-mib`; otherwise [`HugePages::guest_mem_mib`] of each suite.
    mem_mib: Option<u64>,
    console: Console,
    append: String,
    iommu: bool,
    /// `--variant`: passed to the emulator unless the suite names one itself.
    variant: Option<String>,
    names: Vec<String>,
}

fn parse() -> Result<Opts, String> {
    let mut o = Opts {
        kernel: PathBuf::new(),
        initrd: PathBuf::new(),
        emulator: PathBuf::new(),
        suites: PathBuf::new(),
        out: PathBuf::from("out"),
        mem_mib: None,
        console: Console::Tests,
        append: String::new(),
        iommu: false,
        variant: None,
        names: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--kernel" => o.kernel = val()?.into(),
            "--initrd" => o.initrd = val()?.into(),
            "--emulator" => o.emulator = val()?.into(),
            "--suites" => o.suites = val()?.into(),
            "--out" => o.out = val()?.into(),
            "--mem-mib" => {
                o.mem_mib = Some(val()?.parse().map_err(|e| format!("--mem-mib: {e}"))?);
            }
            "--append" => o.append = val()?,
            "--iommu" => o.iommu = true,
            "--variant" => {
                let v = val()?;
                if v != "ve1" && v != "ve3" {
                    return Err(format!("--variant {v}: want ve1 or ve3"));
                }
                o.variant = Some(v)
            }
            "--console" => {
                o.console = match val()?.as_str() {
                    "all" => Console::All,
                    "tests" => Console::Tests,
                    "none" => Console::None,
                    v => return Err(format!("--console {v}: want all, tests or none")),
                }
            }
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            s => o.names.push(s.to_string()),
        }
    }
    if o.names.is_empty() {
        return Err("name at least one suite".into());
    }
    Ok(o)
}

fn random_nonce() -> u64 {
    let mut b = [0u8; 8];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .expect("/dev/urandom");
    u64::from_le_bytes(b) | 1
}

/// Kills a child on drop (the emulator or QEMU must never outlive the harness).
struct Reaper(Option<Child>);

impl Drop for Reaper {
    fn drop(&mut self) {
        if let Some(c) = self.0.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn wait_for_file(path: &Path, emu: &mut Child, limit: Duration) -> Result<(), String> {
    let end = Instant::now() + limit;
    while !path.exists() {
        if let Ok(Some(st)) = emu.try_wait() {
            return Err(format!("the emulator exited early: {st}"));
        }
        if Instant::now() > end {
            return Err(format!(
                "no emulator socket {} after {limit:?}",
                path.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

struct SuiteRun {
    verdict: Verdict,
    secs: f64,
    log: String,
}

fn run_suite(o: &Opts, name: &str) -> Result<SuiteRun, String> {
    let script_path = o.suites.join(format!("{name}.sh"));
    let script =
        fs::read_to_string(&script_path).map_err(|e| format!("{}: {e}", script_path.display()))?;
    let mut emu_args: Vec<String> = suite_header(&script, "emulator-args")
        .unwrap_or("")
        .split_whitespace()
        .map(String::from)
        .collect();
    if o.iommu && !emu_args.iter().any(|a| a == iommu::EMULATOR_ARG) {
        emu_args.push(iommu::EMULATOR_ARG.into());
    }
    if let Some(v) = &o.variant {
        if !emu_args.iter().any(|a| a == "--variant") {
            emu_args.extend(["--variant".into(), v.clone()]);
        }
    }
    let timeout = Duration::from_secs(
        suite_header(&script, "timeout")
            .and_then(|t| t.parse().ok())
            .unwrap_or(180),
    );
    let pools =
        HugePages::of_suite(&script).map_err(|e| format!("{}: {e}", script_path.display()))?;
    let hugepages = pools.kernel_args();
    let mem_mib = o.mem_mib.unwrap_or_else(|| pools.guest_mem_mib());
    // Taint letters the suite's subject sets by design, allowed on top of O and N.
    let extra_taint = taint_bits(suite_header(&script, "allowed-taint").unwrap_or(""))
        .map_err(|e| format!("{}: harness-allowed-taint: {e}", script_path.display()))?;

    let dir = o.out.join(name);
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let sock = dir.join("ivshmem.sock");
    let stats = dir.join("emulator-stats.txt");
    let ram = PathBuf::from(format!(
        "/dev/shm/ve-harness-{}-{name}.ram",
        std::process::id()
    ));
    let _ = fs::remove_file(&stats);
    let _ = fs::remove_file(&sock);
    let nonce = random_nonce();
    let start = Instant::now();

    let emu_log = fs::File::create(dir.join("emulator.log")).map_err(|e| e.to_string())?;
    let mut emu = Reaper(Some(
        Command::new(&o.emulator)
            .args(["--socket".as_ref(), sock.as_os_str()])
            .args(["--ram-file".as_ref(), ram.as_os_str()])
            .args(["--ram-size", &format!("{mem_mib}M")])
            .args(["--nonce", &format!("{nonce:#x}")])
            .args(["--stats".as_ref(), stats.as_os_str()])
            .args(&emu_args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(emu_log)
            .spawn()
            .map_err(|e| format!("{}: {e}", o.emulator.display()))?,
    ));
    wait_for_file(&sock, emu.0.as_mut().unwrap(), Duration::from_secs(10))?;

    let append = format!(
        "console=ttyS0 panic=-1 oops=panic {hugepages} ve_test.suite={name} \
         ve_test.nonce={nonce:#x} {}{}",
        if o.iommu {
            format!("{} ", iommu::KERNEL_ARGS)
        } else {
            String::new()
        },
        o.append
    );
    let mem = format!("{mem_mib}M");
    let mut qemu = Reaper(Some(
        Command::new("qemu-system-x86_64")
            .args([
                "-accel",
                "tcg",
                "-machine",
                "q35,memory-backend=mem",
                // No 5-level paging. With LA57 the kernel's direct map sits at 0xff11..., and
                // KASAN takes its shadow's start from the LA57 feature bit; `identify_cpu` zeroes
                // the boot CPU's feature bits with interrupts on, so an interrupt in that window
                // has its irq_desc reported as a wild access (Linux 7.3's false positive, seen in
                // about a third of the debug kernel's boots). Four levels, as on most VE hosts.
                // No ERMS/FSRM: TCG runs `rep movsb`/`stosb` a byte at a time, so the kernel's
                // copies to and from user memory and its page clearing crawl (about 20 MB/s)
                // where a real CPU runs them at full speed; without them the kernel uses its
                // 8-byte loops.
                "-cpu",
                "max,la57=off,fsrm=off,erms=off",
                "-smp",
                "2",
            ])
            .args(["-m", &mem])
            .arg("-object")
            .arg(format!(
                "memory-backend-file,id=mem,size={mem},mem-path={},share=on",
                ram.display()
            ))
            .arg("-chardev")
            .arg(format!("socket,path={},id=ivs", sock.display()))
            .args(qemu_devices(o.iommu))
            .arg("-kernel")
            .arg(&o.kernel)
            .arg("-initrd")
            .arg(&o.initrd)
            .args(["-append", &append])
            .args(["-nographic", "-no-reboot", "-net", "none"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("qemu-system-x86_64: {e}"))?,
    ));

    // Console lines arrive on a channel so the timeout can be enforced while reading.
    let (tx, rx) = mpsc::channel::<String>();
    let q = qemu.0.as_mut().unwrap();
    let stdout = q.stdout.take().unwrap();
    let stderr = q.stderr.take().unwrap();
    let tx2 = tx.clone();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    std::thread::spawn(move || {
        for l in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx2.send(format!("qemu: {l}")).is_err() {
                break;
            }
        }
    });
    let mut console = fs::File::create(dir.join("console.log")).map_err(|e| e.to_string())?;
    let mut log = String::new();
    let deadline = start + timeout;
    let mut timed_out = false;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left.min(Duration::from_millis(500))) {
            Ok(l) => {
                let _ = writeln!(console, "{l}");
                if o.console == Console::All || (o.console == Console::Tests && interesting(&l)) {
                    println!("  | {l}");
                }
                log.push_str(&l);
                log.push('\n');
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if Instant::now() >= deadline {
                    timed_out = true;
                    break;
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let mut q = qemu.0.take().unwrap();
    if timed_out {
        let _ = q.kill();
    }
    let _ = q.wait();

    // QEMU is gone: the emulator sees EOF, writes its counters and exits.
    let mut e = emu.0.take().unwrap();
    let end = Instant::now() + Duration::from_secs(10);
    while e.try_wait().map_err(|e| e.to_string())?.is_none() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = e.kill();
    let _ = e.wait();
    let _ = fs::remove_file(&ram);

    let mut verdict = judge_allowing(&log, nonce, extra_taint);
    if timed_out {
        verdict
            .problems
            .push(format!("timed out after {timeout:?}"));
    }
    match fs::read_to_string(&stats) {
        Ok(s) => {
            let get = |k: &str| {
                s.lines()
                    .find_map(|l| l.strip_prefix(k)?.strip_prefix('=')?.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            if get("ping_bad") != 0 {
                verdict.problems.push(format!(
                    "the emulator rejected {} ping check words",
                    get("ping_bad")
                ));
            }
            println!("  emulator: {}", s.lines().collect::<Vec<_>>().join(" "));
        }
        Err(_) => verdict
            .problems
            .push("the emulator left no counters (did it crash?)".into()),
    }
    Ok(SuiteRun {
        verdict,
        secs: start.elapsed().as_secs_f64(),
        log,
    })
}

fn main() -> ExitCode {
    let o = match parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("ve-harness: {e}");
            return ExitCode::from(2);
        }
    };
    let (mut passed, mut failed, mut bad_suites) = (0, 0, 0);
    for name in &o.names {
        println!("== guest suite {name}");
        let mut run = run_suite(&o, name);
        // A kernel that went wrong while booting, before the suite (and the module) started, is
        // not the suite's result: boot once more, and judge that run.
        if let Ok(r) = &run {
            if let Some(fault) = &r.verdict.boot_fault {
                println!(
                    "  boot-time kernel fault before the suite started ({fault}): booting again"
                );
                run = run_suite(&o, name);
            }
        }
        match run {
            Ok(r) => {
                let v = &r.verdict;
                if !v.ok() && o.console != Console::All {
                    let lines: Vec<&str> = r.log.lines().collect();
                    println!("  last console lines of {name}:");
                    for l in &lines[lines.len().saturating_sub(60)..] {
                        println!("  | {l}");
                    }
                }
                for p in &v.problems {
                    println!("  PROBLEM: {p}");
                }
                println!(
                    "== guest suite {name}: {} ({} passed, {} failed, {} skipped; KUnit {} passed, {} failed) in {:.1} s",
                    if v.ok() { "PASS" } else { "FAIL" },
                    v.passed,
                    v.failed,
                    v.skipped,
                    v.kunit_passed,
                    v.kunit_failed,
                    r.secs
                );
                passed += v.passed + v.kunit_passed;
                failed += v.failed + v.kunit_failed;
                if !v.ok() {
                    bad_suites += 1;
                    // A run-level problem counts as one failure so the totals never hide it.
                    if v.failed + v.kunit_failed == 0 {
                        failed += 1;
                    }
                }
            }
            Err(e) => {
                println!("== guest suite {name}: FAIL (harness: {e})");
                failed += 1;
                bad_suites += 1;
            }
        }
    }
    println!("guest suites: {passed} passed, {failed} failed");
    if bad_suites == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
