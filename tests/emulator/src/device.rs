// SPDX-License-Identifier: GPL-2.0

//! The emulated card: BAR2 contents, guest RAM, VE memory, and what happens on a doorbell.

use std::{
    io,
    path::Path, //
};

use crate::{
    bar::Bar2,
    engine::{
        Engine,
        Memories, //
    },
    guest_ram::GuestRam,
    hw::{
        self,
        emu, //
    },
    ivshmem::{
        self,
        Peers,
        EMU_PEER,
        GUEST_PEER, //
    },
    layout::Variant,
    sys::Mapping,
    vtd::{
        copy_spans,
        Access,
        DmaError,
        HostBus, //
    },
};

/// Start-up parameters.
#[derive(Clone, Debug)]
pub struct Config {
    /// Guest RAM size (must equal QEMU's `-m`).
    pub ram_size: u64,
    /// Emulated VE memory size.
    pub ve_mem_size: u64,
    /// Nonce published in the identification block.
    pub nonce: u64,
    /// Test control: publish a wrong magic, so that the driver must refuse the device.
    pub bad_magic: bool,
    /// `--iommu`: host-side addresses are IOVAs, translated through the guest's VT-d tables once
    /// a test has handed them over (`vtd.rs`, [`emu::OFF_CTL_IOMMU_ENABLE`]).
    pub iommu: bool,
    /// `--variant`: the card whose layout BAR2 presents.
    pub variant: Variant,
}

/// Counters, as published in the identification block.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub wakeups: u64,
    pub irqs: u64,
    pub pings: u64,
    pub ping_bad: u64,
    pub bytes: u64,
    pub descs: u64,
    pub exceptions: u64,
    pub busy_ns: u64,
    pub iommu_faults: u64,
    pub iommu_pages: u64,
    pub iommu_passthrough: u64,
}

/// The emulated card.
pub struct Device {
    cfg: Config,
    bar: Bar2,
    ram: GuestRam,
    ve_mem: Mapping,
    ve_regs: Box<[u8]>,
    engine: Engine,
    peers: Option<Peers>,
    last_ping: u64,
}

impl Device {
    /// Creates BAR2 and publishes the identification block (magic last), creates the guest RAM
    /// file at `ram_path` and reserves (sparse) VE memory.
    pub fn new(cfg: Config, ram_path: &Path) -> io::Result<Self> {
        let bar = Bar2::new()?;
        let ram = GuestRam::create(ram_path, cfg.ram_size)?;
        let ve_mem = Mapping::sparse(cfg.ve_mem_size as usize)?;
        bar.store32(emu::BLOCK + emu::OFF_ABI_VERSION, emu::ABI_VERSION);
        bar.store32(emu::BLOCK + emu::OFF_EMU_PEER, EMU_PEER.into());
        bar.store32(emu::BLOCK + emu::OFF_GUEST_PEER, GUEST_PEER.into());
        bar.store32(emu::BLOCK + emu::OFF_VECTORS, emu::VECTORS);
        bar.store64(emu::BLOCK + emu::OFF_VE_MEM_SIZE, cfg.ve_mem_size);
        bar.store64(emu::BLOCK + emu::OFF_GUEST_RAM_SIZE, cfg.ram_size);
        bar.store64(emu::BLOCK + emu::OFF_NONCE, cfg.nonce);
        bar.store64(
            emu::BLOCK + emu::OFF_IOMMU_MODE,
            if cfg.iommu {
                emu::IOMMU_MODE_VTD
            } else {
                emu::IOMMU_MODE_OFF
            },
        );
        bar.store32(emu::BLOCK + emu::OFF_VARIANT, cfg.variant.id());
        for (i, w) in default_vcr(cfg.variant, cfg.ve_mem_size)
            .0
            .iter()
            .enumerate()
        {
            bar.store32(emu::BLOCK + emu::OFF_VCR + 4 * i, *w);
        }
        // Out of reset the engine is halted and not permitted.
        let engine = Engine::reset(&bar, cfg.variant);
        let magic = if cfg.bad_magic {
            emu::MAGIC ^ 1
        } else {
            emu::MAGIC
        };
        bar.store64(emu::BLOCK + emu::OFF_MAGIC, magic);
        let ve_regs = vec![0u8; emu::VERAA_SIZE].into_boxed_slice();
        Ok(Self {
            cfg,
            bar,
            ram,
            ve_mem,
            ve_regs,
            engine,
            peers: None,
            last_ping: 0,
        })
    }

    /// BAR2, for the handshake.
    pub fn bar(&self) -> &Bar2 {
        &self.bar
    }

    /// Guest RAM.
    pub fn ram(&self) -> &GuestRam {
        &self.ram
    }

    /// VE memory.
    pub fn ve_mem(&self) -> &Mapping {
        &self.ve_mem
    }

    /// QEMU connected: these are its eventfds.
    pub fn attach(&mut self, peers: Peers) {
        self.peers = Some(peers);
    }

    /// Raises MSI-X `vector` in the guest: sets its INTVEC bit where the variant has one
    /// ([`Variant::intvec_of`]), counts, signals the eventfd.
    pub fn raise(&self, vector: u32) -> io::Result<()> {
        let peers = self.peers.as_ref().ok_or(io::ErrorKind::NotConnected)?;
        let fd = peers
            .guest_irqs
            .get(vector as usize)
            .ok_or(io::ErrorKind::InvalidInput)?;
        if let Some((reg, bit)) = self.cfg.variant.intvec_of(vector) {
            self.bar.or64(reg, bit);
        }
        self.bar.add64(emu::BLOCK + emu::OFF_CNT_IRQS, 1);
        ivshmem::eventfd_signal(fd)
    }

    /// The guest rang the doorbell: look at every mailbox and register that may have changed.
    /// Doorbells coalesce, so this must not assume one request per wake-up.
    pub fn service(&mut self) -> io::Result<()> {
        self.bar.add64(emu::BLOCK + emu::OFF_CNT_WAKEUPS, 1);
        // First: nothing the guest posted before a reset runs after it.
        self.service_reset();
        self.service_clock_gating();
        self.service_storm()?;
        self.service_raise()?;
        self.service_engine()?;
        // The ping last: its acknowledgement tells the driver that everything it asked for
        // before the ping has been seen and done.
        self.service_ping()
    }

    /// The chip reset command of the variant ([`hw::ve1::CHIP_RESET`], [`hw::ve3::CHIP_RESET`]:
    /// its last write), if the guest wrote it: the card comes out of reset with the engine
    /// halted at read pointer 0 and no descriptor, every core stopped with its EXS report
    /// disabled, no interrupt pending and the reset registers clear. The test controls are the
    /// emulator's, not the card's: they stay.
    fn service_reset(&mut self) {
        let v = self.cfg.variant;
        let (command, go) = v.chip_reset_command();
        if self.bar.load64(command) != go {
            return;
        }
        for &off in v.chip_reset_registers() {
            self.bar.store64(off, 0);
        }
        self.engine = Engine::chip_reset(&self.bar, v);
        for core in 0..emu::CORES {
            self.bar.store64(v.exs_offset(core), hw::exs::STOP);
            self.bar.store64(v.exsrar_offset(core), 0);
        }
        for &reg in v.intvecs() {
            self.bar.store64(reg, 0);
        }
        // Counted last: a test that sees the count sees the card out of reset.
        self.bar.add64(emu::BLOCK + emu::OFF_CNT_RESETS, 1);
    }

    /// VE3's clock gating: the gating bit written to the on (off) register sets (clears) it in
    /// the state register, and the command register reads 0 again.
    fn service_clock_gating(&mut self) {
        let Some((on, off, state)) = self.cfg.variant.clock_gating() else {
            return;
        };
        let bit = hw::ve3::CLOCK_GATING_BIT;
        for (reg, set) in [(on, true), (off, false)] {
            if self.bar.load64(reg) & bit != 0 {
                self.bar.store64(reg, 0);
                let v = self.bar.load64(state);
                self.bar
                    .store64(state, if set { v | bit } else { v & !bit });
            }
        }
    }

    /// A raise request of the test controls ([`emu::OFF_CTL_RAISE`]), if any.
    fn service_raise(&mut self) -> io::Result<()> {
        let req = self.bar.load64(emu::BLOCK + emu::OFF_CTL_RAISE);
        if req == 0 {
            return Ok(());
        }
        let entry = self.bar.load64(emu::BLOCK + emu::OFF_CTL_RAISE_ENTRY);
        let cause = self.bar.load64(emu::BLOCK + emu::OFF_CTL_RAISE_EXS);
        let count = self
            .bar
            .load64(emu::BLOCK + emu::OFF_CTL_RAISE_COUNT)
            .max(1);
        self.bar.store64(emu::BLOCK + emu::OFF_CTL_RAISE, 0);
        let ok = match (req, u32::try_from(entry)) {
            (_, Ok(e)) if e >= emu::VECTORS => false,
            (emu::RAISE_EXCEPTION, Ok(e)) if (e as usize) < emu::CORES => {
                if core_exception(
                    &self.bar,
                    &self.ram,
                    self.cfg.variant,
                    self.cfg.iommu,
                    e as usize,
                    cause,
                ) {
                    self.raise(e)?;
                    true
                } else {
                    false
                }
            }
            (emu::RAISE_INTERRUPT, Ok(e)) => {
                if let Some((reg, default)) = self.cfg.variant.node_intvec(e) {
                    self.bar.or64(reg, if cause != 0 { cause } else { default });
                }
                self.raise(e)?;
                true
            }
            (emu::RAISE_SPURIOUS, Ok(e)) => {
                self.storm(e, count)?;
                true
            }
            _ => false,
        };
        if !ok {
            self.bar.add64(emu::BLOCK + emu::OFF_CNT_RAISE_BAD, 1);
        }
        // Counted last: a test that sees the count sees everything the request did.
        self.bar.add64(emu::BLOCK + emu::OFF_CNT_RAISED, 1);
        Ok(())
    }

    /// `n` spurious interrupts on `vector` (no INTVEC bit, nothing happened), [`emu::STORM_GAP_US`]
    /// apart, from a thread of their own; counted when the storm starts.
    fn storm(&self, vector: u32, n: u64) -> io::Result<()> {
        let peers = self.peers.as_ref().ok_or(io::ErrorKind::NotConnected)?;
        let fd = peers
            .guest_irqs
            .get(vector as usize)
            .ok_or(io::ErrorKind::InvalidInput)?
            .try_clone()?;
        self.bar.add64(emu::BLOCK + emu::OFF_CNT_IRQS_SPURIOUS, n);
        std::thread::spawn(move || {
            for _ in 0..n {
                if ivshmem::eventfd_signal(&fd).is_err() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_micros(emu::STORM_GAP_US));
            }
        });
        Ok(())
    }

    /// A requested interrupt storm: spurious interrupts on the privileged DMA vector, without its
    /// INTVEC bit and without anything completed, raised from a thread of their own so that the
    /// engine keeps running (and halting) meanwhile. Counted when the storm starts.
    fn service_storm(&mut self) -> io::Result<()> {
        let n = self.bar.load64(emu::BLOCK + emu::OFF_CTL_IRQ_STORM);
        if n == 0 {
            return Ok(());
        }
        self.bar.store64(emu::BLOCK + emu::OFF_CTL_IRQ_STORM, 0);
        self.storm(self.cfg.variant.pdma().vector, n)
    }

    /// Runs the DMA engine on whatever the guest has posted or changed in DMACTL.
    pub fn service_engine(&mut self) -> io::Result<()> {
        let mut mem = Memories {
            ram: &self.ram,
            ve_mem: &self.ve_mem,
            ve_regs: &mut self.ve_regs,
            iommu: self.cfg.iommu,
        };
        let r = self.engine.run(&self.bar, &mut mem)?;
        if r.irq {
            self.raise(self.cfg.variant.pdma().vector)?;
        }
        Ok(())
    }

    /// Answers a new ping request, if any.
    fn service_ping(&mut self) -> io::Result<()> {
        let seq = self.bar.load64(emu::BLOCK + emu::OFF_PING_SEQ);
        if seq == self.last_ping {
            return Ok(());
        }
        self.last_ping = seq;
        let value = self.bar.load64(emu::BLOCK + emu::OFF_PING_VALUE);
        let check = self.bar.load64(emu::BLOCK + emu::OFF_PING_CHECK);
        let nonce = self.cfg.nonce;
        let (status, response) = if check == emu::ping_check(nonce, seq, value) {
            (emu::PING_OK, emu::ping_response(nonce, value))
        } else {
            self.bar.add64(emu::BLOCK + emu::OFF_CNT_PING_BAD, 1);
            (emu::PING_BAD_CHECK, 0)
        };
        self.bar
            .store64(emu::BLOCK + emu::OFF_PING_RESPONSE, response);
        self.bar.store64(emu::BLOCK + emu::OFF_PING_STATUS, status);
        self.bar.add64(emu::BLOCK + emu::OFF_CNT_PINGS, 1);
        // The acknowledgement last: it publishes the answer.
        self.bar.store64(emu::BLOCK + emu::OFF_PING_ACK, seq);
        self.raise(self.cfg.variant.pdma().vector)
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        Stats {
            wakeups: self.bar.load64(emu::BLOCK + emu::OFF_CNT_WAKEUPS),
            irqs: self.bar.load64(emu::BLOCK + emu::OFF_CNT_IRQS),
            pings: self.bar.load64(emu::BLOCK + emu::OFF_CNT_PINGS),
            ping_bad: self.bar.load64(emu::BLOCK + emu::OFF_CNT_PING_BAD),
            bytes: self.bar.load64(emu::BLOCK + emu::OFF_CNT_BYTES),
            descs: self.bar.load64(emu::BLOCK + emu::OFF_CNT_DESCS),
            exceptions: self.bar.load64(emu::BLOCK + emu::OFF_CNT_EXCEPTIONS),
            busy_ns: self.bar.load64(emu::BLOCK + emu::OFF_CNT_BUSY_NS),
            iommu_faults: self.bar.load64(emu::BLOCK + emu::OFF_CNT_IOMMU_FAULTS),
            iommu_pages: self.bar.load64(emu::BLOCK + emu::OFF_CNT_IOMMU_PAGES),
            iommu_passthrough: self.bar.load64(emu::BLOCK + emu::OFF_CNT_IOMMU_PASSTHROUGH),
        }
    }
}

/// Core `core` stops with an exception of `cause`, as a VE1 core does: its EXS reads halted with
/// the cause bits, and if its EXSRAR enables the report, the EXS value is DMA-written to the slot
/// in guest RAM that EXSRAR names. Then the caller raises the core's MSI-X entry (which sets its
/// INTVEC bit). `false` if the slot is not guest RAM (the value is then not written anywhere, as
/// a master abort would drop it).
///
/// With `iommu` (`--iommu`) the slot address is an IOVA, translated as the engine's addresses are
/// (`vtd.rs`): a write the IOMMU refuses is dropped and counted in
/// [`emu::OFF_CNT_IOMMU_FAULTS`] (its IOVA in [`emu::OFF_IOMMU_LAST_FAULT`]), and the core still
/// stops and interrupts (`true`), as a card behind a real IOMMU would: it never learns of the
/// fault.
///
/// What else a core does is plain memory: the guest's write of [`hw::exs::STOP`] (1) reads as
/// halted (bits 1:0 = 01b), a write of [`hw::exs::RUN`] (0xEE) as running (10b) until the next
/// exception, without the emulator looking (nothing executes on these cores).
pub fn core_exception(
    bar: &Bar2,
    ram: &GuestRam,
    variant: Variant,
    iommu: bool,
    core: usize,
    cause: u64,
) -> bool {
    let exs = hw::exs::halted(cause);
    bar.store64(variant.exs_offset(core), exs);
    bar.add64(emu::BLOCK + emu::OFF_CNT_CORE_EXCEPTIONS, 1);
    let Some(slot) = hw::exsrar::slot(bar.load64(variant.exsrar_offset(core))) else {
        return true;
    };
    let spans = match HostBus::load(bar, iommu).spans(bar, ram, slot, 8, Access::Write) {
        Ok(spans) => spans,
        Err(DmaError::Range) => return false,
        Err(DmaError::Iommu(_)) => return true,
    };
    let bytes = exs.to_le_bytes();
    let src = [(bytes.as_ptr().cast_mut(), bytes.len())];
    // SAFETY: `spans` checked that the 8 bytes are inside guest RAM (one span, or two if the slot
    // crosses an IOVA page); the guest may access them concurrently, as with any DMA. `src` is
    // only read.
    unsafe { copy_spans(&src, &spans) };
    bar.add64(emu::BLOCK + emu::OFF_CNT_EXSRAR_WRITES, 1);
    true
}

/// The VE Configuration Registers the emulator publishes (docs/hardware.md, "VE Configuration
/// Registers"): layout 1, NEC's QEMU model (0xfe) for a VE1 and model 3 for a VE3, 8 cores of which cores 0-7 are enabled, the VE
/// memory size in GiB, VE1's clocks (memory 1600 MHz, cores 1400 MHz, base 100 MHz), and made-up
/// serial numbers. A test may overwrite them before it binds the driver.
pub fn default_vcr(variant: Variant, ve_mem_size: u64) -> hw::vcr::Vcr {
    let gib = u32::try_from(ve_mem_size >> 30)
        .unwrap_or(u32::MAX)
        .min(0xffff);
    hw::vcr::Vcr([
        variant.vcr_word0(),
        0x0800_00ff,
        0x0000_0e4d,
        0x0000_0001,
        0,
        0,
        0x0000_0e4d,
        0x0000_0002,
        0,
        0,
        0x0000_0100,
        (gib << 16) | 1600,
        (1400 << 16) | 100,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rig() -> (Bar2, GuestRam, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!(
            "ve-device-test-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let bar = Bar2::new().unwrap();
        let ram = GuestRam::create(&dir.join("ram"), 16 << 20).unwrap();
        (bar, ram, dir)
    }

    /// A device of `variant` with 16 MiB of guest RAM and 1 MiB of VE memory.
    fn small_config(variant: Variant) -> Config {
        Config {
            ram_size: 16 << 20,
            ve_mem_size: 1 << 20,
            nonce: 1,
            bad_magic: false,
            iommu: false,
            variant,
        }
    }

    fn slot(ram: &GuestRam, gpa: u64) -> u64 {
        let p = ram.host_ptr(gpa, 8).unwrap();
        // SAFETY: in bounds (checked by host_ptr).
        unsafe { p.cast::<u64>().read_unaligned() }
    }

    /// VE3's card reset: the request alone does nothing; the reset command halts the engine,
    /// clears its ring and the INTVECs, stops the cores and clears the reset registers.
    #[test]
    fn ve3_chip_reset() {
        let (_, _, dir) = rig();
        let v = Variant::Ve3;
        let mut dev = Device::new(small_config(v), &dir.join("ram5")).unwrap();
        let (command, go) = v.chip_reset_command();
        let b = &dev.bar;
        b.store64(v.desc_word(3, 0), hw::desc::STATUS_PREPARED);
        b.store64(v.ctl0(), hw::dmactl::PERMIT);
        b.store64(v.intvecs()[0], 1 << 63);
        b.store64(v.exs_offset(2), hw::exs::RUN);
        b.store64(command, hw::ve3::CHIP_RESET_REQUEST);
        dev.service_reset();
        assert_eq!(dev.bar.load64(emu::BLOCK + emu::OFF_CNT_RESETS), 0);
        dev.bar.store64(command, go);
        dev.service_reset();
        let b = &dev.bar;
        assert_eq!(b.load64(emu::BLOCK + emu::OFF_CNT_RESETS), 1);
        assert_eq!(b.load64(v.desc_word(3, 0)), 0);
        assert_eq!(b.load64(v.ctl0()), hw::dmactl::STATUS_HALT);
        assert_eq!(b.load64(v.intvecs()[0]), 0);
        assert_eq!(b.load64(v.exs_offset(2)), hw::exs::STOP);
        assert_eq!(b.load64(command), 0);
    }

    /// VE3's clock gating: the bit written to the on register sets the state bit and is taken
    /// back; the off register clears it; nothing of it on a VE1.
    #[test]
    fn ve3_clock_gating() {
        let (_, _, dir) = rig();
        let mut dev = Device::new(small_config(Variant::Ve3), &dir.join("ram3")).unwrap();
        let (on, off, state) = Variant::Ve3.clock_gating().unwrap();
        let bit = hw::ve3::CLOCK_GATING_BIT;
        dev.bar.store64(state, 0x1);
        dev.bar.store64(on, bit);
        dev.service_clock_gating();
        assert_eq!((dev.bar.load64(on), dev.bar.load64(state)), (0, bit | 1));
        dev.bar.store64(off, bit);
        dev.service_clock_gating();
        assert_eq!((dev.bar.load64(off), dev.bar.load64(state)), (0, 1));
        let mut ve1 = Device::new(small_config(Variant::Ve1), &dir.join("ram4")).unwrap();
        ve1.bar.store64(on, bit);
        ve1.service_clock_gating();
        assert_eq!(ve1.bar.load64(on), bit);
    }

    /// The chip reset command clears the ring, halts the engine at read pointer 0, stops every
    /// core with its report disabled, clears INTVEC and the reset registers, and is counted;
    /// anything else written there does nothing.
    #[test]
    fn chip_reset_command() {
        let (_, _, dir) = rig();
        let mut dev = Device::new(small_config(Variant::Ve1), &dir.join("ram2")).unwrap();
        let b = &dev.bar;
        b.store64(Variant::Ve1.desc_word(5, 0), hw::desc::STATUS_PREPARED);
        b.store64(Variant::Ve1.ctl0(), hw::dmactl::PERMIT);
        b.store64(Variant::Ve1.ctl1(), 7);
        b.store64(hw::ve1::SCR_OFFSET + hw::scr::INTVEC, 0x3);
        b.store64(hw::ve1::exs_offset(1), hw::exs::RUN);
        b.store64(hw::ve1::exsrar_offset(1), hw::exsrar::enabled(0x1000));
        b.store64(hw::ve1::CHIP_RESET_COMMAND, 0x1234);
        dev.service_reset();
        assert_eq!(dev.bar.load64(emu::BLOCK + emu::OFF_CNT_RESETS), 0);
        for (off, value) in hw::ve1::CHIP_RESET {
            dev.bar.store64(off, value);
        }
        dev.service_reset();
        let b = &dev.bar;
        assert_eq!(b.load64(emu::BLOCK + emu::OFF_CNT_RESETS), 1);
        assert_eq!(b.load64(Variant::Ve1.desc_word(5, 0)), 0);
        assert_eq!(b.load64(Variant::Ve1.ctl0()), hw::dmactl::STATUS_HALT);
        assert_eq!(b.load64(Variant::Ve1.ctl1()), 0);
        assert_eq!(b.load64(hw::ve1::SCR_OFFSET + hw::scr::INTVEC), 0);
        assert_eq!(
            hw::exs::run_state(b.load64(hw::ve1::exs_offset(1))),
            hw::exs::RunState::Halted
        );
        assert_eq!(b.load64(hw::ve1::exsrar_offset(1)), 0);
        for (off, _) in hw::ve1::CHIP_RESET {
            assert_eq!(b.load64(off), 0);
        }
    }

    /// EXS is plain memory for STOP and RUN: STOP reads halted, RUN running.
    #[test]
    fn exs_stop_and_run_read_back() {
        let (bar, _ram, _dir) = rig();
        bar.store64(hw::ve1::exs_offset(2), hw::exs::RUN);
        assert_eq!(
            hw::exs::run_state(bar.load64(hw::ve1::exs_offset(2))),
            hw::exs::RunState::Running
        );
        bar.store64(hw::ve1::exs_offset(2), hw::exs::STOP);
        assert_eq!(
            hw::exs::run_state(bar.load64(hw::ve1::exs_offset(2))),
            hw::exs::RunState::Halted
        );
    }

    /// An exception halts the core with the cause bits and reports EXS to the EXSRAR slot only
    /// while bit 0 is set; a slot outside guest RAM is refused and nothing is written.
    #[test]
    fn exception_reports_to_exsrar_slot() {
        let (bar, ram, _dir) = rig();
        let core = 3;
        bar.store64(hw::ve1::exs_offset(core), hw::exs::RUN);
        // Disabled: EXS changes, no DMA.
        bar.store64(hw::ve1::exsrar_offset(core), 0x1000);
        assert!(core_exception(
            &bar,
            &ram,
            Variant::Ve1,
            false,
            core,
            0x4_0000_0000_0102
        ));
        assert_eq!(bar.load64(hw::ve1::exs_offset(core)), 0x4_0000_0000_0101);
        assert_eq!(slot(&ram, 0x1000), 0);
        assert_eq!(bar.load64(emu::BLOCK + emu::OFF_CNT_EXSRAR_WRITES), 0);
        // Enabled: the slot gets the value.
        bar.store64(
            hw::ve1::exsrar_offset(core),
            hw::exsrar::enabled(0x1000 + 8 * core as u64),
        );
        assert!(core_exception(
            &bar,
            &ram,
            Variant::Ve1,
            false,
            core,
            0x8_0000
        ));
        assert_eq!(slot(&ram, 0x1000 + 24), 0x8_0001);
        assert_eq!(bar.load64(emu::BLOCK + emu::OFF_CNT_EXSRAR_WRITES), 1);
        assert_eq!(bar.load64(emu::BLOCK + emu::OFF_CNT_CORE_EXCEPTIONS), 2);
        // Other cores untouched.
        assert_eq!(bar.load64(hw::ve1::exs_offset(core + 1)), 0);
        // Outside guest RAM (16 MiB here).
        bar.store64(hw::ve1::exsrar_offset(core), hw::exsrar::enabled(16 << 20));
        assert!(!core_exception(
            &bar,
            &ram,
            Variant::Ve1,
            false,
            core,
            0x100
        ));
        assert_eq!(bar.load64(emu::BLOCK + emu::OFF_CNT_EXSRAR_WRITES), 1);
    }

    /// With `--iommu` the EXSRAR slot is an IOVA: refused (dropped, counted, the core still
    /// stops) before the tables are handed over and where the page is read only or unmapped,
    /// written at the translated address where it is writable.
    #[test]
    fn exsrar_report_through_the_iommu() {
        use crate::vtd::testing::{
            Vt,
            RO,
            RW, //
        };
        let bar = Bar2::new().unwrap();
        let mut vt = Vt::new(16 << 20);
        let (t, top) = vt.context(0x18, 0, 1);
        let iova = 0xfee0_0000u64;
        vt.map(top, 3, iova, 0x80_0000, 1, RW);
        vt.map(top, 3, iova + 0x1000, 0x80_1000, 1, RO);
        let core = 2;
        let count = |off| bar.load64(emu::BLOCK + off);
        bar.store64(
            hw::ve1::exsrar_offset(core),
            hw::exsrar::enabled(iova + 0x40),
        );
        assert!(core_exception(
            &bar,
            &vt.ram,
            Variant::Ve1,
            true,
            core,
            0x100
        ));
        assert_eq!(count(emu::OFF_CNT_IOMMU_FAULTS), 1);
        assert_eq!(count(emu::OFF_IOMMU_LAST_FAULT), iova + 0x40);
        assert_eq!(count(emu::OFF_CNT_EXSRAR_WRITES), 0);
        assert_eq!(slot(&vt.ram, 0x80_0040), 0);
        // Attached.
        bar.store64(emu::BLOCK + emu::OFF_CTL_IOMMU_RTADDR, t.rtaddr);
        bar.store64(emu::BLOCK + emu::OFF_CTL_IOMMU_SID, 0x18);
        bar.store64(emu::BLOCK + emu::OFF_CTL_IOMMU_ENABLE, 1);
        assert!(core_exception(
            &bar,
            &vt.ram,
            Variant::Ve1,
            true,
            core,
            0x200
        ));
        assert_eq!(slot(&vt.ram, 0x80_0040), 0x201);
        assert_eq!(count(emu::OFF_CNT_EXSRAR_WRITES), 1);
        assert_eq!(count(emu::OFF_CNT_IOMMU_PAGES), 1);
        // A slot that straddles into the read-only page: nothing written, not even the first
        // half.
        bar.store64(
            hw::ve1::exsrar_offset(core),
            hw::exsrar::enabled(iova + 0xffc),
        );
        assert!(core_exception(
            &bar,
            &vt.ram,
            Variant::Ve1,
            true,
            core,
            0x300
        ));
        assert_eq!(count(emu::OFF_CNT_IOMMU_FAULTS), 2);
        assert_eq!(count(emu::OFF_IOMMU_LAST_FAULT), iova + 0x1000);
        assert_eq!(
            count(emu::OFF_IOMMU_LAST_FAULT_REASON),
            emu::IOMMU_FAULT_WRITE
        );
        assert_eq!(slot(&vt.ram, 0x80_0ff8), 0);
        // Unmapped.
        bar.store64(
            hw::ve1::exsrar_offset(core),
            hw::exsrar::enabled(iova + 0x2000),
        );
        assert!(core_exception(
            &bar,
            &vt.ram,
            Variant::Ve1,
            true,
            core,
            0x300
        ));
        assert_eq!(count(emu::OFF_CNT_IOMMU_FAULTS), 3);
        assert_eq!(count(emu::OFF_CNT_EXSRAR_WRITES), 1);
    }
}
