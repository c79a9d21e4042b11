// SPDX-License-Identifier: GPL-2.0

//! Who drives the privileged DMA engine, and what a halt that failed means: the engine's state
//! machine, in one place. `core` only, unit-tested on the host.
//!
//! ```text
//!            post + permit                   halt requested
//!   Halted ----------------> Running  ---------------------------> Halting
//!     ^  ^                                                           |  |
//!     |  +----------------------- HALT reported --------------------+  |
//!     |                                                                 | no HALT in time, or
//!     | lend (no request,          take back: HALT reported             | the device reads as
//!     | ring empty)  -> Lent(g) --------------------------------> Halted| all ones
//!     |                  |                                              v
//!     |                  +---- take back: no HALT -------------------> Dead
//!     |
//!     | card reset (VE_VE_RESET) from Halted -> Resetting: DMACTL reads HALT after the reset
//!     +-------------------------------------------+        otherwise ---------------> Dead
//! ```
//!
//! `Dead` is final until the card is unbound (a card reset does not revive it): an engine that did not stop when told to may
//! still run every descriptor in its ring, so nothing those descriptors can reach is ever
//! unpinned, nothing new is posted and the engine is lent to nobody.
//!
//! The pin-release rule (docs/design.md) rests on this: pages that a posted descriptor can reach
//! are released only when that descriptor completed (the read pointer passed it) or after
//! [`EngineState::halt_done`] returned [`Reach::Stopped`].

/// DMACTL word 0 status bits (`hw::dmactl::STATUS_MASK`) that mean HALT.
const STATUS_MASK: u64 = 0x3;
const STATUS_HALT: u64 = 0x2;

/// What the privileged DMA engine is doing, as far as the driver knows.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum EngineState {
    /// The kernel manager owns the engine; it is halted: nothing posted runs.
    Halted,
    /// The kernel manager owns the engine and has permitted it to run what is posted.
    Running,
    /// The permit bit was cleared; the engine has not reported HALT yet.
    Halting,
    /// A user-space manager (NEC's register mapping) owns the engine, by grant `.0`.
    Lent(u64),
    /// The card is being reset (`VE_VE_RESET`): the engine was halted and its ring emptied before
    /// the reset began; nobody posts to it or borrows it until the reset ends.
    Resetting,
    /// The engine did not halt when told to, or the device stopped answering: it may still run
    /// anything in its ring. Final until unbind.
    Dead,
}

/// How a halt request ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum HaltOutcome {
    /// The engine reported HALT.
    Halted,
    /// No HALT within the halt timeout.
    TimedOut,
    /// The registers read as all ones: the device is gone (surprise removal, a dead link).
    Gone,
}

/// What the descriptors in the ring may still do after a halt request.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum Reach {
    /// The engine is halted: no descriptor runs until the driver permits it again. Pages of
    /// descriptors taken out of the ring may be released.
    Stopped,
    /// The engine may still run any descriptor in its ring: keep every page they can reach.
    MayRun,
}

/// Why the engine cannot be used for what was asked.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Another owner has it (a user-space manager, or the kernel manager with work).
    Busy,
    /// The engine is dead.
    Dead,
}

/// DMACTL word 0 as read.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// HALT.
    Halted,
    /// Anything else that a working device reports.
    Running,
    /// All ones: reads of a device that is no longer there.
    Gone,
}

/// Classifies a raw DMACTL word 0. An all-ones read is a device that went away, never HALT
/// (its HALT bit would be set too).
pub const fn classify_status(ctl0: u64) -> Status {
    if ctl0 == u64::MAX {
        Status::Gone
    } else if ctl0 & STATUS_MASK == STATUS_HALT {
        Status::Halted
    } else {
        Status::Running
    }
}

impl EngineState {
    /// Whether the kernel manager may post descriptors and permit the engine.
    pub const fn kernel_owns(self) -> bool {
        matches!(self, Self::Halted | Self::Running)
    }

    /// Whether the engine is dead.
    pub const fn is_dead(self) -> bool {
        matches!(self, Self::Dead)
    }

    /// Whether the kernel manager may open a new request: `Busy` while lent, `Dead` once dead.
    pub const fn accept_request(self) -> Result<(), Refusal> {
        match self {
            Self::Halted | Self::Running => Ok(()),
            Self::Lent(_) | Self::Halting | Self::Resetting => Err(Refusal::Busy),
            Self::Dead => Err(Refusal::Dead),
        }
    }

    /// The kernel manager permitted the engine to run what it posted.
    pub fn permitted(&mut self) {
        if self.kernel_owns() {
            *self = Self::Running;
        }
    }

    /// The permit bit is being cleared. Returns `false` (and changes nothing) if the engine is
    /// dead (a dead engine is never asked again) or being reset (its ring is empty and the reset
    /// owns its registers).
    pub fn halt_requested(&mut self) -> bool {
        if matches!(self, Self::Dead | Self::Resetting) {
            return false;
        }
        *self = Self::Halting;
        true
    }

    /// The one place that decides what a halt request's outcome means. `Halted` when the engine
    /// reported HALT; otherwise the engine is `Dead` and may still run its ring.
    pub fn halt_done(&mut self, outcome: HaltOutcome) -> Reach {
        match (*self, outcome) {
            (Self::Halting, HaltOutcome::Halted) => {
                *self = Self::Halted;
                Reach::Stopped
            }
            _ => {
                *self = Self::Dead;
                Reach::MayRun
            }
        }
    }

    /// Lends the engine to a user-space manager as grant `grant`. Only from `Halted`: the caller
    /// halts it first, and has no request and an empty ring.
    pub fn lend(&mut self, grant: u64) -> Result<(), Refusal> {
        match *self {
            Self::Halted => {
                *self = Self::Lent(grant);
                Ok(())
            }
            Self::Dead => Err(Refusal::Dead),
            _ => Err(Refusal::Busy),
        }
    }

    /// A card reset begins. Only from `Halted`: the caller halted the engine, took it back from
    /// user space and emptied its ring. `Dead` stays dead (a reset does not make the driver trust
    /// a ring it could not stop); anything else is `Busy`.
    pub fn begin_reset(&mut self) -> Result<(), Refusal> {
        match *self {
            Self::Halted => {
                *self = Self::Resetting;
                Ok(())
            }
            Self::Dead => Err(Refusal::Dead),
            _ => Err(Refusal::Busy),
        }
    }

    /// The card reset ended and DMACTL word 0 read `status`: `Halted` (the engine is the kernel's
    /// again) only if it reads HALT, as an engine out of reset must; otherwise `Dead`. Nothing
    /// unless a reset was under way.
    pub fn reset_done(&mut self, status: Status) -> Reach {
        match (*self, status) {
            (Self::Resetting, Status::Halted) => {
                *self = Self::Halted;
                Reach::Stopped
            }
            (Self::Resetting, _) => {
                *self = Self::Dead;
                Reach::MayRun
            }
            (s, _) if s.kernel_owns() => Reach::Stopped,
            _ => Reach::MayRun,
        }
    }

    /// Whether the engine is lent, to `grant` if given (a stale grant's end does not end a newer
    /// one), or to anyone.
    pub const fn lent_to(self, grant: Option<u64>) -> bool {
        match (self, grant) {
            (Self::Lent(g), Some(want)) => g == want,
            (Self::Lent(_), None) => true,
            _ => false,
        }
    }
}

/// The pin-release rule for one block of a request's pinned pages, whose pieces (descriptors)
/// are the request's pieces `..until` (counted from the request's first). `done` pieces of the
/// request have completed (the engine's read pointer passed them; a request's pieces complete in
/// order). `stopped`: the request will post nothing more; `in_ring`: its pieces in the ring.
///
/// The block may be unpinned when every piece of it completed, or when the request is stopped
/// and none of its pieces is in the ring: pieces taken out of the ring were taken out while the
/// engine was halted ([`Reach::Stopped`]), and pieces never posted never will be.
pub const fn may_release(until: u64, done: u64, stopped: bool, in_ring: usize) -> bool {
    until <= done || (stopped && in_ring == 0)
}
