// SPDX-License-Identifier: GPL-2.0

//! ve_emudeath_test: the engine emulator dies (a test control makes it exit at the next doorbell;
//! QEMU cannot reconnect it). The transfer in flight fails with ETIMEDOUT, the engine does not
//! halt, so the driver keeps that transfer's pages pinned (a device that does not answer may still
//! write them) and says so, refuses later requests with EIO, and rmmod works. Run last in its own boot: the card is dead
//! afterwards.
//!
//! Needs `ve_drv` loaded with `emulator=1` (the suite script does it); unloads it.

use ve_guest::{
    dma::{
        open_card,
        submit,
        xfer, //
    },
    hw::emu,
    ksft::{
        ensure,
        ensure_errno,
        Tap, //
    },
    mem::{
        Backing,
        Buffer, //
    },
    nec::pins_held,
    sys::{
        self,
        errname, //
    },
};

const MIB: usize = 1 << 20;

fn main() {
    let mut t = Tap::new("ve_emudeath_test", 4);
    let held = pins_held();
    let (fd, c) = match open_card() {
        Ok(x) => x,
        Err(e) => t.bail("open /dev/ve0 and map the emulator's controls", e),
    };
    let a = Buffer::new(Backing::Anon4k, MIB).expect("buffer");
    let b = Buffer::new(Backing::Anon4k, MIB).expect("buffer");
    // A transfer that works first: the card is alive.
    let alive = xfer(&fd, true, a.addr(), 0, MIB as u64).map(|_| ());
    t.result(
        "a transfer before the emulator dies",
        alive.map_err(|(e, _)| errname(e)),
    );
    c.set(emu::OFF_CTL_DIE, 1);
    let start = std::time::Instant::now();
    // Its doorbell kills the emulator: nothing completes.
    let r = xfer(&fd, true, a.addr(), 0, MIB as u64).map(|_| ());
    let took = start.elapsed();
    t.result(
        "the transfer in flight when it dies fails with ETIMEDOUT within seconds",
        ensure_errno("XFER", r.map_err(|(e, _)| e), libc::ETIMEDOUT)
            .and_then(|()| ensure(took.as_secs() < 10, || format!("took {took:?}"))),
    );
    t.result(
        "a request submitted afterwards is refused with EIO: the engine did not halt, the card is out of service",
        (|| {
            let held = pins_held();
            ensure_errno(
                "SUBMIT",
                submit(&fd, false, b.addr(), 0, MIB as u64).map(|_| ()),
                libc::EIO,
            )?;
            ensure(pins_held() == held, || "the refused request pinned pages".into())
        })(),
    );
    drop(fd);
    let kept = pins_held() - held;
    println!(
        "# figure: emulator death: the transfer in flight failed (ETIMEDOUT), the next was refused (EIO), {kept} pages kept pinned by design"
    );
    t.result(
        "rmmod works; the pages of the requests the dead engine might still write stay pinned",
        (|| {
            sys::rmmod("ve_drv").map_err(|e| format!("rmmod: {}", errname(e)))?;
            ensure(kept > 0 && kept <= 256, || {
                format!("{kept} pages pinned, want 1..=256 (the dead transfer's pages)")
            })
        })(),
    );
    std::process::exit(t.finish());
}
