// SPDX-License-Identifier: GPL-2.0

//! ve_cores_test: the VE cores' exception path and every VE1 MSI-X entry, against the engine
//! emulator presenting a VE1 or a VE3 (`ve-harness --variant`; on a VE3 the cores' registers are
//! at VE3's offsets in BAR4, their bits in INTVEC0, and the other entries are VE3's three, which
//! report their INTVEC registers). Each enabled core raises an exception (an emulator control): the driver counts it,
//! clears the core's INTVEC bit, the core's EXS reads halted with the cause, and the card reported
//! the EXS to the core's EXSRAR slot in host memory, which `RST_EXSRAR_MEM` zeroes; storms of
//! spurious interrupts on a core entry and on an error entry are survived; the fault, PCI access
//! exception, hardware error and user DMA entries reach `WAIT_INTR`'s pending bits; unbinding the
//! card stops every core and disables every EXSRAR (an exception afterwards writes nothing to host
//! memory), and binding it again programs them afresh.
//!
//! Needs `ve_drv` loaded with `emulator=1 test_ioctls=1` (the suite script does it): the driver's
//! view of a core comes from the test-only `VE_DRV_IOC_CORE_STATE`.

use std::os::fd::OwnedFd;

use ve_guest::{
    dma::open_card,
    emubar::{
        map_bar2,
        EmuBar, //
    },
    hw::{
        emu,
        exs,
        exsrar,
        pci_id,
        scr,
        ve1,
        ve3, //
    },
    ksft::{
        ensure,
        ensure_eq,
        ensure_errno, //
    },
    mem::Mapping,
    suite::{
        Bail,
        Fixture,
        Suite, //
    },
    sys::{
        self,
        errname, //
    },
    uapi::{
        self,
        Ve1CompatWaitIrq,
        VeDrvCoreState, //
    },
    userdma, veos,
};

const NODE: &str = "/dev/ve0";

type R = Result<(), String>;

/// The card, the emulator's block and the cores' register areas of BAR2.
struct Fx {
    fd: Option<OwnedFd>,
    c: EmuBar,
    /// BAR2 from 0: every emulated core's registers (VE1's BAR2 or VE3's BAR4 image).
    regs: Mapping,
    /// The emulator presents a VE3.
    ve3: bool,
}

impl Fixture for Fx {}

impl Fx {
    fn fd(&self) -> Result<&OwnedFd, String> {
        self.fd.as_ref().ok_or_else(|| "/dev/ve0 closed".into())
    }

    fn reg(&self, off: usize) -> u64 {
        assert!(off % 8 == 0 && off < emu::CORES * ve1::CORE_AREA);
        // SAFETY: an aligned word inside the mapping (checked above).
        unsafe { self.regs.ptr().add(off).cast::<u64>().read_volatile() }
    }

    fn set_reg(&self, off: usize, v: u64) {
        assert!(off % 8 == 0 && off < emu::CORES * ve1::CORE_AREA);
        // SAFETY: as in `reg`.
        unsafe { self.regs.ptr().add(off).cast::<u64>().write_volatile(v) }
    }

    /// Offset of core `n`'s EXS in the emulator's BAR2.
    fn exs(&self, n: u32) -> usize {
        if self.ve3 {
            emu::VE3_BAR4_IMAGE + ve3::exs_offset(n as usize)
        } else {
            ve1::exs_offset(n as usize)
        }
    }

    /// Offset of core `n`'s EXSRAR in the emulator's BAR2.
    fn exsrar(&self, n: u32) -> usize {
        if self.ve3 {
            emu::VE3_BAR4_IMAGE + ve3::exsrar_offset(n as usize)
        } else {
            ve1::exsrar_offset(n as usize)
        }
    }

    fn core(&self, core: u32) -> Result<VeDrvCoreState, String> {
        let mut s = VeDrvCoreState {
            core,
            ..Default::default()
        };
        sys::ioctl(self.fd()?, uapi::VE_DRV_IOC_CORE_STATE, &mut s)
            .map_err(|e| format!("CORE_STATE {core}: {}", errname(e)))?;
        Ok(s)
    }

    /// Asks the emulator for `req` on `entry` and waits until it has acted. `kick` rings the
    /// doorbell through the driver; without it (the card unbound) through the ivshmem BAR0.
    fn raise(&self, req: u64, entry: u32, cause: u64, count: u64, kick: bool) -> R {
        let before = self.c.get(emu::OFF_CNT_RAISED);
        self.c.set(emu::OFF_CTL_RAISE_ENTRY, entry.into());
        self.c.set(emu::OFF_CTL_RAISE_EXS, cause);
        self.c.set(emu::OFF_CTL_RAISE_COUNT, count);
        self.c.set(emu::OFF_CTL_RAISE, req);
        if kick {
            sys::ioctl_raw(self.fd()?, uapi::VE_DRV_IOC_KICK, 0)
                .map_err(|e| format!("kick: {}", errname(e)))?;
        } else {
            ring_doorbell(&self.c)?;
        }
        ensure(
            sys::wait_for(2000, || self.c.get(emu::OFF_CNT_RAISED) > before),
            || format!("the emulator did not serve raise request {req} on entry {entry}"),
        )
    }
}

/// The enabled cores: the emulator's VCR word 1 bitmap.
fn cores(c: &EmuBar) -> Vec<u32> {
    let w1 = (c.get(emu::OFF_VCR) >> 32) as u32;
    (0..emu::CORES as u32)
        .filter(|&n| w1 & 0xff_ffff & (1 << n) != 0)
        .collect()
}

/// The emulator's doorbell (vector 0 of its peer) through the ivshmem device's BAR0, for when no
/// driver is bound.
fn ring_doorbell(c: &EmuBar) -> R {
    let peer = (c.get(emu::OFF_ABI_VERSION) >> 32) as u32;
    let bdf = card_bdf()?;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(format!("/sys/bus/pci/devices/{bdf}/resource0"))
        .map_err(|e| format!("resource0: {e}"))?;
    let m = Mapping::shared(&f, 0, 4096, libc::PROT_READ | libc::PROT_WRITE)
        .map_err(|e| format!("mmap resource0: {}", errname(e)))?;
    // SAFETY: the doorbell register (offset 12) of the mapped 4 KiB page, written whole.
    unsafe { m.ptr().add(12).cast::<u32>().write_volatile(peer << 16) };
    Ok(())
}

fn card_bdf() -> Result<String, String> {
    sys::find_pci(pci_id::VENDOR_REDHAT_QUMRANET, pci_id::DEVICE_IVSHMEM)
        .ok_or_else(|| "no ivshmem device".into())
}

/// The cause bits core `core` raises with in these tests.
fn cause(core: u32) -> u64 {
    (0x1234_0000_0000_0000 | (u64::from(core) << 32) | 0x100) & exs::CAUSE_MASK
}

/// Probe programmed every enabled core's EXSRAR with its own 8-byte slot of one buffer, enabled.
fn exsrar_programmed(fx: &mut Fx) -> R {
    let cs = cores(&fx.c);
    ensure(!cs.is_empty(), || "no enabled core".into())?;
    let first = fx.reg(fx.exsrar(cs[0]));
    let base = exsrar::slot(first).ok_or("core's EXSRAR not enabled")? - 8 * u64::from(cs[0]);
    for &n in &cs {
        let v = fx.reg(fx.exsrar(n));
        ensure_eq(
            &format!("core {n} EXSRAR"),
            v,
            exsrar::enabled(base + 8 * u64::from(n)),
        )?;
    }
    Ok(())
}

/// EXS is what VEOS writes: RUN reads running, STOP halted, through the driver's read.
fn exs_run_and_stop(fx: &mut Fx) -> R {
    let n = cores(&fx.c)[0];
    let off = fx.exs(n);
    fx.set_reg(off, exs::RUN);
    ensure_eq(
        "EXS after RUN",
        exs::run_state(fx.core(n)?.exs),
        exs::RunState::Running,
    )?;
    fx.set_reg(off, exs::STOP);
    ensure_eq(
        "EXS after STOP",
        exs::run_state(fx.core(n)?.exs),
        exs::RunState::Halted,
    )?;
    Ok(())
}

/// Every enabled core, running, raises an exception: counted once, INTVEC bit cleared, EXS
/// halted with the cause, the same value in its EXSRAR slot; the other cores' counts unmoved.
fn exception_on_each_core(fx: &mut Fx) -> R {
    let cs = cores(&fx.c);
    let writes = fx.c.get(emu::OFF_CNT_EXSRAR_WRITES);
    for &n in &cs {
        let before: Vec<u64> = cs
            .iter()
            .map(|&m| fx.core(m).map(|s| s.count))
            .collect::<Result<_, _>>()?;
        fx.set_reg(fx.exs(n), exs::RUN);
        fx.raise(emu::RAISE_EXCEPTION, n, cause(n), 0, true)?;
        let want = exs::halted(cause(n));
        ensure(
            sys::wait_for(2000, || {
                fx.core(n)
                    .is_ok_and(|s| s.count > before[cs.iter().position(|&m| m == n).unwrap_or(0)])
            }),
            || format!("core {n}: the driver counted no interrupt"),
        )?;
        let s = fx.core(n)?;
        for (i, &m) in cs.iter().enumerate() {
            let want_count = before[i] + u64::from(m == n);
            ensure_eq(
                &format!("core {m} count after core {n}'s exception"),
                fx.core(m)?.count,
                want_count,
            )?;
        }
        ensure_eq(&format!("core {n} EXS"), s.exs, want)?;
        ensure_eq(&format!("core {n} EXSRAR slot"), s.exsrar_slot, want)?;
        ensure(s.intvec & scr::intvec_bit(n) == 0, || {
            format!("core {n}: INTVEC bit still set ({:#x})", s.intvec)
        })?;
        ensure_eq(&format!("core {n} wake (no task assigned)"), s.wake, 0)?;
    }
    ensure_eq(
        "EXSRAR writes by the emulator",
        fx.c.get(emu::OFF_CNT_EXSRAR_WRITES),
        writes + cs.len() as u64,
    )?;
    ensure_eq(
        "raise requests refused",
        fx.c.get(emu::OFF_CNT_RAISE_BAD),
        0,
    )?;
    println!(
        "# figure: cores: {} cores raised an exception each; counted, INTVEC cleared, EXS reported to EXSRAR",
        cs.len()
    );
    Ok(())
}

/// `RST_EXSRAR_MEM` zeroes a core's slot; `EINVAL` at and above the highest enabled core + 1 and
/// for a negative core.
fn rst_exsrar_mem(fx: &mut Fx) -> R {
    let cs = cores(&fx.c);
    let n = cs[0];
    fx.raise(emu::RAISE_EXCEPTION, n, cause(n), 0, true)?;
    ensure(
        sys::wait_for(2000, || fx.core(n).is_ok_and(|s| s.exsrar_slot != 0)),
        || "slot not written".into(),
    )?;
    veos::by_value(fx.fd()?, uapi::VEDRV_CMD_RST_EXSRAR_MEM, n.into())
        .map_err(|e| format!("RST_EXSRAR_MEM: {}", errname(e)))?;
    ensure_eq("slot after RST_EXSRAR_MEM", fx.core(n)?.exsrar_slot, 0)?;
    let fls = cs.iter().max().copied().unwrap_or(0) + 1;
    ensure_errno(
        "RST_EXSRAR_MEM(core_fls)",
        veos::by_value(fx.fd()?, uapi::VEDRV_CMD_RST_EXSRAR_MEM, fls.into()),
        libc::EINVAL,
    )?;
    ensure_errno(
        "RST_EXSRAR_MEM(-1)",
        veos::by_value(fx.fd()?, uapi::VEDRV_CMD_RST_EXSRAR_MEM, -1),
        libc::EINVAL,
    )
}

/// Waits until `f` stops changing for 300 ms (at most 5 s); returns its last value.
fn settle(mut f: impl FnMut() -> u64) -> u64 {
    let mut last = f();
    let start = std::time::Instant::now();
    let mut still = std::time::Instant::now();
    while start.elapsed().as_secs() < 5 && still.elapsed().as_millis() < 300 {
        std::thread::sleep(std::time::Duration::from_millis(20));
        let v = f();
        if v != last {
            last = v;
            still = std::time::Instant::now();
        }
    }
    last
}

/// A storm of 500 spurious interrupts on a core entry (no INTVEC bit, no exception): counted as
/// NEC counts them (at most one per interrupt; signals coalesce), nothing else changes, and the
/// core and the privileged DMA path work afterwards.
fn storm_on_core_entry(fx: &mut Fx) -> R {
    let n = *cores(&fx.c).last().ok_or("no core")?;
    let before = fx.core(n)?.count;
    fx.raise(emu::RAISE_SPURIOUS, n, 0, 500, true)?;
    let after = settle(|| fx.core(n).map_or(0, |s| s.count));
    let got = after - before;
    ensure((1..=500).contains(&got), || {
        format!("{got} of 500 spurious interrupts counted")
    })?;
    println!("# figure: cores: storm of 500 on core {n}'s entry: {got} handled");
    let mut p = uapi::VeDrvPing {
        value: 0x5eed,
        ..Default::default()
    };
    sys::ioctl(fx.fd()?, uapi::VE_DRV_IOC_PING, &mut p)
        .map_err(|e| format!("ping: {}", errname(e)))?;
    fx.raise(emu::RAISE_EXCEPTION, n, cause(n), 0, true)?;
    ensure(
        sys::wait_for(2000, || fx.core(n).is_ok_and(|s| s.count == after + 1)),
        || "the exception after the storm was not counted".into(),
    )
}

/// Bits of `VEDRV_CMD_WAIT_INTR`'s mask for MSI-X entry `e` (libved's VE1 numbering).
fn want_bit(e: u32) -> Ve1CompatWaitIrq {
    match ve1::wait_intr_bit(e) {
        Some((true, b)) => Ve1CompatWaitIrq {
            upper: 1 << b,
            lower: 0,
        },
        Some((false, b)) => Ve1CompatWaitIrq {
            upper: 0,
            lower: 1 << b,
        },
        None => Ve1CompatWaitIrq::default(),
    }
}

/// A core fault, the PCI access exception, two hardware errors and a user DMA entry each reach
/// `WAIT_INTR` as NEC's node path records them; reporting the user DMA bit clears its INTVEC bit.
fn node_entries_reach_wait_intr(fx: &mut Fx) -> R {
    if fx.ve3 {
        return ve3_node_entries_reach_wait_intr(fx);
    }
    for e in [64, 71, ve1::PCI_EXC_VECTOR, 80, 92, 17] {
        fx.raise(emu::RAISE_INTERRUPT, e, 0, 0, true)?;
        let want = want_bit(e);
        let got = userdma::wait_intr(fx.fd()?, want, 2000, false)
            .map_err(|err| format!("WAIT_INTR for entry {e}: {}", errname(err)))?;
        ensure_eq(&format!("bits caught for entry {e}"), got, want)?;
    }
    let intvec = fx.core(0)?.intvec;
    ensure(intvec & scr::intvec_bit(17) == 0, || {
        format!("user DMA entry 17's INTVEC bit not cleared by WAIT_INTR: {intvec:#x}")
    })?;
    // Nothing left pending.
    ensure_errno(
        "WAIT_INTR with nothing pending",
        userdma::wait_intr(fx.fd()?, want_bit(64), 50, false),
        libc::ETIMEDOUT,
    )
}

/// Offset in the emulator's BAR2 of the VE3 INTVEC register `reg` (relative to the SCR).
fn ve3_intvec(reg: usize) -> usize {
    emu::VE3_BAR4_IMAGE + ve3::SCR_OFFSET + reg
}

/// VE3's node entries (NEC's `ve3_intr()`): the PCI access exception (34) reports INTVEC1's bits
/// 31:16 bit-reversed into `intvec[1]` 47:32, a user DMA engine (33) INTVEC2 into `intvec[2]`, a
/// hardware error (35) INTVEC3 into `intvec[3]`. Reporting the user DMA bit clears it in INTVEC2;
/// the PCI exception and error bits stay (NEC leaves them to the management agent).
fn ve3_node_entries_reach_wait_intr(fx: &mut Fx) -> R {
    let fd = fx.fd()?;
    // Forget what earlier cases left to report (a ping's privileged DMA bit).
    let _ = userdma::wait_intr_ve3(fd, [!0; 4], 0);
    for (e, hw_bits, want) in [
        (ve3::PCI_EXC_VECTOR, 1u64 << 20, [0, 1 << 43, 0, 0]),
        (ve3::UDMA_VECTOR, 1 << (63 - 3), [0, 0, 1 << 3, 0]),
        (ve3::HW_ERROR_VECTOR, 1 << (63 - 5), [0, 0, 0, 1 << 5]),
    ] {
        fx.raise(emu::RAISE_INTERRUPT, e, hw_bits, 0, true)?;
        let got = userdma::wait_intr_ve3(fd, [!0; 4], 2000)
            .map_err(|err| format!("WAIT_INTR for entry {e}: {}", errname(err)))?;
        ensure_eq(&format!("bits caught for entry {e}"), got, want)?;
    }
    ensure_eq(
        "INTVEC1 (the PCI exception bit stays)",
        fx.reg(ve3_intvec(ve3::INTVEC1)),
        1 << 20,
    )?;
    ensure_eq(
        "INTVEC2 (the user DMA bit cleared by its report)",
        fx.reg(ve3_intvec(ve3::INTVEC2)),
        0,
    )?;
    ensure_eq(
        "INTVEC3 (the error bit stays)",
        fx.reg(ve3_intvec(ve3::INTVEC3)),
        1 << (63 - 5),
    )?;
    // Nothing left pending.
    ensure_errno(
        "WAIT_INTR with nothing pending",
        userdma::wait_intr_ve3(fd, [!0; 4], 50),
        libc::ETIMEDOUT,
    )?;
    // As the management agent would: the error and exception bits cleared.
    fx.set_reg(ve3_intvec(ve3::INTVEC1), 0);
    fx.set_reg(ve3_intvec(ve3::INTVEC3), 0);
    Ok(())
}

/// A storm of 300 spurious interrupts on a hardware error entry: survived, the card answers.
/// On VE1 the entry's bit is reported; on VE3 a spurious interrupt finds no bit in INTVEC3 and
/// reports nothing.
fn storm_on_error_entry(fx: &mut Fx) -> R {
    if fx.ve3 {
        fx.raise(emu::RAISE_SPURIOUS, ve3::HW_ERROR_VECTOR, 0, 300, true)?;
        settle(|| fx.c.get(emu::OFF_CNT_IRQS_SPURIOUS));
        std::thread::sleep(std::time::Duration::from_millis(200));
        ensure_errno(
            "WAIT_INTR after the storm",
            userdma::wait_intr_ve3(fx.fd()?, [!0; 4], 50),
            libc::ETIMEDOUT,
        )?;
        return ping_works(fx);
    }
    fx.raise(emu::RAISE_SPURIOUS, 81, 0, 300, true)?;
    settle(|| fx.c.get(emu::OFF_CNT_IRQS_SPURIOUS));
    std::thread::sleep(std::time::Duration::from_millis(200));
    let got = userdma::wait_intr(fx.fd()?, want_bit(81), 2000, false)
        .map_err(|e| format!("WAIT_INTR after the storm: {}", errname(e)))?;
    ensure_eq("bits caught", got, want_bit(81))?;
    ping_works(fx)
}

/// The card answers a ping.
fn ping_works(fx: &mut Fx) -> R {
    let mut p = uapi::VeDrvPing {
        value: 1,
        ..Default::default()
    };
    sys::ioctl(fx.fd()?, uapi::VE_DRV_IOC_PING, &mut p)
        .map_err(|e| format!("ping: {}", errname(e)))?;
    Ok(())
}

/// An entry outside the emulator's vectors is refused by the emulator (the control's own check).
fn bad_raise_refused(fx: &mut Fx) -> R {
    let bad = fx.c.get(emu::OFF_CNT_RAISE_BAD);
    fx.raise(emu::RAISE_INTERRUPT, emu::VECTORS, 0, 0, true)?;
    fx.raise(emu::RAISE_EXCEPTION, emu::CORES as u32, 0, 0, true)?;
    ensure_eq("refused", fx.c.get(emu::OFF_CNT_RAISE_BAD), bad + 2)
}

/// `ve_state` OFFLINE then ONLINE (VE3: UNAVAILABLE then AVAILABLE), as NEC's management agent
/// moves it: every core's count back to 0, the slots zeroed and EXSRAR programmed again, INTVEC
/// cleared (NEC's stores).
fn online_resets_cores(fx: &mut Fx) -> R {
    let n = cores(&fx.c)[0];
    fx.raise(emu::RAISE_EXCEPTION, n, cause(n), 0, true)?;
    ensure(
        sys::wait_for(2000, || {
            fx.core(n).is_ok_and(|s| s.count > 0 && s.exsrar_slot != 0)
        }),
        || "exception not counted".into(),
    )?;
    // A stale EXSRAR and INTVEC bit, as if something had written them.
    fx.set_reg(fx.exsrar(n), 0);
    let state = "/sys/class/ve/ve0/ve_state";
    // VE1: OFFLINE, then ONLINE; VE3: UNAVAILABLE, then AVAILABLE (NEC's VE3 store resets the
    // same on AVAILABLE).
    let moves = if fx.ve3 { ["4", "1"] } else { ["2", "1"] };
    for v in moves {
        sys::write_file(state, v).map_err(|e| format!("ve_state <- {v}: {}", errname(e)))?;
    }
    let s = fx.core(n)?;
    ensure_eq("count after ONLINE", s.count, 0)?;
    ensure_eq("slot after ONLINE", s.exsrar_slot, 0)?;
    ensure_eq("INTVEC after ONLINE", s.intvec, 0)?;
    exsrar_programmed(fx)
}

/// `GET_EXS_REG`, the pseudo process's own command on a VE3 (NEC's `fops_ve3.c`): an ordinary
/// user reads its task's saved status (0 for a new task), or, while VEOS has it on a core, the
/// core's live EXS: running, then halted with an exception's cause. On a VE1 it is `EPERM` for
/// that user, as NEC's VE1 driver answers a command an ordinary user may not issue.
fn get_exs_reg(fx: &mut Fx) -> R {
    let p = veos::Pseudo::spawn()?;
    if !fx.ve3 {
        return ensure_eq("GET_EXS_REG on a VE1", p.get_exs()?, Err(libc::EPERM));
    }
    ensure_eq("a new task", p.get_exs()?, Ok(0))?;
    let n = cores(&fx.c)[0];
    let fd = fx.fd()?;
    veos::by_value(fd, uapi::VEDRV_CMD_CREATE_TASK, p.pid().into())
        .map_err(|e| format!("CREATE_TASK: {}", errname(e)))?;
    let mut a = uapi::VeTidCore {
        tid: p.pid(),
        core_id: n as i32,
    };
    sys::ioctl(fd, uapi::VEDRV_CMD_ASSIGN_TASK, &mut a)
        .map_err(|e| format!("ASSIGN_TASK: {}", errname(e)))?;
    fx.set_reg(fx.exs(n), exs::RUN);
    ensure_eq("on a running core", p.get_exs()?, Ok(exs::RUN))?;
    fx.raise(emu::RAISE_EXCEPTION, n, cause(n), 0, true)?;
    ensure_eq(
        "after the core's exception",
        p.get_exs()?,
        Ok(exs::halted(cause(n))),
    )?;
    // VEOS takes it off (again while the interrupt is on its way) and deletes it.
    let end = std::time::Instant::now() + std::time::Duration::from_secs(2);
    let mut r = veos::by_value(fd, uapi::VEDRV_CMD_UNASSIGN_TASK, p.pid().into());
    while r == Err(libc::EAGAIN) && std::time::Instant::now() < end {
        r = veos::by_value(fd, uapi::VEDRV_CMD_UNASSIGN_TASK, p.pid().into());
    }
    r.map_err(|e| format!("UNASSIGN_TASK: {}", errname(e)))?;
    veos::by_value(fd, uapi::VEDRV_CMD_DELETE_TASK, p.pid().into())
        .map_err(|e| format!("DELETE_TASK: {}", errname(e)))?;
    p.close()?;
    ensure(p.closed_within(2000), || {
        "the pseudo process's close waited".into()
    })
}

/// Unbind: every core stopped (EXS = STOP) and its EXSRAR disabled before the slots are freed;
/// an exception afterwards writes nothing to host memory. Binding again programs them afresh and
/// clears INTVEC.
fn unbind_disables_exsrar(fx: &mut Fx) -> R {
    drop(fx.fd.take());
    let bdf = card_bdf()?;
    sys::write_file("/sys/bus/pci/drivers/ve_drv_emu/unbind", &bdf)
        .map_err(|e| format!("unbind: {}", errname(e)))?;
    let cs = cores(&fx.c);
    for &n in &cs {
        ensure_eq(
            &format!("core {n} EXSRAR after unbind"),
            fx.reg(fx.exsrar(n)),
            0,
        )?;
        ensure_eq(
            &format!("core {n} EXS after unbind"),
            fx.reg(fx.exs(n)),
            exs::STOP,
        )?;
    }
    let writes = fx.c.get(emu::OFF_CNT_EXSRAR_WRITES);
    let exc = fx.c.get(emu::OFF_CNT_CORE_EXCEPTIONS);
    fx.raise(emu::RAISE_EXCEPTION, cs[0], cause(cs[0]), 0, false)?;
    ensure_eq(
        "core exceptions",
        fx.c.get(emu::OFF_CNT_CORE_EXCEPTIONS),
        exc + 1,
    )?;
    ensure_eq(
        "EXSRAR writes after unbind",
        fx.c.get(emu::OFF_CNT_EXSRAR_WRITES),
        writes,
    )?;
    sys::write_file("/sys/bus/pci/drivers/ve_drv_emu/bind", &bdf)
        .map_err(|e| format!("bind: {}", errname(e)))?;
    ensure(sys::wait_for(2000, || sys::exists(NODE)), || {
        "no /dev/ve0 after rebinding".into()
    })?;
    fx.fd = Some(sys::open_rw(NODE).map_err(|e| format!("open: {}", errname(e)))?);
    exsrar_programmed(fx)?;
    let s = fx.core(cs[0])?;
    ensure_eq("INTVEC after probe", s.intvec, 0)?;
    ensure_eq("count after probe", s.count, 0)?;
    ensure_eq("slot after probe", s.exsrar_slot, 0)
}

fn main() {
    let suite = Suite::new("ve_cores_test")
        .case(
            "probe points every enabled core's EXSRAR at its own slot, enabled",
            exsrar_programmed,
        )
        .case("EXS: RUN reads running, STOP halted", exs_run_and_stop)
        .case(
            "an exception on each core: counted, INTVEC cleared, EXS halted with the cause, reported to its EXSRAR slot",
            exception_on_each_core,
        )
        .case(
            "RST_EXSRAR_MEM zeroes the slot; EINVAL from core_fls on and for -1",
            rst_exsrar_mem,
        )
        .case(
            "a storm of spurious interrupts on a core entry is survived and counted as NEC counts it",
            storm_on_core_entry,
        )
        .case(
            "core fault, PCI access exception, hardware error and user DMA entries reach WAIT_INTR",
            node_entries_reach_wait_intr,
        )
        .case(
            "a storm on a hardware error entry is survived",
            storm_on_error_entry,
        )
        .case("the emulator refuses raises outside its map", bad_raise_refused)
        .case(
            "ve_state ONLINE (VE3: AVAILABLE) resets the counts, zeroes the slots, programs EXSRAR again, clears INTVEC",
            online_resets_cores,
        )
        .case(
            "GET_EXS_REG: VE3's pseudo process reads its task's status or its core's EXS; EPERM on a VE1",
            get_exs_reg,
        )
        .case(
            "unbind stops the cores and disables EXSRAR before the slots go; bind programs them again",
            unbind_disables_exsrar,
        );
    std::process::exit(suite.run(|| {
        let (fd, c) =
            open_card().map_err(Bail::as_("open /dev/ve0 and map the emulator's controls"))?;
        // VE1's areas are the larger: 1 MiB a core against VE3's 64 KiB.
        let regs = map_bar2(0, emu::CORES * ve1::CORE_AREA)
            .map_err(Bail::as_("map the cores' registers"))?;
        let ve3 = c.is_ve3();
        Ok(Fx {
            fd: Some(fd),
            c,
            regs,
            ve3,
        })
    }));
}
