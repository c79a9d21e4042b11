// SPDX-License-Identifier: GPL-2.0

//! The shape of `tools/testing/selftests/kselftest_harness.h` in Rust: a program is a [`Suite`]
//! of named test functions over one fixture, the plan is computed from the table, cases can run
//! once per memory backing (the vfio suite's `FIXTURE_VARIANT`s) and are skipped where the
//! backing is missing, each case is isolated from a panic in another, and a case marked
//! balanced fails when it leaves pages pinned.
//!
//! ```text
//! struct Fx { fd: OwnedFd }            // FIXTURE
//! impl Fixture for Fx {}               // FIXTURE_SETUP/TEARDOWN per case (default: nothing)
//! fn round_trip(fx: &mut Fx, b: Backing) -> Outcome { ... }   // TEST_F over variants
//! fn errors(fx: &mut Fx) -> Outcome { ... }                    // TEST_F
//! Suite::new("ve_x_test")
//!     .per_backing(&BACKINGS, vec![Variant::new("{backing}: round trip", round_trip)])
//!     .balanced("argument errors", errors)
//!     .run(|| Ok(Fx { fd: open()? }))      // FIXTURE_SETUP once; a failure bails the plan
//! ```
//!
//! Isolation is by unwinding, not by fork: several programs keep state across cases on
//! purpose (pins that must outlive a case, a module loaded by the first case, a 1 GiB hugetlb
//! page that a forked child could not copy), so a case runs in the program's process and a
//! panic in it fails that case alone.

use std::{
    panic::{
        self,
        AssertUnwindSafe, //
    },
    sync::Once,
};

use crate::{
    ksft::Tap,
    mem::Backing, //
};

/// Why a case did not pass: a failure (with its diagnostic, `file:line:` first when it comes
/// from an `ensure*`) or a skip (with its reason).
#[derive(Debug, PartialEq, Eq)]
pub enum Fail {
    /// `not ok`.
    Fail(String),
    /// `ok ... # SKIP`.
    Skip(String),
}

impl From<String> for Fail {
    fn from(s: String) -> Self {
        Fail::Fail(s)
    }
}

impl From<&str> for Fail {
    fn from(s: &str) -> Self {
        Fail::Fail(s.into())
    }
}

/// What a case returns; `?` works on `Result<_, String>`.
pub type Outcome = Result<(), Fail>;

/// What a case function may return: an [`Outcome`], or a plain `Result<(), String>` for a case
/// that cannot skip (most of them).
pub trait IntoOutcome {
    /// The outcome.
    fn into_outcome(self) -> Outcome;
}

impl IntoOutcome for Outcome {
    fn into_outcome(self) -> Outcome {
        self
    }
}

impl IntoOutcome for Result<(), String> {
    fn into_outcome(self) -> Outcome {
        self.map_err(Fail::Fail)
    }
}

/// `Err(Fail::Skip(why))`, kselftest's `SKIP(return, why)`.
pub fn skip(why: impl Into<String>) -> Outcome {
    Err(Fail::Skip(why.into()))
}

/// Set-up and tear-down around every case (`FIXTURE_SETUP` / `FIXTURE_TEARDOWN`). The fixture
/// itself is made once by [`Suite::run`]'s set-up and dropped at the end.
pub trait Fixture {
    /// Before each case; an `Err` fails the case without running it.
    fn setup(&mut self) -> Result<(), String> {
        Ok(())
    }

    /// After each case, whatever its outcome (the emulator's controls reset, say); an `Err`
    /// fails a case that passed.
    fn teardown(&mut self) -> Result<(), String> {
        Ok(())
    }
}

type CaseFn<F> = Box<dyn Fn(&mut F) -> Outcome>;
type VariantFn<F> = Box<dyn Fn(&mut F, Backing) -> Outcome>;
type StepFn<F> = Box<dyn Fn(&mut F) -> Result<(), String>>;

/// A case over backings: its name (made per backing) and its function.
pub struct Variant<F> {
    name: Name,
    run: VariantFn<F>,
    balanced: bool,
}

enum Name {
    /// `{backing}` is replaced by [`Backing::name`].
    Template(&'static str),
    Made(fn(Backing) -> String),
}

impl Name {
    fn of(&self, b: Backing) -> String {
        match self {
            Name::Template(t) => t.replace("{backing}", b.name()),
            Name::Made(f) => f(b),
        }
    }
}

impl<F: 'static> Variant<F> {
    /// A case named by `template`, in which `{backing}` stands for the backing's name.
    pub fn new<T: IntoOutcome + 'static>(
        template: &'static str,
        run: fn(&mut F, Backing) -> T,
    ) -> Self {
        Self {
            name: Name::Template(template),
            run: Box::new(move |fx, b| run(fx, b).into_outcome()),
            balanced: false,
        }
    }

    /// A case whose name is made from the backing by `name`.
    pub fn named<T: IntoOutcome + 'static>(
        name: fn(Backing) -> String,
        run: fn(&mut F, Backing) -> T,
    ) -> Self {
        Self {
            name: Name::Made(name),
            run: Box::new(move |fx, b| run(fx, b).into_outcome()),
            balanced: false,
        }
    }

    /// Also checks that each run leaves nothing pinned.
    pub fn balanced(mut self) -> Self {
        self.balanced = true;
        self
    }
}

enum Entry<F> {
    Case {
        name: String,
        run: CaseFn<F>,
        balanced: bool,
    },
    /// Every variant for the first backing, then for the next (kselftest's order).
    PerBacking(Vec<Backing>, Vec<Variant<F>>),
    /// A set-up step between cases.
    Step { name: String, run: StepFn<F> },
}

/// A table of named cases over a fixture `F`, run in order, one TAP line each.
pub struct Suite<F> {
    program: String,
    entries: Vec<Entry<F>>,
    pins: fn() -> i64,
}

/// A set-up step that failed: the name of the TAP line it fails, and why. The other planned
/// cases are then reported as not run.
pub struct Bail {
    /// The test name of the failed step.
    pub name: String,
    /// Why it failed.
    pub why: String,
}

impl Bail {
    /// `Err` mapper for set-up steps: `open(...).map_err(Bail::as_("open /dev/ve0"))?`.
    pub fn as_<E: std::fmt::Display>(name: &str) -> impl FnOnce(E) -> Bail + '_ {
        move |e| Bail {
            name: name.into(),
            why: e.to_string(),
        }
    }
}

impl<F: Fixture + 'static> Suite<F> {
    /// An empty suite; the TAP header names `program`.
    pub fn new(program: impl Into<String>) -> Self {
        Self {
            program: program.into(),
            entries: Vec::new(),
            pins: crate::nec::pins_held,
        }
    }

    /// Adds a case.
    pub fn case<T: IntoOutcome + 'static>(
        self,
        name: impl Into<String>,
        run: fn(&mut F) -> T,
    ) -> Self {
        self.push(name.into(), run, false)
    }

    fn push<T: IntoOutcome + 'static>(
        mut self,
        name: String,
        run: fn(&mut F) -> T,
        balanced: bool,
    ) -> Self {
        self.entries.push(Entry::Case {
            name,
            run: Box::new(move |fx| run(fx).into_outcome()),
            balanced,
        });
        self
    }

    /// Adds a case that must also leave nothing pinned: the kernel's pinned pages
    /// (`nr_foll_pin_acquired - nr_foll_pin_released`) after it equal those before it.
    pub fn balanced<T: IntoOutcome + 'static>(
        self,
        name: impl Into<String>,
        run: fn(&mut F) -> T,
    ) -> Self {
        self.push(name.into(), run, true)
    }

    /// Adds `cases` for each of `backings`: all of them for the first backing, then for the
    /// next. A hugetlb backing with no free page here skips its cases
    /// ([`Backing::unavailable`]).
    pub fn per_backing(mut self, backings: &[Backing], cases: Vec<Variant<F>>) -> Self {
        self.entries
            .push(Entry::PerBacking(backings.to_vec(), cases));
        self
    }

    /// Adds a set-up step between cases (a module loaded with other parameters, a file opened
    /// for the cases after it): not a test of its own; if it fails, it is reported as a failed
    /// test named `name` and the cases after it are not run (the plan counts them as failed),
    /// as kselftest's harness does when `FIXTURE_SETUP` fails.
    pub fn step(mut self, name: impl Into<String>, run: fn(&mut F) -> Result<(), String>) -> Self {
        self.entries.push(Entry::Step {
            name: name.into(),
            run: Box::new(run),
        });
        self
    }

    /// Replaces the pinned-pages counter (for the host's unit tests).
    pub fn with_pin_counter(mut self, pins: fn() -> i64) -> Self {
        self.pins = pins;
        self
    }

    /// The number of TAP lines the table makes: kselftest's plan.
    pub fn plan(&self) -> usize {
        self.entries
            .iter()
            .map(|e| match e {
                Entry::Case { .. } => 1,
                Entry::PerBacking(b, c) => b.len() * c.len(),
                Entry::Step { .. } => 0,
            })
            .sum()
    }

    /// Prints the plan, makes the fixture with `setup` (a failure there is reported as the first
    /// test and ends the program's report), runs every case and returns the kselftest exit code
    /// (for `std::process::exit`).
    pub fn run(self, setup: impl FnOnce() -> Result<F, Bail>) -> i32 {
        let mut t = Tap::new(&self.program, self.plan());
        let mut fx = match setup() {
            Ok(fx) => fx,
            Err(b) => {
                t.result(&b.name, Err(b.why));
                return t.finish();
            }
        };
        self.run_with(&mut t, &mut fx);
        drop(fx);
        t.finish()
    }

    /// Runs every case on a fixture made by the caller, reporting into `t` (for programs that
    /// report steps of their own around the table).
    pub fn run_with(&self, t: &mut Tap, fx: &mut F) {
        self.each(fx, |name, o| report(t, name, o));
    }

    /// Runs every case in order and hands each name and outcome to `out`.
    fn each(&self, fx: &mut F, mut out: impl FnMut(&str, Outcome)) {
        install_panic_hook();
        for e in &self.entries {
            match e {
                Entry::Case {
                    name,
                    run,
                    balanced,
                } => {
                    let o = self.one(fx, *balanced, |fx| run(fx));
                    out(name, o);
                }
                Entry::Step { name, run } => {
                    if let Err(f) = isolated(|| Ok(run(fx)?)) {
                        out(name, Err(f));
                        return;
                    }
                }
                Entry::PerBacking(backings, cases) => {
                    for &b in backings {
                        for v in cases {
                            let name = v.name.of(b);
                            let o = match b.unavailable() {
                                Some(why) => Err(Fail::Skip(why)),
                                None => self.one(fx, v.balanced, |fx| (v.run)(fx, b)),
                            };
                            out(&name, o);
                        }
                    }
                }
            }
        }
    }

    /// One case with the fixture's set-up and tear-down, the pin check and panic isolation.
    fn one(&self, fx: &mut F, balanced: bool, run: impl FnOnce(&mut F) -> Outcome) -> Outcome {
        isolated(|| Ok(fx.setup()?))?;
        let held = balanced.then(self.pins);
        let mut o = isolated(|| run(&mut *fx));
        let down = isolated(|| Ok(fx.teardown()?));
        if o.is_ok() {
            o = down;
        }
        if let (Ok(()), Some(held)) = (&o, held) {
            o = isolated(|| {
                Ok(crate::ksft::ensure_eq(
                    "pins held after the test",
                    (self.pins)() - held,
                    0,
                )?)
            });
        }
        o
    }
}

fn report(t: &mut Tap, name: &str, o: Outcome) {
    match o {
        Ok(()) => {
            t.result(name, Ok(()));
        }
        Err(Fail::Fail(why)) => {
            t.result(name, Err(why));
        }
        Err(Fail::Skip(why)) => t.skip(name, &why),
    }
}

std::thread_local! {
    /// The thread's last panic, `file:line: message`, kept by the hook for the case that
    /// caught it.
    static LAST_PANIC: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let msg = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_default();
            let at = info
                .location()
                .map(|l| format!("{}:{}: ", l.file(), l.line()))
                .unwrap_or_default();
            LAST_PANIC.set(Some(format!("{at}panicked: {msg}")));
            default(info);
        }));
    });
}

/// Runs `f`; a panic in it becomes a failure naming where it panicked.
fn isolated(f: impl FnOnce() -> Outcome) -> Outcome {
    LAST_PANIC.set(None);
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(o) => o,
        Err(_) => Err(Fail::Fail(
            LAST_PANIC.take().unwrap_or_else(|| "panicked".into()),
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{
        AtomicI64,
        Ordering, //
    };

    use super::*;
    use crate::ksft::ensure_eq;

    #[derive(Default)]
    struct Fx {
        log: Vec<String>,
        fail_teardown: bool,
    }

    impl Fixture for Fx {
        fn setup(&mut self) -> Result<(), String> {
            self.log.push("setup".into());
            Ok(())
        }

        fn teardown(&mut self) -> Result<(), String> {
            self.log.push("teardown".into());
            if self.fail_teardown {
                return Err("teardown failed".into());
            }
            Ok(())
        }
    }

    fn outcomes(s: &Suite<Fx>, fx: &mut Fx) -> Vec<(String, Outcome)> {
        let mut v = Vec::new();
        s.each(fx, |n, o| v.push((n.to_string(), o)));
        v
    }

    fn pass(fx: &mut Fx) -> Outcome {
        fx.log.push("pass".into());
        Ok(())
    }

    fn fails(_: &mut Fx) -> Outcome {
        ensure_eq("value", 1, 2)?;
        Ok(())
    }

    fn panics(_: &mut Fx) -> Outcome {
        panic!("boom");
    }

    fn skips(_: &mut Fx) -> Outcome {
        skip("not here")
    }

    fn per(fx: &mut Fx, b: Backing) -> Outcome {
        fx.log.push(b.name().into());
        Ok(())
    }

    /// The plan counts plain cases once and variants once per backing, and the names are made
    /// per backing in kselftest's order (every case of a backing, then the next backing).
    #[test]
    fn plan_and_variant_names() {
        let s = Suite::<Fx>::new("t")
            .per_backing(
                &[Backing::Anon4k, Backing::Thp],
                vec![
                    Variant::new("{backing}: a", per),
                    Variant::named(|b| format!("b over {}", b.name()), per),
                ],
            )
            .case("c", pass);
        assert_eq!(s.plan(), 5);
        let mut fx = Fx::default();
        let names: Vec<_> = outcomes(&s, &mut fx).into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            ["anon_4k: a", "b over anon_4k", "thp: a", "b over thp", "c"]
        );
    }

    /// A failing assertion names its file and line; a panic fails its case alone, and the
    /// cases after it still run; a skip is a skip.
    #[test]
    fn outcomes_and_isolation() {
        let s = Suite::<Fx>::new("t")
            .case("fails", fails)
            .case("panics", panics)
            .case("skips", skips)
            .case("passes", pass);
        let mut fx = Fx::default();
        let o = outcomes(&s, &mut fx);
        let Err(Fail::Fail(why)) = &o[0].1 else {
            panic!("{:?}", o[0])
        };
        assert!(
            why.starts_with(&format!("{}:", file!())) && why.ends_with("value: got 1, want 2"),
            "{why}"
        );
        let Err(Fail::Fail(why)) = &o[1].1 else {
            panic!("{:?}", o[1])
        };
        assert!(
            why.contains(file!()) && why.ends_with("panicked: boom"),
            "{why}"
        );
        assert_eq!(o[2].1, Err(Fail::Skip("not here".into())));
        assert_eq!(o[3].1, Ok(()));
        // Set-up and tear-down around every case, also the failed ones.
        assert_eq!(fx.log.iter().filter(|l| *l == "setup").count(), 4);
        assert_eq!(fx.log.iter().filter(|l| *l == "teardown").count(), 4);
    }

    fn step_fails(_: &mut Fx) -> Result<(), String> {
        Err("no module".into())
    }

    /// A step is no test while it works; when it fails, it is reported and nothing after it
    /// runs.
    #[test]
    fn steps() {
        let ok = |_: &mut Fx| Ok(());
        let s = Suite::<Fx>::new("t")
            .case("a", pass)
            .step("works", ok)
            .case("b", pass)
            .step("insmod", step_fails)
            .case("c", pass);
        assert_eq!(s.plan(), 3);
        let o = outcomes(&s, &mut Fx::default());
        let names: Vec<_> = o.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["a", "b", "insmod"]);
        assert_eq!(o[2].1, Err(Fail::Fail("no module".into())));
    }

    /// A failing tear-down fails a case that passed and does not hide a case's own failure.
    #[test]
    fn teardown_failure() {
        let s = Suite::<Fx>::new("t")
            .case("passes", pass)
            .case("fails", fails);
        let mut fx = Fx {
            fail_teardown: true,
            ..Fx::default()
        };
        let o = outcomes(&s, &mut fx);
        assert_eq!(o[0].1, Err(Fail::Fail("teardown failed".into())));
        let Err(Fail::Fail(why)) = &o[1].1 else {
            panic!("{:?}", o[1])
        };
        assert!(why.ends_with("value: got 1, want 2"), "{why}");
    }

    static PINS: AtomicI64 = AtomicI64::new(0);

    fn leaks(_: &mut Fx) -> Outcome {
        PINS.fetch_add(3, Ordering::SeqCst);
        Ok(())
    }

    /// A balanced case that leaves pages pinned fails; an unbalanced one does not look.
    #[test]
    fn pin_balance() {
        let s = Suite::<Fx>::new("t")
            .with_pin_counter(|| PINS.load(Ordering::SeqCst))
            .balanced("balanced, leaks", leaks)
            .case("unchecked, leaks", leaks)
            .balanced("balanced, clean", pass);
        let o = outcomes(&s, &mut Fx::default());
        let Err(Fail::Fail(why)) = &o[0].1 else {
            panic!("{:?}", o[0])
        };
        assert!(
            why.ends_with("pins held after the test: got 3, want 0"),
            "{why}"
        );
        assert_eq!(o[1].1, Ok(()));
        assert_eq!(o[2].1, Ok(()));
    }

    /// Anonymous memory, THP and shmem are always there; hugetlb is skipped only with no free
    /// page of its size.
    #[test]
    fn availability() {
        assert_eq!(Backing::Anon4k.unavailable(), None);
        assert_eq!(Backing::Thp.unavailable(), None);
        assert_eq!(Backing::Shmem.unavailable(), None);
    }
}
