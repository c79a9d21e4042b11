// SPDX-License-Identifier: GPL-2.0

//! Host tests of `src/dma/engine.rs`: the engine's state machine and the pin-release rule.

use crate::engine::*;

/// Halts a state as the manager does: request, then judge the outcome.
fn halt(s: &mut EngineState, outcome: HaltOutcome) -> Reach {
    if !s.halt_requested() {
        return Reach::MayRun;
    }
    assert_eq!(*s, EngineState::Halting);
    s.halt_done(outcome)
}

#[test]
fn a_reported_halt_stops_the_engine() {
    for from in [
        EngineState::Halted,
        EngineState::Running,
        EngineState::Lent(3),
    ] {
        let mut s = from;
        assert_eq!(
            halt(&mut s, HaltOutcome::Halted),
            Reach::Stopped,
            "from {from:?}"
        );
        assert_eq!(s, EngineState::Halted);
        assert!(s.kernel_owns());
        assert_eq!(s.accept_request(), Ok(()));
    }
}

/// A halt that times out or finds the device gone means the ring may still run: dead, for good.
#[test]
fn a_failed_halt_kills_the_engine_for_good() {
    for outcome in [HaltOutcome::TimedOut, HaltOutcome::Gone] {
        for from in [
            EngineState::Halted,
            EngineState::Running,
            EngineState::Lent(1),
        ] {
            let mut s = from;
            assert_eq!(halt(&mut s, outcome), Reach::MayRun, "{from:?} {outcome:?}");
            assert_eq!(s, EngineState::Dead);
            assert!(!s.kernel_owns());
            assert_eq!(s.accept_request(), Err(Refusal::Dead));
            assert_eq!(s.lend(7), Err(Refusal::Dead));
            s.permitted();
            assert_eq!(
                s,
                EngineState::Dead,
                "permitting a dead engine changes nothing"
            );
            // A dead engine is not asked again, and a later "halted" does not revive it.
            assert!(!s.halt_requested());
            assert_eq!(s.halt_done(HaltOutcome::Halted), Reach::MayRun);
            assert_eq!(s, EngineState::Dead);
        }
    }
}

/// Lent from halted only; the lender's grant is told apart from a stale one; the kernel does not
/// post to a lent engine; taking it back goes through a halt.
#[test]
fn lending_and_taking_back() {
    let mut s = EngineState::Running;
    assert_eq!(
        s.lend(1),
        Err(Refusal::Busy),
        "only a halted engine is lent"
    );
    assert_eq!(halt(&mut s, HaltOutcome::Halted), Reach::Stopped);
    assert_eq!(s.lend(1), Ok(()));
    assert_eq!(s, EngineState::Lent(1));
    assert!(!s.kernel_owns());
    assert_eq!(s.accept_request(), Err(Refusal::Busy));
    assert_eq!(s.lend(2), Err(Refusal::Busy), "one mapping at a time");
    assert!(s.lent_to(Some(1)) && s.lent_to(None) && !s.lent_to(Some(2)));
    s.permitted();
    assert_eq!(
        s,
        EngineState::Lent(1),
        "the kernel does not permit a lent engine"
    );
    // Taken back: a good halt returns it to the kernel, a failed one kills it.
    let mut good = s;
    assert_eq!(halt(&mut good, HaltOutcome::Halted), Reach::Stopped);
    assert_eq!(good, EngineState::Halted);
    assert!(!good.lent_to(None));
    let mut bad = s;
    assert_eq!(halt(&mut bad, HaltOutcome::TimedOut), Reach::MayRun);
    assert_eq!(bad, EngineState::Dead);
}

#[test]
fn halting_is_transient() {
    let mut s = EngineState::Running;
    assert!(s.halt_requested());
    assert!(
        !s.kernel_owns(),
        "nothing is posted while a halt is pending"
    );
    assert_eq!(s.accept_request(), Err(Refusal::Busy));
    // A halt outcome that arrives in any other state than Halting is not trusted.
    let mut t = EngineState::Running;
    assert_eq!(t.halt_done(HaltOutcome::Halted), Reach::MayRun);
    assert_eq!(t, EngineState::Dead);
}

#[test]
fn running_after_permit() {
    let mut s = EngineState::Halted;
    s.permitted();
    assert_eq!(s, EngineState::Running);
    assert!(s.kernel_owns());
}

/// All ones is a device that went away, never HALT, though its HALT bit reads as set.
#[test]
fn status_classification() {
    assert_eq!(classify_status(u64::MAX), Status::Gone);
    assert_eq!(classify_status(0x2), Status::Halted);
    assert_eq!(classify_status(0x1), Status::Running);
    assert_eq!(classify_status(0x0), Status::Running);
    assert_eq!(classify_status(0x3), Status::Running);
    assert_eq!(classify_status(0xffff_fffe), Status::Halted);
}

/// The pin-release rule: a block goes when all its pieces completed, or when its request is
/// stopped with nothing in the ring; never while a piece of a running request, or any piece in
/// the ring of a stopped one, may still be reached.
#[test]
fn pin_release_rule() {
    // Pieces 0..8 of a request; a block of pieces 4..8 (until 8).
    assert!(may_release(8, 8, false, 3), "all its pieces completed");
    assert!(may_release(8, 9, false, 0));
    assert!(
        !may_release(8, 7, false, 0),
        "a running request may still post piece 7"
    );
    assert!(
        !may_release(8, 4, false, 4),
        "its head pieces are in the ring"
    );
    // The review's case: the head pieces posted, the tail pending, the request stopped.
    assert!(
        !may_release(8, 4, true, 2),
        "stopped, but two pieces are still in the ring: only a halt takes them out"
    );
    assert!(may_release(8, 4, true, 0), "stopped and out of the ring");
    assert!(
        may_release(8, 0, true, 0),
        "stopped before anything was posted"
    );
}

/// A card reset takes a halted engine out of everybody's hands and gives it back only if it
/// reads HALT afterwards; a dead engine stays dead; nothing else may begin a reset.
#[test]
fn a_card_reset_from_halted_only() {
    for from in [
        EngineState::Running,
        EngineState::Halting,
        EngineState::Lent(2),
    ] {
        let mut s = from;
        assert_eq!(s.begin_reset(), Err(Refusal::Busy), "from {from:?}");
        assert_eq!(s, from);
    }
    let mut dead = EngineState::Dead;
    assert_eq!(dead.begin_reset(), Err(Refusal::Dead));
    assert_eq!(dead.reset_done(Status::Halted), Reach::MayRun);
    assert_eq!(
        dead,
        EngineState::Dead,
        "a reset does not revive a dead engine"
    );

    let mut s = EngineState::Halted;
    assert_eq!(s.begin_reset(), Ok(()));
    assert_eq!(s, EngineState::Resetting);
    assert!(!s.kernel_owns());
    assert_eq!(s.accept_request(), Err(Refusal::Busy));
    assert_eq!(s.lend(1), Err(Refusal::Busy));
    assert_eq!(s.begin_reset(), Err(Refusal::Busy), "one reset at a time");
    s.permitted();
    assert_eq!(
        s,
        EngineState::Resetting,
        "nothing permits an engine under reset"
    );
    assert!(!s.halt_requested(), "the reset owns the registers");
    assert_eq!(s, EngineState::Resetting);

    let mut good = s;
    assert_eq!(good.reset_done(Status::Halted), Reach::Stopped);
    assert_eq!(good, EngineState::Halted);
    assert_eq!(good.accept_request(), Ok(()));
    for status in [Status::Running, Status::Gone] {
        let mut bad = s;
        assert_eq!(bad.reset_done(status), Reach::MayRun, "{status:?}");
        assert_eq!(bad, EngineState::Dead);
    }
}
