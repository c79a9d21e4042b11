// SPDX-License-Identifier: GPL-2.0

//! Judging a guest run from its console output: the suite's TAP lines, KUnit's results, kernel
//! splats, taint, the end marker. Kept apart from process handling so it is unit-tested on the
//! host (`cargo test -p ve-harness`).

/// Skips that are legitimate (a reason the environment, not the driver, decides). Any other SKIP
/// fails the run.
pub const ALLOWED_SKIPS: &[&str] = &[];

/// Taint bits a clean run may show: `O` (out-of-tree module, 1 << 12) and `N` (KUnit tests ran,
/// 1 << 18).
pub const ALLOWED_TAINT: u64 = (1 << 12) | (1 << 18);

/// The kernel's taint letters, in bit order (`taint_flags` in kernel/panic.c): bit `i` of
/// `/proc/sys/kernel/tainted` is letter `i`.
pub const TAINT_LETTERS: &str = "PFSRMBUDAWCIOELKXTNJ";

/// The taint bits of `letters` (a suite's `# harness-allowed-taint: U` header: letters, spaces
/// ignored); an unknown letter is an error.
pub fn taint_bits(letters: &str) -> Result<u64, String> {
    let mut bits = 0;
    for c in letters.chars().filter(|c| !c.is_whitespace()) {
        let i = TAINT_LETTERS
            .find(c)
            .ok_or_else(|| format!("unknown taint letter {c:?}"))?;
        bits |= 1 << i;
    }
    Ok(bits)
}

/// Substrings of kernel log lines that mean a kernel problem, whatever the tests say.
pub const SPLATS: &[&str] = &[
    "WARNING:",
    "BUG:",
    "Oops",
    "Kernel panic",
    "general protection fault",
    "Call Trace:",
    "possible circular locking",
    "possible recursive locking",
    "inconsistent lock state",
    "KASAN:",
    "UBSAN:",
    "suspected memory leak",
    "INFO: task",
    "rcu_sched self-detected stall",
    "rcu: INFO:",
];

/// What a run produced.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// User-space TAP results.
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    /// KUnit results (from the kernel's `# suite: pass:N fail:N` lines).
    pub kunit_passed: usize,
    pub kunit_failed: usize,
    /// Problems that fail the run even if every test passed.
    pub problems: Vec<String>,
    /// The nonce the guest reported, if it did.
    pub reported_nonce: Option<u64>,
    /// A kernel splat before the suite began (before `ve_test: begin`, so before the module was
    /// loaded): the boot itself went wrong, whatever the suite does. Also among `problems`.
    pub boot_fault: Option<String>,
}

impl Verdict {
    /// Whether the run is a pass.
    pub fn ok(&self) -> bool {
        self.failed == 0 && self.kunit_failed == 0 && self.problems.is_empty() && self.passed > 0
    }
}

/// Splits a console line into (is a kernel line, text without the printk timestamp).
fn split_kernel(line: &str) -> (bool, &str) {
    let t = line.trim_end_matches('\r');
    if let Some(rest) = t.strip_prefix('[') {
        if let Some(end) = rest.find(']') {
            let stamp = &rest[..end];
            if stamp.trim().chars().all(|c| c.is_ascii_digit() || c == '.')
                && !stamp.trim().is_empty()
            {
                return (true, &rest[end + 1..]);
            }
        }
    }
    (false, t)
}

fn parse_kunit_totals(text: &str) -> Option<(usize, usize)> {
    // "# ve_drv_card: pass:3 fail:0 skip:0 total:3", once per suite; the "# Totals: ..." line
    // after it repeats the same numbers and is not counted.
    let t = text.trim().strip_prefix("# ")?;
    if t.starts_with("Totals:") {
        return None;
    }
    let (_, counts) = t.split_once(": pass:")?;
    let mut pass = None;
    let mut fail = None;
    for (i, part) in counts.split_whitespace().enumerate() {
        if i == 0 {
            pass = part.parse().ok();
        } else if let Some(v) = part.strip_prefix("fail:") {
            fail = v.parse().ok();
        }
    }
    Some((pass?, fail?))
}

/// Judges a console log. `suite_exit` lines and the end marker come from the guest's /init.
pub fn judge(log: &str, expected_nonce: u64) -> Verdict {
    judge_allowing(log, expected_nonce, 0)
}

/// [`judge`], with the taint bits `extra_taint` allowed on top of [`ALLOWED_TAINT`] (a suite
/// whose subject taints the kernel by design, such as `U` for the user-space DMA manager).
pub fn judge_allowing(log: &str, expected_nonce: u64, extra_taint: u64) -> Verdict {
    let mut v = Verdict::default();
    let mut ended = false;
    let mut taint = None;
    let mut exit = None;
    let mut begun = false;
    for line in log.lines() {
        let (kernel, text) = split_kernel(line);
        if kernel {
            if let Some(s) = SPLATS.iter().find(|s| text.contains(*s)) {
                v.problems.push(format!("kernel: {s} in {:?}", text.trim()));
                if !begun && v.boot_fault.is_none() {
                    v.boot_fault = Some(text.trim().to_string());
                }
            }
            if let Some((p, f)) = parse_kunit_totals(text) {
                v.kunit_passed += p;
                v.kunit_failed += f;
            }
            continue;
        }
        let text = text.trim_start();
        if let Some(rest) = text.strip_prefix("ve_test: ") {
            if rest.starts_with("begin ") {
                begun = true;
            } else if rest == "end" {
                ended = true;
            } else if let Some(t) = rest.strip_prefix("taint=") {
                taint = t.trim().parse::<u64>().ok();
            } else if let Some(e) = rest.strip_prefix("exit=") {
                exit = e.trim().parse::<i32>().ok();
            }
        } else if let Some(rest) = text.strip_prefix("# ve_test: emu_nonce=") {
            v.reported_nonce = u64::from_str_radix(rest.trim().trim_start_matches("0x"), 16).ok();
        } else if text.starts_with("not ok ") {
            v.failed += 1;
        } else if text.starts_with("ok ") {
            if let Some((_, why)) = text.split_once("# SKIP") {
                v.skipped += 1;
                let why = why.trim();
                if !ALLOWED_SKIPS.iter().any(|a| why.starts_with(a)) {
                    v.problems
                        .push(format!("skip not on the allowed list: {text:?}"));
                }
            } else {
                v.passed += 1;
            }
        }
    }
    if !ended {
        v.problems
            .push("the guest never reached the end marker (crash, hang or timeout)".into());
    }
    match taint {
        Some(t) if t & !(ALLOWED_TAINT | extra_taint) != 0 => {
            v.problems.push(format!("unexpected kernel taint {t:#x}"))
        }
        Some(_) => {}
        None if ended => v.problems.push("the guest did not report its taint".into()),
        None => {}
    }
    match exit {
        Some(0) => {}
        Some(e) => v.problems.push(format!("suite exited with {e}")),
        None if ended => v
            .problems
            .push("the guest did not report the suite's exit code".into()),
        None => {}
    }
    if let Some(n) = v.reported_nonce {
        if n != expected_nonce {
            v.problems.push(format!(
                "guest reported nonce {n:#x}, the harness gave {expected_nonce:#x}"
            ));
        }
    }
    v
}

/// A suite script's `# harness-<key>: value` header line.
pub fn suite_header<'a>(script: &'a str, key: &str) -> Option<&'a str> {
    let prefix = format!("# harness-{key}:");
    script
        .lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()).map(str::trim))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLEAN: &str = "\
[    0.100000] Linux version 7.3.4
[    1.000000]     KTAP version 1
[    1.000001]     # Subtest: ve_drv_card
[    1.000002]     ok 1 index_alloc
[    1.000003] # ve_drv_card: pass:3 fail:0 skip:0 total:3
[    1.000004] # Totals: pass:3 fail:0 skip:0 total:3
[    1.000005] ok 1 ve_drv_card
ve_test: begin suite=transport
TAP version 13
1..2
ok 1 first
# ve_test: emu_nonce=0x00000000000000ff
ok 2 second
ve_test: exit=0
ve_test: taint=266240
ve_test: end
";

    #[test]
    fn clean_run_passes() {
        let v = judge(CLEAN, 0xff);
        assert_eq!(v.passed, 2);
        assert_eq!(v.failed, 0);
        assert_eq!((v.kunit_passed, v.kunit_failed), (3, 0));
        assert_eq!(v.reported_nonce, Some(0xff));
        assert!(v.ok(), "{v:?}");
    }

    #[test]
    fn kunit_lines_are_not_user_tap() {
        // The kernel's "ok 1 index_alloc" must not count as a user-space pass.
        let v = judge(CLEAN, 0xff);
        assert_eq!(v.passed, 2);
    }

    #[test]
    fn failures_and_problems_fail_the_run() {
        assert!(!judge(&CLEAN.replace("ok 2 second", "not ok 2 second"), 0xff).ok());
        assert!(!judge(&CLEAN.replace("pass:3 fail:0", "pass:2 fail:1"), 0xff).ok());
        assert!(!judge(&CLEAN.replace("ve_test: end\n", ""), 0xff).ok());
        assert!(!judge(&CLEAN.replace("taint=266240", "taint=4097"), 0xff).ok());
        assert!(!judge(&CLEAN.replace("exit=0", "exit=1"), 0xff).ok());
        assert!(!judge(CLEAN, 0xfe).ok(), "wrong nonce must fail");
        let warn = CLEAN.replace(
            "ve_test: end",
            "[    2.0] WARNING: CPU: 0 PID: 1 at foo\nve_test: end",
        );
        assert!(!judge(&warn, 0xff).ok());
        let skip = CLEAN.replace("ok 2 second", "ok 2 second # SKIP no reason");
        assert!(!judge(&skip, 0xff).ok());
    }

    /// A splat before the suite began is the boot's, not the suite's: the run fails and says
    /// so, so that the harness can boot again. One after the start is the suite's.
    #[test]
    fn boot_faults_are_told_apart() {
        let early = CLEAN.replace(
            "[    1.000000]     KTAP version 1",
            "[    0.003] BUG: KASAN: wild-memory-access in do_raw_spin_lock+0xbc/0x200\n[    1.000000]     KTAP version 1",
        );
        let v = judge(&early, 0xff);
        assert!(!v.ok());
        assert!(v.boot_fault.is_some(), "{v:?}");
        let late = CLEAN.replace(
            "ve_test: end",
            "[    2.0] BUG: KASAN: use-after-free in foo\nve_test: end",
        );
        let v = judge(&late, 0xff);
        assert!(!v.ok());
        assert_eq!(v.boot_fault, None);
        assert_eq!(judge(CLEAN, 0xff).boot_fault, None);
    }

    #[test]
    fn no_tests_is_not_a_pass() {
        assert!(!judge("ve_test: exit=0\nve_test: taint=0\nve_test: end\n", 0).ok());
    }

    #[test]
    fn taint_letters() {
        assert_eq!(taint_bits("O"), Ok(1 << 12));
        assert_eq!(taint_bits("N"), Ok(1 << 18));
        assert_eq!(taint_bits("U"), Ok(1 << 6));
        assert_eq!(taint_bits("W"), Ok(1 << 9));
        assert_eq!(taint_bits(" U O "), Ok((1 << 6) | (1 << 12)));
        assert_eq!(taint_bits(""), Ok(0));
        assert!(taint_bits("Z").is_err());
        assert_eq!(taint_bits("ON"), Ok(ALLOWED_TAINT));
    }

    #[test]
    fn allowed_taint_per_suite() {
        // O + N + U (user taint, 1 << 6): fails by default, passes where the suite allows U.
        let tainted = CLEAN.replace("taint=266240", &format!("taint={}", 266240 + 64));
        assert!(!judge(&tainted, 0xff).ok());
        assert!(judge_allowing(&tainted, 0xff, taint_bits("U").unwrap()).ok());
        // Allowing U does not allow anything else (W, 1 << 9).
        let warned = CLEAN.replace("taint=266240", &format!("taint={}", 266240 + 64 + 512));
        assert!(!judge_allowing(&warned, 0xff, taint_bits("U").unwrap()).ok());
        // The clean run stays a pass with or without the extra bits.
        assert!(judge_allowing(CLEAN, 0xff, taint_bits("U").unwrap()).ok());
    }

    #[test]
    fn header_lines() {
        let s = "#!/bin/sh\n# harness-emulator-args: --bad-magic\n# harness-timeout: 120\n\
                 # harness-allowed-taint: U\n";
        assert_eq!(suite_header(s, "emulator-args"), Some("--bad-magic"));
        assert_eq!(suite_header(s, "timeout"), Some("120"));
        assert_eq!(suite_header(s, "allowed-taint"), Some("U"));
        assert_eq!(suite_header(s, "nothing"), None);
    }
}
