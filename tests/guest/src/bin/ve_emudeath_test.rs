// SPDX-License-Identifier: GPL-2.0

//! ve_emudeath_test: the engine emulator dies (a test control makes it exit at the next doorbell;
//! QEMU cannot reconnect it). The transfer in flight fails with ETIMEDOUT, the engine does not
//! halt, so the driver keeps that transfer's pages pinned (a device that does not answer may still
//! write them) and says so, refuses later requests with EIO, and rmmod works. Run last in its own boot: the card is dead
//! afterwards.
//!
//! Needs `ve_drv` loaded with `emulator=1` (the suite script does it); unloads it.

use std::os::fd::OwnedFd;

use ve_guest::{
    dma::{
        open_card,
        submit,
        xfer, //
    },
    emubar::EmuBar,
    hw::emu,
    ksft::{
        ensure,
        ensure_errno, //
    },
    mem::{
        Backing,
        Buffer, //
    },
    nec::pins_held,
    suite::{
        Bail,
        Fixture,
        Outcome,
        Suite, //
    },
    sys::{
        self,
        errname, //
    },
};

const MIB: usize = 1 << 20;

/// The card, its emulator's controls and two buffers; the cases run in order on one card,
/// which the second one kills.
struct Fx {
    /// Pages pinned before the program.
    held: i64,
    fd: Option<OwnedFd>,
    c: EmuBar,
    a: Buffer,
    b: Buffer,
}

impl Fixture for Fx {}

impl Fx {
    fn fd(&self) -> Result<&OwnedFd, String> {
        self.fd
            .as_ref()
            .ok_or_else(|| "/dev/ve0 already closed".into())
    }
}

/// A transfer that works first: the card is alive.
fn alive(fx: &mut Fx) -> Outcome {
    xfer(fx.fd()?, true, fx.a.addr(), 0, MIB as u64).map_err(|(e, _)| errname(e))?;
    Ok(())
}

fn dies_in_flight(fx: &mut Fx) -> Outcome {
    fx.c.set(emu::OFF_CTL_DIE, 1);
    let start = std::time::Instant::now();
    // Its doorbell kills the emulator: nothing completes.
    let r = xfer(fx.fd()?, true, fx.a.addr(), 0, MIB as u64).map(|_| ());
    let took = start.elapsed();
    ensure_errno("XFER", r.map_err(|(e, _)| e), libc::ETIMEDOUT)?;
    ensure(took.as_secs() < 10, || format!("took {took:?}"))?;
    Ok(())
}

fn refused_after(fx: &mut Fx) -> Outcome {
    let held = pins_held();
    ensure_errno(
        "SUBMIT",
        submit(fx.fd()?, false, fx.b.addr(), 0, MIB as u64).map(|_| ()),
        libc::EIO,
    )?;
    ensure(pins_held() == held, || {
        "the refused request pinned pages".into()
    })?;
    Ok(())
}

fn rmmod_keeps_pins(fx: &mut Fx) -> Outcome {
    drop(fx.fd.take());
    let kept = pins_held() - fx.held;
    println!(
        "# figure: emulator death: the transfer in flight failed (ETIMEDOUT), the next was refused (EIO), {kept} pages kept pinned by design"
    );
    sys::rmmod("ve_drv").map_err(|e| format!("rmmod: {}", errname(e)))?;
    ensure(kept > 0 && kept <= 256, || {
        format!("{kept} pages pinned, want 1..=256 (the dead transfer's pages)")
    })?;
    Ok(())
}

fn main() {
    let suite = Suite::new("ve_emudeath_test")
        .case("a transfer before the emulator dies", alive)
        .case(
            "the transfer in flight when it dies fails with ETIMEDOUT within seconds",
            dies_in_flight,
        )
        .case(
            "a request submitted afterwards is refused with EIO: the engine did not halt, the card is out of service",
            refused_after,
        )
        .case(
            "rmmod works; the pages of the requests the dead engine might still write stay pinned",
            rmmod_keeps_pins,
        );
    std::process::exit(suite.run(|| {
        let held = pins_held();
        let (fd, c) =
            open_card().map_err(Bail::as_("open /dev/ve0 and map the emulator's controls"))?;
        let buffer = || Buffer::new(Backing::Anon4k, MIB).map_err(Bail::as_("buffers"));
        Ok(Fx {
            held,
            fd: Some(fd),
            c,
            a: buffer()?,
            b: buffer()?,
        })
    }));
}
