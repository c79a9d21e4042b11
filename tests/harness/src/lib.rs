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

/// Length of the printk timestamp at the start of `s`, in printk's own format (`[%5lu.%06lu]`:
/// `[`, spaces, seconds, `.`, six digits, `]`), or `None`.
fn printk_stamp_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    if b.first() != Some(&b'[') {
        return None;
    }
    let mut i = 1;
    while b.get(i) == Some(&b' ') {
        i += 1;
    }
    let secs = i;
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    if i == secs || b.get(i) != Some(&b'.') {
        return None;
    }
    i += 1;
    let frac = i;
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    (i - frac == 6 && b.get(i) == Some(&b']')).then_some(i + 1)
}

/// Cuts `s` at every printk timestamp in it: the text before the first one, and the text after
/// each one (up to the next), without the timestamps.
fn split_at_stamps(s: &str) -> (&str, Vec<&str>) {
    let mut head = s;
    let mut tails = Vec::new();
    let mut current: Option<usize> = None;
    let mut i = 0;
    while let Some(off) = s[i..].find('[') {
        let at = i + off;
        if let Some(len) = printk_stamp_len(&s[at..]) {
            match current {
                None => head = &s[..at],
                Some(start) => tails.push(&s[start..at]),
            }
            current = Some(at + len);
            i = at + len;
        } else {
            i = at + 1;
        }
    }
    if let Some(start) = current {
        tails.push(&s[start..]);
    }
    (head, tails)
}

/// One console line taken apart: the user-space text it starts with (possibly empty) and the
/// kernel messages in it, each without its timestamp.
///
/// The guest's user space and the kernel write to the same serial console, so a kernel message
/// can land inside a user-space line: `ok 2 insmod without emulator=1[   18.682880] # ve_drv_card:
/// pass:3 fail:0 skip:0 total:3` was seen, the user-space line's newline coming after the
/// kernel's. A message at the start of a line is recognised by any `[seconds.fraction]` stamp, one
/// further on only by printk's exact format, so that user-space text such as `[4096]` is never
/// taken for one. (kunit.py, too, accepts its lines behind a prefix such as a timestamp.)
fn split_console_line(line: &str) -> (&str, Vec<&str>) {
    let t = line.trim_end_matches('\r');
    match split_kernel(t) {
        (true, first) => {
            let (head, mut tails) = split_at_stamps(first);
            tails.insert(0, head);
            ("", tails)
        }
        (false, _) => split_at_stamps(t),
    }
}

/// Leading decimal digits of `s` as a number (`"3ok 7"` is 3): a count stays readable when other
/// console output is glued right after it.
fn leading_number(s: &str) -> Option<usize> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    s[..end].parse().ok()
}

/// A KUnit suite's result in a kernel message, wherever in the message it stands: `# NAME:
/// pass:N fail:N skip:N total:N`, once per suite. The `# Totals: ...` line after it counts the
/// same tests (parameters expanded) and is not counted.
fn parse_kunit_totals(text: &str) -> Option<(usize, usize)> {
    let colon = text.find(": pass:")?;
    let name = &text[..colon];
    let name = &name[name.rfind("# ")? + 2..];
    if name.is_empty() || name.contains(char::is_whitespace) || name == "Totals" {
        return None;
    }
    let counts = &text[colon + ": pass:".len()..];
    let pass = leading_number(counts)?;
    let fail = leading_number(&counts[counts.find(" fail:")? + " fail:".len()..])?;
    Some((pass, fail))
}

/// Judges one kernel message (timestamp removed): splats and KUnit's results.
fn judge_kernel_text(v: &mut Verdict, text: &str, begun: bool) {
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
    // A failed KUnit test or suite, also one whose suite prints no counts (a single test) or
    // whose counts were lost.
    if text.trim_start().starts_with("not ok ") {
        v.problems.push(format!("KUnit: {:?}", text.trim()));
    }
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
        let (user, kernel) = split_console_line(line);
        // The user-space text comes first on the line: a "ve_test: begin" before a kernel
        // message glued to it has begun.
        let text = user.trim_start();
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
        for k in kernel {
            judge_kernel_text(&mut v, k, begun);
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

/// The hugetlb pools of a suite's guest: 160 pages of 2 MiB always, and the 1 GiB pages its
/// `# harness-hugepages-1g: N` header asks for (none without it). A 1 GiB page can only be
/// reserved at boot (the kernels have no contiguous allocator), from memblock, which registers
/// it with kmemleak as a block to scan: the debug kernel's scan at the end of a suite then reads
/// the whole page, twice, about 20 s under TCG. So only the suites that use one have one; a test
/// of a 1 GiB page elsewhere finds the pool absent and reports a skip, which fails the suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HugePages {
    pub giant: u32,
}

impl HugePages {
    /// The pools `script`'s header asks for.
    pub fn of_suite(script: &str) -> Result<Self, String> {
        let giant = match suite_header(script, "hugepages-1g") {
            None => 0,
            Some(n) => n
                .parse()
                .map_err(|e| format!("harness-hugepages-1g: {n:?}: {e}"))?,
        };
        Ok(Self { giant })
    }

    /// The kernel parameters that reserve them.
    pub fn kernel_args(self) -> String {
        let pools = "hugepagesz=2M hugepages=160";
        if self.giant == 0 {
            pools.to_string()
        } else {
            format!("hugepagesz=1G hugepages={} {pools}", self.giant)
        }
    }

    /// The guest's memory unless `--mem-mib` says: 3 GiB, and a GiB more for each 1 GiB page.
    /// q35 puts 2 GiB below the PCI hole and the rest from 4 GiB on; early boot allocations come
    /// from the top of RAM, so a boot-time 1 GiB page needs a second gigabyte up there to find a
    /// whole aligned one (with 3 GiB it finds none). Memory costs the debug kernel's kmemleak
    /// scan time (reserved and in-use pages are scanned): 10 s at 3 GiB, 16 s at 4 GiB.
    pub fn guest_mem_mib(self) -> u64 {
        3072 + 1024 * u64::from(self.giant)
    }
}

/// The guest's IOMMU (`ve-harness --iommu`): QEMU's emulated Intel VT-d, the kernel told to use
/// it in strict mode, and the engine emulator translating its DMA through the guest's tables
/// (`docs/emulator.md`, "VT-d translation").
pub mod iommu {
    /// The QEMU device. Interrupt remapping is off: what is under test is DMA translation, and
    /// with `intremap=on` QEMU's VT-d also remaps every MSI-X message of the ivshmem device
    /// (96 vectors) through an interrupt remapping table that the guest must set up (its
    /// `IRQ_REMAP` support, x2APIC and EIM follow), and under KVM it needs
    /// `kernel-irqchip=split`: more moving parts on the interrupt path, none of them the
    /// driver's. With it off, the MSI-X messages reach the APIC as without an IOMMU.
    pub const QEMU_DEVICE: &str = "intel-iommu,intremap=off";
    /// Kernel arguments: use the IOMMU for DMA (`intel_iommu=on`), translate rather than give
    /// devices an identity (pass-through) default domain whatever the kernel's
    /// `CONFIG_IOMMU_DEFAULT_*` (`iommu.passthrough=0`), and unmap synchronously
    /// (`iommu.strict=1`: an IOVA is invalid as soon as `dma_unmap_*` returns, so a use after
    /// unmap faults in the emulator at once instead of hiding in a flush queue).
    pub const KERNEL_ARGS: &str = "intel_iommu=on iommu.passthrough=0 iommu.strict=1";
    /// The emulator's switch.
    pub const EMULATOR_ARG: &str = "--iommu";
}

/// The `-device` arguments of a suite's QEMU: the emulator's ivshmem device (96 vectors,
/// `hw::emu::VECTORS`) on the chardev `ivs`, and with `iommu` the Intel IOMMU first. The IOMMU
/// must come before the devices behind it: QEMU sets up a PCI device's bus-master address space
/// when the device is realized, in command-line order, through the hook the IOMMU installs on the
/// bus when it is realized itself, so a device realized earlier would keep an untranslated one
/// (the ivshmem device's own DMA is only its MSI-X writes, but its place behind the IOMMU is what
/// the guest's IOMMU driver sees). Other test suites using QEMU's VT-d put it first for the same
/// reason (avocado-vt: "it must be added before any virtio devices").
pub fn qemu_devices(iommu: bool) -> Vec<String> {
    let mut a = Vec::new();
    if iommu {
        a.extend(["-device".to_string(), iommu::QEMU_DEVICE.to_string()]);
    }
    a.extend([
        "-device".to_string(),
        "ivshmem-doorbell,chardev=ivs,vectors=96".to_string(),
    ]);
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iommu_device_comes_first() {
        assert_eq!(
            qemu_devices(false),
            ["-device", "ivshmem-doorbell,chardev=ivs,vectors=96"]
        );
        let a = qemu_devices(true);
        assert_eq!(a.len(), 4);
        assert_eq!(a[..2], ["-device", "intel-iommu,intremap=off"]);
        assert!(a[3].starts_with("ivshmem-doorbell"));
    }

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

    /// The kernel and user space share the serial console: a kernel line glued after a
    /// user-space TAP line (seen: a run counted 673 tests instead of 676).
    #[test]
    fn kunit_totals_glued_after_a_user_line_count() {
        let glued = CLEAN
            .replace(
                "[    1.000003] # ve_drv_card: pass:3 fail:0 skip:0 total:3\n",
                "",
            )
            .replace(
                "ok 1 first\n",
                "ok 1 first[    1.000003] # ve_drv_card: pass:3 fail:0 skip:0 total:3\n\n",
            );
        assert!(glued.contains("ok 1 first[    1.000003] # ve_drv_card: pass:3"));
        let v = judge(&glued, 0xff);
        assert_eq!((v.kunit_passed, v.kunit_failed), (3, 0), "{v:?}");
        assert_eq!(v.passed, 2, "the user-space line still counts");
        assert!(v.ok(), "{v:?}");
        assert_eq!(v, judge(CLEAN, 0xff), "the same verdict as the clean log");
    }

    /// The line as it was seen, verbatim, and the "# Totals:" line glued the same way (counted
    /// neither glued nor alone).
    #[test]
    fn console_lines_as_seen() {
        let seen = "ok 2 insmod without emulator=1[   18.682880] # ve_drv_card: pass:3 fail:0 skip:0 total:3";
        let (user, kernel) = split_console_line(seen);
        assert_eq!(user, "ok 2 insmod without emulator=1");
        assert_eq!(kernel, [" # ve_drv_card: pass:3 fail:0 skip:0 total:3"]);
        assert_eq!(parse_kunit_totals(kernel[0]), Some((3, 0)));
        let totals = "ok 5 insmod emulator=1[   19.482887] # Totals: pass:3 fail:0 skip:0 total:3";
        let (user, kernel) = split_console_line(totals);
        assert_eq!(user, "ok 5 insmod emulator=1");
        assert_eq!(parse_kunit_totals(kernel[0]), None);
        let with_totals = CLEAN.replace("ok 2 second\n", &format!("{totals}\nok 2 second\n"));
        let v = judge(&with_totals, 0xff);
        assert_eq!((v.passed, v.kunit_passed), (3, 3), "{v:?}");
    }

    #[test]
    fn kunit_failures_glued_to_other_output_fail_the_run() {
        // Counts with a failure, after a user line.
        let failed = CLEAN.replace(
            "[    1.000003] # ve_drv_card: pass:3 fail:0 skip:0 total:3\n",
            "ok 0 x[    1.000003] # ve_drv_card: pass:2 fail:1 skip:0 total:3\n",
        );
        let v = judge(&failed, 0xff);
        assert_eq!((v.kunit_passed, v.kunit_failed), (2, 1), "{v:?}");
        assert!(!v.ok());
        // Counts followed by user-space output before the kernel's newline.
        let tail = CLEAN.replace(
            "skip:0 total:3\n[    1.000004]",
            "skip:0 total:3ok 9 tail\n[    1.000004]",
        );
        let v = judge(&tail, 0xff);
        assert_eq!((v.kunit_passed, v.kunit_failed), (3, 0), "{v:?}");
        // Two kernel messages on one line.
        let two = CLEAN.replace(
            "[    1.000003] # ve_drv_card:",
            "[    1.000002] foo[    1.000003] # ve_drv_card:",
        );
        assert_eq!(judge(&two, 0xff).kunit_passed, 3);
        // A KUnit "not ok" fails the run even where no counts follow (a one-test suite prints
        // none), glued or not.
        for bad in [
            "[    1.000005] not ok 1 ve_drv_card",
            "ok 0 x[    1.000005] not ok 1 ve_drv_card",
            "[    1.000005]     not ok 2 node_names_match_indices",
        ] {
            let v = judge(&CLEAN.replace("[    1.000005] ok 1 ve_drv_card", bad), 0xff);
            assert!(!v.ok(), "{bad}: {v:?}");
            assert!(v.problems.iter().any(|p| p.starts_with("KUnit:")), "{v:?}");
        }
    }

    #[test]
    fn splats_glued_to_a_user_line_are_seen() {
        // Before the suite began: the boot's fault.
        let early = CLEAN.replace(
            "TAP version 13",
            "TAP version 13[    1.100000] BUG: KASAN: wild-memory-access in foo",
        );
        let v = judge(&early, 0xff);
        assert!(!v.ok());
        assert_eq!(
            v.boot_fault, None,
            "after ve_test: begin: the suite's, {v:?}"
        );
        let boot = CLEAN.replace(
            "[    1.000005] ok 1 ve_drv_card",
            "[    1.000005] ok 1 ve_drv_card\nLoading[    1.100000] BUG: KASAN: wild-memory-access",
        );
        assert!(judge(&boot, 0xff).boot_fault.is_some());
        let late = CLEAN.replace(
            "ok 2 second",
            "ok 2 second[    2.000000] WARNING: CPU: 0 PID: 1 at foo",
        );
        let v = judge(&late, 0xff);
        assert!(!v.ok(), "{v:?}");
        assert_eq!(v.passed, 2);
    }

    #[test]
    fn user_brackets_are_not_kernel_stamps() {
        // Only printk's exact stamp starts a kernel message inside a line.
        for user in [
            "ok 3 sizes [4096] WARNING: none",
            "ok 3 at [1.5] # x: pass:3 fail:0",
            "ok 3 [   1.00000] short fraction",
        ] {
            let (u, k) = split_console_line(user);
            assert_eq!((u, k.len()), (user, 0), "{user}");
            let v = judge(&CLEAN.replace("ok 2 second", user), 0xff);
            assert!(v.ok(), "{user}: {v:?}");
            assert_eq!((v.passed, v.kunit_passed), (2, 3));
        }
        // At the start of a line any [seconds.fraction] stamp is the kernel's, as before.
        assert_eq!(
            split_console_line("[    2.0] WARNING: x"),
            ("", vec![" WARNING: x"])
        );
        assert_eq!(split_console_line("\r"), ("", vec![]));
    }

    #[test]
    fn kunit_result_lines() {
        assert_eq!(
            parse_kunit_totals(" # ve_drv_card: pass:3 fail:0 skip:0 total:3"),
            Some((3, 0))
        );
        assert_eq!(
            parse_kunit_totals("     # param_test: pass:4 fail:1 skip:0 total:5"),
            Some((4, 1))
        );
        assert_eq!(
            parse_kunit_totals("garbage # s: pass:12 fail:0 skip:0 total:12ok 5 x"),
            Some((12, 0))
        );
        assert_eq!(
            parse_kunit_totals(" # Totals: pass:3 fail:0 skip:0 total:3"),
            None
        );
        assert_eq!(parse_kunit_totals(" # Subtest: ve_drv_card"), None);
        assert_eq!(parse_kunit_totals(" # a b: pass:3 fail:0"), None);
        assert_eq!(parse_kunit_totals(" # s: pass:x fail:0"), None);
        assert_eq!(parse_kunit_totals(" # s: pass:3"), None);
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

    #[test]
    fn gigantic_pages_only_on_request() {
        let none = HugePages::of_suite("#!/bin/sh\n").unwrap();
        assert_eq!(none, HugePages { giant: 0 });
        assert_eq!(none.kernel_args(), "hugepagesz=2M hugepages=160");
        assert_eq!(none.guest_mem_mib(), 3072);
        let one = HugePages::of_suite("#!/bin/sh\n# harness-hugepages-1g: 1\n").unwrap();
        assert_eq!(
            one.kernel_args(),
            "hugepagesz=1G hugepages=1 hugepagesz=2M hugepages=160"
        );
        assert_eq!(one.guest_mem_mib(), 4096);
        assert_eq!(HugePages::of_suite("# harness-hugepages-1g: 0\n"), Ok(none));
        assert!(HugePages::of_suite("# harness-hugepages-1g: one\n").is_err());
    }
}
