// SPDX-License-Identifier: GPL-2.0

//! kselftest-style TAP output (`tools/testing/selftests/kselftest.h`): a plan, one `ok`/`not ok`
//! line per test, `# SKIP` for skipped ones, diagnostics behind `#`, and kselftest exit codes.

/// kselftest exit codes.
pub const KSFT_PASS: i32 = 0;
/// At least one test failed.
pub const KSFT_FAIL: i32 = 1;
/// The whole program was skipped.
pub const KSFT_SKIP: i32 = 4;

/// Prints a diagnostic line (`# msg`), for cases, which do not hold the [`Tap`].
pub fn diag(msg: &str) {
    println!("# {msg}");
}

/// A running TAP report.
pub struct Tap {
    planned: usize,
    n: usize,
    passed: usize,
    failed: usize,
    skipped: usize,
}

impl Tap {
    /// Prints the header and the plan.
    pub fn new(program: &str, planned: usize) -> Self {
        println!("TAP version 13");
        println!("# {program}");
        println!("1..{planned}");
        Self {
            planned,
            n: 0,
            passed: 0,
            failed: 0,
            skipped: 0,
        }
    }

    /// Records one result.
    pub fn result(&mut self, name: &str, r: Result<(), String>) -> bool {
        self.n += 1;
        match r {
            Ok(()) => {
                self.passed += 1;
                println!("ok {} {name}", self.n);
                true
            }
            Err(why) => {
                self.failed += 1;
                for line in why.lines() {
                    println!("# {line}");
                }
                println!("not ok {} {name}", self.n);
                false
            }
        }
    }

    /// Records a skipped test.
    pub fn skip(&mut self, name: &str, why: &str) {
        self.n += 1;
        self.skipped += 1;
        println!("ok {} {name} # SKIP {why}", self.n);
    }

    /// Prints a diagnostic line.
    pub fn diag(&self, msg: &str) {
        println!("# {msg}");
    }

    /// Records `name` as failed with `why` (a set-up step the rest depends on), prints the totals
    /// and exits with the kselftest exit code.
    pub fn bail(mut self, name: &str, why: String) -> ! {
        self.result(name, Err(why));
        std::process::exit(self.finish())
    }

    /// Prints the totals and returns the kselftest exit code. Tests that were planned but never
    /// reported count as failures.
    pub fn finish(mut self) -> i32 {
        while self.n < self.planned {
            self.result(
                "(planned test not run)",
                Err("the program stopped early".into()),
            );
        }
        println!(
            "# Totals: pass:{} fail:{} xfail:0 xpass:0 skip:{} error:0",
            self.passed, self.failed, self.skipped
        );
        if self.failed > 0 {
            KSFT_FAIL
        } else {
            KSFT_PASS
        }
    }
}

/// `Err("file:line: msg")` unless `cond`; the location is the caller's (`#[track_caller]`), as
/// kselftest's `ASSERT_*` print `__FILE__:__LINE__`.
#[track_caller]
pub fn ensure(cond: bool, msg: impl FnOnce() -> String) -> Result<(), String> {
    let at = std::panic::Location::caller();
    if cond {
        Ok(())
    } else {
        Err(format!("{}:{}: {}", at.file(), at.line(), msg()))
    }
}

/// `Err` unless `got == want`.
#[track_caller]
pub fn ensure_eq<T: PartialEq + std::fmt::Debug>(
    what: &str,
    got: T,
    want: T,
) -> Result<(), String> {
    ensure(got == want, || {
        format!("{what}: got {got:?}, want {want:?}")
    })
}

/// `Err` unless `r` failed with exactly `want` (an errno).
#[track_caller]
pub fn ensure_errno<T: std::fmt::Debug>(
    what: &str,
    r: Result<T, i32>,
    want: i32,
) -> Result<(), String> {
    let at = std::panic::Location::caller();
    match r {
        Err(e) if e == want => Ok(()),
        Err(e) => Err(format!(
            "{}:{}: {what}: got {}, want {}",
            at.file(),
            at.line(),
            crate::sys::errname(e),
            crate::sys::errname(want)
        )),
        Ok(v) => Err(format!(
            "{}:{}: {what}: succeeded ({v:?}), want {}",
            at.file(),
            at.line(),
            crate::sys::errname(want)
        )),
    }
}

/// xorshift64*: the tests' reproducible randomness (the seed is printed for a replay).
pub struct Rng(pub u64);

impl Rng {
    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// One of `v`.
    pub fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[self.below(v.len() as u64) as usize]
    }
}

/// Parses `--name N` options into `opts` (name without dashes, value); anything else prints
/// `usage` and exits with 2.
pub fn numeric_args(usage: &str, opts: &mut [(&str, &mut u64)]) {
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let slot = a
            .strip_prefix("--")
            .and_then(|name| opts.iter_mut().find(|(n, _)| *n == name));
        match (slot, args.next().and_then(|v| v.parse::<u64>().ok())) {
            (Some((_, v)), Some(n)) => **v = n,
            _ => {
                eprintln!("usage: {usage}");
                std::process::exit(2);
            }
        }
    }
}
