// SPDX-License-Identifier: GPL-2.0

//! The privileged DMA engine: executes descriptors from the ring of the card variant the emulator
//! presents (`layout.rs`: VE1's at SCR + 0x40000 in BAR2, VE3's at SCR + 0x8000 in BAR4),
//! as the hardware description says (`hw::desc`, `hw::dmactl`; docs/hardware.md, "DMACTL" and
//! "DMA descriptors").
//!
//! While DMACTL word 0 permits it, the engine processes PREPARED descriptors in ring order from
//! the read pointer: marks each STARTED, copies, marks it COMPLETED, advances the read pointer in
//! DMACTL word 1, and raises MSI-X 48 (setting its INTVEC bit) when the descriptor asks for a
//! completion interrupt. A bad descriptor (unknown address space, misalignment, over 64 MiB, an
//! address outside its memory, a host-side address the emulated IOMMU refuses: `vtd.rs`) stops
//! the engine: the code goes into the descriptor's word 0 and DMACTL word 1 gets the exception
//! bit with the read pointer on the faulting descriptor. Writing the read pointer (DMACTL word 1)
//! clears the exception; clearing the permit bit halts the engine (status HALT in word 0).
//!
//! Shared-memory rules (BAR2 traps nothing, see `bar.rs`): the engine owns DMACTL word 1 and
//! remembers what it last wrote there; a different value found there on a wake-up is a guest
//! write of the read pointer.

use std::{
    io,
    time::{
        Duration,
        Instant, //
    },
};

use crate::{
    bar::Bar2,
    guest_ram::GuestRam,
    hw::{
        desc::{
            self,
            AddrSpace,
            Desc, //
        },
        dmactl,
        emu, //
    },
    layout::Variant,
    sys::Mapping,
    vtd::{
        copy_spans,
        Access,
        DmaError,
        HostBus,
        Span, //
    },
};

/// Where the engine copies to and from.
pub struct Memories<'a> {
    /// Guest RAM (VHSAA).
    pub ram: &'a GuestRam,
    /// VE memory (VEMAA).
    pub ve_mem: &'a Mapping,
    /// VE registers (VERAA).
    pub ve_regs: &'a mut [u8],
    /// The emulator runs with `--iommu`: VHSAA addresses are IOVAs that the emulated VT-d
    /// translates (`vtd.rs`).
    pub iommu: bool,
}

impl Memories<'_> {
    /// The host memory of `[addr, addr + len)` of `space`, all of it, or the exception code:
    /// VHSAA through `bus` (guest-physical, or translated page by page), the VE spaces if the
    /// range is inside that memory.
    fn spans(
        &mut self,
        bar: &Bar2,
        bus: HostBus,
        space: AddrSpace,
        addr: u64,
        len: u64,
        access: Access,
    ) -> Result<Vec<Span>, u16> {
        let inside = |size: usize| addr.checked_add(len).is_some_and(|end| end <= size as u64);
        let p = match space {
            AddrSpace::Vhsaa => {
                return bus
                    .spans(bar, self.ram, addr, len, access)
                    .map_err(|e| match e {
                        DmaError::Range => desc::EXC_ADDR_RANGE,
                        DmaError::Iommu(_) => desc::EXC_IOMMU_FAULT,
                    })
            }
            AddrSpace::Vemaa => inside(self.ve_mem.len()).then(|| {
                // SAFETY: `inside` keeps `[addr, addr + len)` within the mapping.
                unsafe { self.ve_mem.as_ptr().add(addr as usize) }
            }),
            AddrSpace::Veraa => inside(self.ve_regs.len()).then(|| {
                // SAFETY: `inside` keeps `[addr, addr + len)` within the slice.
                unsafe { self.ve_regs.as_mut_ptr().add(addr as usize) }
            }),
        };
        p.map(|p| vec![(p, len as usize)])
            .ok_or(desc::EXC_ADDR_RANGE)
    }
}

/// What one call of [`Engine::run`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RunResult {
    /// Descriptors completed.
    pub completed: u64,
    /// Interrupts to raise on the privileged DMA vector (0 or 1: one wake-up is enough).
    pub irq: bool,
}

/// Engine state kept outside BAR2.
#[derive(Debug)]
pub struct Engine {
    /// Whose engine: where its registers are and how it encodes ordering.
    variant: Variant,
    /// The value the engine last stored in DMACTL word 1.
    published_ctl1: u64,
    /// Completion interrupts asked for since the last one raised (for coalescing).
    pending_irqs: u64,
}

impl Engine {
    /// Out of reset: halted, read pointer 0, no exception.
    pub fn reset(bar: &Bar2, variant: Variant) -> Self {
        bar.store64(variant.ctl0(), dmactl::STATUS_HALT);
        bar.store64(variant.ctl1(), 0);
        Self {
            variant,
            published_ctl1: 0,
            pending_irqs: 0,
        }
    }

    /// Out of a chip reset: as [`Self::reset`], and no descriptor in the ring.
    pub fn chip_reset(bar: &Bar2, variant: Variant) -> Self {
        for i in 0..desc::NUM {
            for w in 0..4 {
                bar.store64(variant.desc_word(i, w), 0);
            }
        }
        Self::reset(bar, variant)
    }

    /// Looks at DMACTL and runs every PREPARED descriptor while permitted. Returns what it did;
    /// the caller raises the interrupt.
    pub fn run(&mut self, bar: &Bar2, mem: &mut Memories<'_>) -> io::Result<RunResult> {
        let mut result = RunResult::default();
        loop {
            // A guest write of the read pointer: adopt it and clear the exception.
            let ctl1 = bar.load64(self.variant.ctl1());
            if ctl1 != self.published_ctl1 {
                self.publish(bar, ctl1 & dmactl::READPTR_MASK);
            }
            let ctl0 = bar.load64(self.variant.ctl0());
            if ctl0 & dmactl::PERMIT == 0 {
                if ctl0 & dmactl::STATUS_MASK != dmactl::STATUS_HALT {
                    self.halt(bar);
                }
                return Ok(result);
            }
            if self.published_ctl1 & dmactl::EXCEPTION != 0
                || bar.load64(emu::BLOCK + emu::OFF_CTL_STALL) != 0
            {
                return Ok(result);
            }
            let i = (self.published_ctl1 & dmactl::READPTR_MASK) as usize;
            let w0 = bar.load64(self.variant.desc_word(i, 0));
            if desc::status(w0) != desc::STATUS_PREPARED {
                return Ok(result);
            }
            self.execute(bar, mem, i, &mut result);
        }
    }

    /// The permit bit is clear: reports HALT, after the halt delay of the test controls (or
    /// never, for a wedged engine). The driver may permit the engine again meanwhile.
    fn halt(&mut self, bar: &Bar2) {
        let delay = bar.load64(emu::BLOCK + emu::OFF_CTL_HALT_DELAY_US);
        if delay == u64::MAX {
            return;
        }
        if delay > 0 {
            std::thread::sleep(Duration::from_micros(delay));
        }
        // A 64-bit compare-and-swap would be exact; the driver does not write DMACTL word 0
        // while it waits for HALT, so a plain re-check suffices.
        if bar.load64(self.variant.ctl0()) & dmactl::PERMIT == 0 {
            // Counted first: whoever sees HALT also sees the count.
            bar.add64(emu::BLOCK + emu::OFF_CNT_HALTS, 1);
            bar.store64(self.variant.ctl0(), dmactl::STATUS_HALT);
        }
    }

    fn publish(&mut self, bar: &Bar2, ctl1: u64) {
        self.published_ctl1 = ctl1;
        bar.store64(self.variant.ctl1(), ctl1);
    }

    /// Runs descriptor `i`.
    fn execute(&mut self, bar: &Bar2, mem: &mut Memories<'_>, i: usize, result: &mut RunResult) {
        let start = Instant::now();
        bar.store64(self.variant.desc_word(i, 0), desc::STATUS_STARTED);
        bar.add64(emu::BLOCK + emu::OFF_CNT_STARTED, 1);
        let seq = bar.load64(emu::BLOCK + emu::OFF_CNT_STARTED);
        let (w1, w2, w3) = (
            bar.load64(self.variant.desc_word(i, 1)),
            bar.load64(self.variant.desc_word(i, 2)),
            bar.load64(self.variant.desc_word(i, 3)),
        );
        let control = ((w1 >> 32) & 0xf) as u8;
        let outcome = match Desc::decode(w1, w2, w3) {
            None => Err(desc::EXC_ADDR_SPACE),
            Some(_) if bar.load64(emu::BLOCK + emu::OFF_CTL_EXC_AT) == seq => {
                Err(desc::EXC_INJECTED)
            }
            Some(d) => Self::copy(bar, mem, &d),
        };
        match outcome {
            Ok(bytes) => {
                Self::throttle(bar, start, bytes);
                let order = ((w1 >> desc::ORDER_SHIFT) as u8) & desc::ORDER_MASK;
                if order & desc::ORDER_RO != 0 {
                    bar.add64(emu::BLOCK + emu::OFF_CNT_DESCS_RO, 1);
                }
                if order & self.variant.order_ido() != 0 {
                    bar.add64(emu::BLOCK + emu::OFF_CNT_DESCS_IDO, 1);
                }
                bar.store64(self.variant.desc_word(i, 0), desc::STATUS_COMPLETED);
                bar.add64(emu::BLOCK + emu::OFF_CNT_BYTES, bytes);
                bar.add64(emu::BLOCK + emu::OFF_CNT_DESCS, 1);
                self.publish(bar, ((i + 1) % desc::NUM) as u64);
                result.completed += 1;
                if control & desc::CTL_INTR_COMPLETION != 0 {
                    self.completion_irq(bar, result);
                }
            }
            Err(code) => {
                bar.store64(
                    self.variant.desc_word(i, 0),
                    desc::word0(desc::STATUS_STARTED, code),
                );
                bar.add64(emu::BLOCK + emu::OFF_CNT_EXCEPTIONS, 1);
                // The read pointer stays on the faulting descriptor.
                self.publish(bar, dmactl::EXCEPTION | i as u64);
                if control & (desc::CTL_INTR_ERR | desc::CTL_INTR_COMPLETION) != 0 {
                    result.irq = true;
                }
            }
        }
        bar.add64(
            emu::BLOCK + emu::OFF_CNT_BUSY_NS,
            start.elapsed().as_nanos() as u64,
        );
    }

    /// A completion asked for an interrupt: raise it unless the test controls coalesce or drop it.
    fn completion_irq(&mut self, bar: &Bar2, result: &mut RunResult) {
        self.pending_irqs += 1;
        let every = bar.load64(emu::BLOCK + emu::OFF_CTL_IRQ_COALESCE).max(1);
        if self.pending_irqs < every {
            return;
        }
        self.pending_irqs = 0;
        let drop = bar.load64(emu::BLOCK + emu::OFF_CTL_IRQ_DROP);
        if drop > 0 {
            bar.store64(emu::BLOCK + emu::OFF_CTL_IRQ_DROP, drop - 1);
            bar.add64(emu::BLOCK + emu::OFF_CNT_IRQS_DROPPED, 1);
            return;
        }
        result.irq = true;
    }

    /// Checks a descriptor and copies. Returns the bytes copied or the exception code. Both
    /// ranges are resolved (and, behind the emulated IOMMU, translated page by page) before the
    /// first byte moves: a descriptor that fails copies nothing.
    fn copy(bar: &Bar2, mem: &mut Memories<'_>, d: &Desc) -> Result<u64, u16> {
        let len = u64::from(d.len);
        if len % desc::ALIGN != 0 || d.src % desc::ALIGN != 0 || d.dst % desc::ALIGN != 0 {
            return Err(desc::EXC_MISALIGNED);
        }
        if len > desc::LEN_MAX {
            return Err(desc::EXC_LENGTH);
        }
        if len == 0 {
            // A neutralised descriptor: nothing to do.
            return Ok(0);
        }
        let vh = if d.src_space == AddrSpace::Vhsaa {
            Some(d.src)
        } else if d.dst_space == AddrSpace::Vhsaa {
            Some(d.dst)
        } else {
            None
        };
        if let Some(addr) = vh {
            bar.store64(emu::BLOCK + emu::OFF_LAST_VH_ADDR, addr);
        }
        // The IOMMU controls as they are now: no translation outlives this descriptor.
        let bus = HostBus::load(bar, mem.iommu);
        let src = mem.spans(bar, bus, d.src_space, d.src, len, Access::Read)?;
        let dst = mem.spans(bar, bus, d.dst_space, d.dst, len, Access::Write)?;
        // SAFETY: every span was bounds-checked against its memory by `spans`, both total `len`
        // bytes; `copy_spans` allows overlap within a piece (same space). The guest may touch its
        // RAM meanwhile, as real DMA allows.
        unsafe { copy_spans(&src, &dst) };
        Ok(len)
    }

    /// Applies the delay and bandwidth controls to a descriptor that started at `start`.
    fn throttle(bar: &Bar2, start: Instant, bytes: u64) {
        let mut target = Duration::from_micros(bar.load64(emu::BLOCK + emu::OFF_CTL_DELAY_US));
        let cap = bar.load64(emu::BLOCK + emu::OFF_CTL_BW_MIBS);
        if cap > 0 {
            target += Duration::from_secs_f64(bytes as f64 / (cap as f64 * 1048576.0));
        }
        let spent = start.elapsed();
        if target > spent {
            std::thread::sleep(target - spent);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vtd::{
        testing::{
            Vt,
            RO,
            RW,
            WO, //
        },
        Tables,
    };

    const MIB: u64 = 1 << 20;
    /// Most cases run the VE1 engine; [`ve3_engine`] the VE3 one.
    const V: Variant = Variant::Ve1;
    const CTL0: usize = V.ctl0();
    const CTL1: usize = V.ctl1();

    fn desc_word(i: usize, w: usize) -> usize {
        V.desc_word(i, w)
    }

    struct Rig {
        bar: Bar2,
        /// Guest RAM, with a table builder for the IOMMU tests.
        vt: Vt,
        ve_mem: Mapping,
        regs: Vec<u8>,
        engine: Engine,
        iommu: bool,
    }

    impl Rig {
        fn new() -> Self {
            Self::with(16 * MIB, false)
        }

        /// A rig with `ram` bytes of guest RAM, as `ve-emu --iommu` if `iommu`.
        fn with(ram: u64, iommu: bool) -> Self {
            let bar = Bar2::new().unwrap();
            let ve_mem = Mapping::sparse((128 * MIB) as usize).unwrap();
            let engine = Engine::reset(&bar, V);
            Rig {
                bar,
                vt: Vt::new(ram),
                ve_mem,
                regs: vec![0; emu::VERAA_SIZE],
                engine,
                iommu,
            }
        }

        fn run(&mut self) -> RunResult {
            let mut mem = Memories {
                ram: &self.vt.ram,
                ve_mem: &self.ve_mem,
                ve_regs: &mut self.regs,
                iommu: self.iommu,
            };
            self.engine.run(&self.bar, &mut mem).unwrap()
        }

        /// Writes descriptor `i` as the driver does: words 1-3, then word 0.
        fn post_words(&self, i: usize, w: [u64; 4]) {
            for (k, v) in w.iter().enumerate().skip(1) {
                self.bar.store64(desc_word(i, k), *v);
            }
            self.bar.store64(desc_word(i, 0), w[0]);
        }

        fn post(&self, i: usize, d: Desc) {
            self.post_words(i, d.encode().unwrap());
        }

        fn permit(&self, on: bool) {
            self.bar
                .store64(CTL0, if on { dmactl::PERMIT } else { dmactl::DISABLE });
        }

        fn ram_fill(&self, gpa: u64, len: usize, seed: u8) {
            let p = self.vt.ram.host_ptr(gpa, len as u64).unwrap();
            for k in 0..len {
                // SAFETY: in bounds (checked by host_ptr).
                unsafe { p.add(k).write(seed.wrapping_add((k * 7) as u8)) };
            }
        }

        fn ram_bytes(&self, gpa: u64, len: usize) -> Vec<u8> {
            let p = self.vt.ram.host_ptr(gpa, len as u64).unwrap();
            // SAFETY: in bounds (checked by host_ptr).
            unsafe { std::slice::from_raw_parts(p, len).to_vec() }
        }

        fn ctl1(&self) -> u64 {
            self.bar.load64(CTL1)
        }

        /// Hands the tables over as `ve_iommu_attach` does: root table, requester, enable last.
        fn attach(&self, t: Tables) {
            self.bar
                .store64(emu::BLOCK + emu::OFF_CTL_IOMMU_RTADDR, t.rtaddr);
            self.bar
                .store64(emu::BLOCK + emu::OFF_CTL_IOMMU_SID, t.sid.into());
            self.bar.store64(emu::BLOCK + emu::OFF_CTL_IOMMU_ENABLE, 1);
        }

        fn emu(&self, off: usize) -> u64 {
            self.bar.load64(emu::BLOCK + off)
        }

        /// Fills VE memory `[at, at + len)` with words that name their own offset.
        fn ve_fill(&self, at: u64, len: usize, seed: u64) {
            let p = self.ve_mem.as_ptr().cast::<u64>();
            for k in 0..len / 8 {
                // SAFETY: inside the 128 MiB mapping (tests stay below it), 8-byte aligned.
                unsafe { p.add(at as usize / 8 + k).write(seed ^ (at + 8 * k as u64)) };
            }
        }

        fn ve_bytes(&self, at: u64, len: usize) -> Vec<u8> {
            // SAFETY: inside the 128 MiB mapping (tests stay below it).
            unsafe { std::slice::from_raw_parts(self.ve_mem.as_ptr().add(at as usize), len) }
                .to_vec()
        }
    }

    const SID: u16 = 0x18;

    fn d(src_space: AddrSpace, src: u64, dst_space: AddrSpace, dst: u64, len: u32) -> Desc {
        Desc {
            src_space,
            src,
            dst_space,
            dst,
            len,
            control: desc::CTL_INTR_COMPLETION,
            order: 0,
        }
    }

    /// The ordering attributes of word 1 are counted per descriptor run, and change nothing else.
    #[test]
    fn ordering_attributes_are_counted() {
        let mut r = Rig::new();
        let order = [
            desc::ORDER_RO,
            desc::ORDER_IDO_VE1,
            desc::ORDER_RO | desc::ORDER_IDO_VE1,
            0,
        ];
        for (i, o) in order.into_iter().enumerate() {
            r.post(
                i,
                Desc {
                    order: o,
                    ..d(AddrSpace::Vhsaa, 0x10_0000, AddrSpace::Vemaa, 0x40_0000, 64)
                },
            );
        }
        r.permit(true);
        assert_eq!(r.run().completed, 4);
        assert_eq!(r.bar.load64(emu::BLOCK + emu::OFF_CNT_DESCS_RO), 2);
        assert_eq!(r.bar.load64(emu::BLOCK + emu::OFF_CNT_DESCS_IDO), 2);
    }

    /// The VE3 engine: its ring and DMACTL at VE3's offsets, ID-based ordering as bit 4; the
    /// VE1 registers are not looked at.
    #[test]
    fn ve3_engine() {
        let mut r = Rig::new();
        let v3 = Variant::Ve3;
        r.engine = Engine::reset(&r.bar, v3);
        assert_eq!(r.bar.load64(v3.ctl0()), dmactl::STATUS_HALT);
        r.ram_fill(0x10_0000, 4096, 9);
        for (i, order) in [desc::ORDER_IDO_VE3, desc::ORDER_IDO_VE1]
            .into_iter()
            .enumerate()
        {
            let w = Desc {
                order,
                ..d(
                    AddrSpace::Vhsaa,
                    0x10_0000,
                    AddrSpace::Vemaa,
                    0x40_0000 + 4096 * i as u64,
                    4096,
                )
            }
            .encode()
            .unwrap();
            for k in [1, 2, 3, 0] {
                r.bar.store64(v3.desc_word(i, k), w[k]);
            }
        }
        // VE1's permit bit does nothing on a VE3.
        r.permit(true);
        assert_eq!(r.run().completed, 0);
        r.bar.store64(v3.ctl0(), dmactl::PERMIT);
        let res = r.run();
        assert_eq!(res.completed, 2);
        assert!(res.irq);
        assert_eq!(r.bar.load64(v3.ctl1()), 2);
        assert_eq!(
            desc::status(r.bar.load64(v3.desc_word(1, 0))),
            desc::STATUS_COMPLETED
        );
        assert_eq!(r.bar.load64(emu::BLOCK + emu::OFF_CNT_DESCS_IDO), 1);
        assert_eq!(r.ve_bytes(0x40_0000, 4096), r.ram_bytes(0x10_0000, 4096));
        assert_eq!(r.ve_bytes(0x40_1000, 4096), r.ram_bytes(0x10_0000, 4096));
        assert_eq!(r.bar.load64(CTL1), 0);
    }

    #[test]
    fn host_to_ve_and_back() {
        let mut r = Rig::new();
        r.ram_fill(0x10_0000, 8192, 3);
        r.post(
            0,
            d(
                AddrSpace::Vhsaa,
                0x10_0000,
                AddrSpace::Vemaa,
                0x40_0000,
                8192,
            ),
        );
        r.post(
            1,
            Desc {
                control: desc::CTL_INTR_COMPLETION | desc::CTL_SYNC,
                order: 0,
                ..d(
                    AddrSpace::Vemaa,
                    0x40_0000,
                    AddrSpace::Vhsaa,
                    0x20_0000,
                    8192,
                )
            },
        );
        // Not permitted yet: nothing runs, the engine reports HALT.
        assert_eq!(r.run(), RunResult::default());
        assert_eq!(
            r.bar.load64(CTL0) & dmactl::STATUS_MASK,
            dmactl::STATUS_HALT
        );
        r.permit(true);
        assert_eq!(
            r.run(),
            RunResult {
                completed: 2,
                irq: true
            }
        );
        assert_eq!(r.ram_bytes(0x20_0000, 8192), r.ram_bytes(0x10_0000, 8192));
        assert_eq!(
            desc::status(r.bar.load64(desc_word(0, 0))),
            desc::STATUS_COMPLETED
        );
        assert_eq!(
            desc::status(r.bar.load64(desc_word(1, 0))),
            desc::STATUS_COMPLETED
        );
        assert_eq!(
            r.ctl1(),
            2,
            "read pointer after two descriptors, no exception"
        );
        assert_eq!(r.bar.load64(emu::BLOCK + emu::OFF_CNT_BYTES), 16384);
        assert_eq!(r.bar.load64(emu::BLOCK + emu::OFF_CNT_DESCS), 2);
        assert_eq!(r.bar.load64(emu::BLOCK + emu::OFF_CNT_STARTED), 2);
        // Halting: clear the permit bit; the engine reports HALT on its next look.
        r.permit(false);
        r.run();
        assert_eq!(r.bar.load64(CTL0), dmactl::STATUS_HALT);
    }

    /// The halt controls: HALT reported after the delay (and counted), or never.
    #[test]
    fn halt_delay_and_wedged_engine() {
        let mut r = Rig::new();
        r.bar
            .store64(emu::BLOCK + emu::OFF_CTL_HALT_DELAY_US, 30_000);
        r.permit(true);
        r.run();
        r.permit(false);
        let t = Instant::now();
        r.run();
        assert!(
            t.elapsed() >= Duration::from_millis(30),
            "{:?}",
            t.elapsed()
        );
        assert_eq!(r.bar.load64(CTL0), dmactl::STATUS_HALT);
        assert_eq!(r.bar.load64(emu::BLOCK + emu::OFF_CNT_HALTS), 1);
        r.run();
        assert_eq!(
            r.bar.load64(emu::BLOCK + emu::OFF_CNT_HALTS),
            1,
            "a halted engine is not halted again"
        );

        r.bar
            .store64(emu::BLOCK + emu::OFF_CTL_HALT_DELAY_US, u64::MAX);
        r.permit(true);
        r.run();
        r.permit(false);
        r.run();
        assert_eq!(
            r.bar.load64(CTL0),
            dmactl::DISABLE,
            "a wedged engine never reports HALT"
        );
        assert_eq!(r.bar.load64(emu::BLOCK + emu::OFF_CNT_HALTS), 1);
    }

    #[test]
    fn register_space_and_neutralised_descriptors() {
        let mut r = Rig::new();
        r.ram_fill(0x1000, 64, 9);
        r.post(0, d(AddrSpace::Vhsaa, 0x1000, AddrSpace::Veraa, 0x100, 64));
        r.post(1, d(AddrSpace::Vhsaa, 0x1000, AddrSpace::Vemaa, 0, 0));
        r.post(2, d(AddrSpace::Veraa, 0x100, AddrSpace::Vhsaa, 0x3000, 64));
        r.permit(true);
        assert_eq!(r.run().completed, 3);
        assert_eq!(r.ram_bytes(0x3000, 64), r.ram_bytes(0x1000, 64));
        assert_eq!(r.bar.load64(emu::BLOCK + emu::OFF_CNT_BYTES), 128);
    }

    #[test]
    fn a_word0_that_is_not_prepared_stops_the_engine() {
        let mut r = Rig::new();
        // Words 1-3 written, word 0 not yet: the engine must not start it.
        let w = d(AddrSpace::Vhsaa, 0, AddrSpace::Vemaa, 0, 8)
            .encode()
            .unwrap();
        for (k, &word) in w.iter().enumerate().skip(1) {
            r.bar.store64(desc_word(0, k), word);
        }
        r.permit(true);
        assert_eq!(r.run().completed, 0);
        // A high-half-only store (exception field) is not PREPARED either.
        r.bar.store64(desc_word(0, 0), 0x0001_0000_0000_0000);
        assert_eq!(r.run().completed, 0);
        r.bar.store64(desc_word(0, 0), desc::STATUS_PREPARED);
        assert_eq!(r.run().completed, 1);
    }

    fn expect_exception(r: &mut Rig, i: usize, code: u16) {
        let res = r.run();
        assert!(
            res.irq,
            "an exception with INTR_COMPLETION raises the interrupt"
        );
        assert_eq!(desc::exception(r.bar.load64(desc_word(i, 0))), code);
        assert_eq!(r.ctl1(), dmactl::EXCEPTION | i as u64);
        // Nothing after it ran.
        assert_eq!(
            desc::status(r.bar.load64(desc_word(i + 1, 0))),
            desc::STATUS_PREPARED
        );
        assert_eq!(
            r.run().completed,
            0,
            "stopped until the exception is cleared"
        );
    }

    #[test]
    fn exceptions_stop_the_engine_until_the_read_pointer_is_written() {
        let mut r = Rig::new();
        r.permit(true);
        let ok = d(AddrSpace::Vhsaa, 0x1000, AddrSpace::Vemaa, 0, 8);
        // Misaligned address.
        r.post(0, ok);
        r.post_words(1, [desc::STATUS_PREPARED, ok.word1(), 0x1004, 0]);
        r.post(2, ok);
        assert_eq!(r.run().completed, 1);
        assert_eq!(
            desc::exception(r.bar.load64(desc_word(1, 0))),
            desc::EXC_MISALIGNED
        );
        assert_eq!(r.ctl1(), dmactl::EXCEPTION | 1);
        // The driver neutralises the faulting descriptor and writes the read pointer past it.
        r.bar.store64(CTL1, 2);
        assert_eq!(r.run().completed, 1);
        assert_eq!(r.ctl1(), 3);

        // Unknown address space (3).
        r.post_words(
            3,
            [
                desc::STATUS_PREPARED,
                (3 << 40) | (6 << 36) | (1 << 32) | 8,
                0,
                0,
            ],
        );
        r.post(4, ok);
        expect_exception(&mut r, 3, desc::EXC_ADDR_SPACE);
        // Over 64 MiB.
        r.bar.store64(CTL1, 5);
        r.post_words(
            5,
            [
                desc::STATUS_PREPARED,
                (2 << 40) | (6 << 36) | (1 << 32) | ((64 << 20) + 8),
                0,
                0,
            ],
        );
        r.post(6, ok);
        expect_exception(&mut r, 5, desc::EXC_LENGTH);
        // Guest RAM ends at 16 MiB; the PCI hole and VE memory bounds too.
        r.bar.store64(CTL1, 7);
        r.post(
            7,
            d(AddrSpace::Vhsaa, 16 * MIB - 8, AddrSpace::Vemaa, 0, 16),
        );
        r.post(8, ok);
        expect_exception(&mut r, 7, desc::EXC_ADDR_RANGE);
        r.bar.store64(CTL1, 9);
        r.post(
            9,
            d(AddrSpace::Vhsaa, 0, AddrSpace::Vemaa, 128 * MIB - 8, 16),
        );
        r.post(10, ok);
        expect_exception(&mut r, 9, desc::EXC_ADDR_RANGE);
        assert_eq!(r.bar.load64(emu::BLOCK + emu::OFF_CNT_EXCEPTIONS), 5);
    }

    #[test]
    fn injected_exception_by_sequence_number() {
        let mut r = Rig::new();
        r.permit(true);
        r.bar.store64(emu::BLOCK + emu::OFF_CTL_EXC_AT, 3);
        for i in 0..5 {
            r.post(
                i,
                d(
                    AddrSpace::Vhsaa,
                    0x1000,
                    AddrSpace::Vemaa,
                    0x8 * i as u64,
                    8,
                ),
            );
        }
        assert_eq!(r.run().completed, 2);
        assert_eq!(
            desc::exception(r.bar.load64(desc_word(2, 0))),
            desc::EXC_INJECTED
        );
        r.bar.store64(emu::BLOCK + emu::OFF_CTL_EXC_AT, 0);
        // Retrying: the driver prepares the descriptor again and writes the read pointer back.
        r.post(2, d(AddrSpace::Vhsaa, 0x1000, AddrSpace::Vemaa, 0x10, 8));
        r.bar.store64(CTL1, 2);
        assert_eq!(r.run().completed, 3);
    }

    #[test]
    fn ring_wraps_and_stall_holds() {
        let mut r = Rig::new();
        r.permit(true);
        r.bar.store64(CTL1, 127);
        r.post(127, d(AddrSpace::Vhsaa, 0x1000, AddrSpace::Vemaa, 0, 8));
        r.post(0, d(AddrSpace::Vhsaa, 0x1000, AddrSpace::Vemaa, 8, 8));
        r.bar.store64(emu::BLOCK + emu::OFF_CTL_STALL, 1);
        assert_eq!(r.run().completed, 0);
        r.bar.store64(emu::BLOCK + emu::OFF_CTL_STALL, 0);
        assert_eq!(r.run().completed, 2);
        assert_eq!(r.ctl1(), 1);
    }

    #[test]
    fn interrupts_coalesced_and_dropped() {
        let mut r = Rig::new();
        r.permit(true);
        r.bar.store64(emu::BLOCK + emu::OFF_CTL_IRQ_COALESCE, 4);
        let mut irqs = 0;
        for i in 0..8 {
            r.post(i, d(AddrSpace::Vhsaa, 0x1000, AddrSpace::Vemaa, 0, 8));
            irqs += u32::from(r.run().irq);
        }
        assert_eq!(irqs, 2, "one interrupt per four completions");
        r.bar.store64(emu::BLOCK + emu::OFF_CTL_IRQ_COALESCE, 0);
        r.bar.store64(emu::BLOCK + emu::OFF_CTL_IRQ_DROP, 1);
        r.post(8, d(AddrSpace::Vhsaa, 0x1000, AddrSpace::Vemaa, 0, 8));
        assert!(!r.run().irq, "dropped");
        r.post(9, d(AddrSpace::Vhsaa, 0x1000, AddrSpace::Vemaa, 0, 8));
        assert!(r.run().irq);
        assert_eq!(r.bar.load64(emu::BLOCK + emu::OFF_CNT_IRQS_DROPPED), 1);
        // No interrupt where none is asked for.
        r.post(
            10,
            Desc {
                control: 0,
                order: 0,
                ..d(AddrSpace::Vhsaa, 0x1000, AddrSpace::Vemaa, 0, 8)
            },
        );
        assert_eq!(
            r.run(),
            RunResult {
                completed: 1,
                irq: false
            }
        );
    }

    fn vh2ve(iova: u64, ve: u64, len: u32) -> Desc {
        d(AddrSpace::Vhsaa, iova, AddrSpace::Vemaa, ve, len)
    }

    fn ve2vh(ve: u64, iova: u64, len: u32) -> Desc {
        d(AddrSpace::Vemaa, ve, AddrSpace::Vhsaa, iova, len)
    }

    /// With `--iommu`, every VHSAA access faults until the tables are handed over, and nothing
    /// moves; VE-only descriptors run. Once attached, the same descriptor copies through the
    /// tables. [`emu::OFF_LAST_VH_ADDR`] follows the VHSAA side of each descriptor.
    #[test]
    fn iommu_refuses_until_attached() {
        let mut r = Rig::with(64 * MIB, true);
        let (t, top) = r.vt.context(SID, 0, 1);
        let iova = 0x7fff_e000;
        r.vt.map(top, 3, iova, 0x200_0000, 1, RW);
        r.ram_fill(0x200_0000, 4096, 5);
        r.permit(true);
        r.post(0, vh2ve(iova, 0x1000, 4096));
        r.post(1, vh2ve(iova, 0x1000, 4096));
        expect_exception(&mut r, 0, desc::EXC_IOMMU_FAULT);
        assert_eq!(r.emu(emu::OFF_CNT_IOMMU_FAULTS), 1);
        assert_eq!(r.emu(emu::OFF_IOMMU_LAST_FAULT), iova);
        assert_eq!(
            r.emu(emu::OFF_IOMMU_LAST_FAULT_REASON),
            emu::IOMMU_FAULT_NOT_ENABLED
        );
        assert_eq!(r.emu(emu::OFF_LAST_VH_ADDR), iova);
        assert!(r.ve_bytes(0x1000, 4096) == vec![0; 4096], "nothing copied");
        // VE to VE needs no IOMMU and leaves the last VHSAA address alone.
        r.bar.store64(CTL1, 1);
        r.post(1, d(AddrSpace::Vemaa, 0, AddrSpace::Vemaa, 0x8000, 64));
        assert_eq!(r.run().completed, 1);
        assert_eq!(r.emu(emu::OFF_LAST_VH_ADDR), iova);
        // Attached: translated.
        r.attach(t);
        r.post(2, vh2ve(iova, 0x1000, 4096));
        r.post(3, ve2vh(0x1008, iova + 8, 16));
        assert_eq!(r.run().completed, 2);
        assert!(r.ve_bytes(0x1000, 4096) == r.ram_bytes(0x200_0000, 4096));
        assert_eq!(r.emu(emu::OFF_CNT_IOMMU_PAGES), 2);
        assert_eq!(r.emu(emu::OFF_LAST_VH_ADDR), iova + 8);
        // Without `--iommu` the controls mean nothing: the address is guest-physical.
        let mut p = Rig::with(64 * MIB, false);
        p.attach(t);
        p.ram_fill(0x7fff_e000 & (64 * MIB - 1), 64, 1);
        p.permit(true);
        p.post(0, vh2ve(0x200_0000, 0, 64));
        assert_eq!(p.run().completed, 1);
        assert_eq!(p.emu(emu::OFF_CNT_IOMMU_PAGES), 0);
        assert_eq!(p.emu(emu::OFF_LAST_VH_ADDR), 0x200_0000);
    }

    /// One descriptor over IOVA pages that are scattered (and out of order) in guest memory,
    /// starting and ending inside a page, both directions.
    #[test]
    fn descriptor_over_discontiguous_iova_pages() {
        let mut r = Rig::with(64 * MIB, true);
        let (t, top) = r.vt.context(SID, 0, 2);
        let iova = 0xffe0_0000u64;
        let gpa = |i: u64| 0x200_0000 + ((i * 5) % 16) * 0x2000;
        for i in 0..16 {
            r.vt.map(top, 4, iova + i * 4096, gpa(i), 1, RW);
        }
        r.attach(t);
        r.permit(true);
        let (start, len) = (iova + 0x808, 15 * 4096 - 0x100);
        r.ve_fill(0x10_0000, len, 0xabcd);
        r.post(0, ve2vh(0x10_0000, start, len as u32));
        r.post(1, vh2ve(start, 0x20_0000, len as u32));
        assert_eq!(r.run().completed, 2);
        assert!(r.ve_bytes(0x20_0000, len) == r.ve_bytes(0x10_0000, len));
        let ve = r.ve_bytes(0x10_0000, len);
        let mut done = 0;
        while done < len {
            let at = start + done as u64;
            let page = (at - iova) / 4096;
            let n = (4096 - (at % 4096) as usize).min(len - done);
            assert!(
                r.ram_bytes(gpa(page) + at % 4096, n) == ve[done..done + n],
                "page {page}"
            );
            done += n;
        }
        // 0x808 into page 0 to 0x708 into page 15: 16 pages each way.
        assert_eq!(r.emu(emu::OFF_CNT_IOMMU_PAGES), 2 * 16);
        assert_eq!(r.emu(emu::OFF_CNT_IOMMU_FAULTS), 0);
    }

    /// A destination page without write permission (the last of four), or a source page without
    /// read permission: the descriptor fails with its IOVA recorded, and not one byte moved.
    #[test]
    fn permission_fault_copies_nothing() {
        let mut r = Rig::with(64 * MIB, true);
        let (t, top) = r.vt.context(SID, 0, 1);
        let iova = 0x4000_0000u64;
        for i in 0..4 {
            let perm = if i == 3 { RO } else { RW };
            r.vt.map(top, 3, iova + i * 4096, 0x200_0000 + i * 4096, 1, perm);
        }
        r.vt.map(top, 3, iova + 0x10_0000, 0x300_0000, 1, WO);
        r.attach(t);
        r.permit(true);
        r.ve_fill(0, 4 * 4096, 1);
        r.post(0, ve2vh(0, iova, 4 * 4096));
        r.post(1, ve2vh(0, iova, 8));
        expect_exception(&mut r, 0, desc::EXC_IOMMU_FAULT);
        assert!(r.ram_bytes(0x200_0000, 4 * 4096) == vec![0; 4 * 4096]);
        assert_eq!(r.emu(emu::OFF_IOMMU_LAST_FAULT), iova + 3 * 4096);
        assert_eq!(
            r.emu(emu::OFF_IOMMU_LAST_FAULT_REASON),
            emu::IOMMU_FAULT_WRITE
        );
        // A write-only page as a source.
        r.bar.store64(CTL1, 2);
        r.post(2, vh2ve(iova + 0x10_0000, 0x5_0000, 64));
        r.post(3, vh2ve(iova, 0x5_0000, 8));
        expect_exception(&mut r, 2, desc::EXC_IOMMU_FAULT);
        assert_eq!(r.ve_bytes(0x5_0000, 64), vec![0; 64]);
        assert_eq!(
            r.emu(emu::OFF_IOMMU_LAST_FAULT_REASON),
            emu::IOMMU_FAULT_READ
        );
        assert_eq!(r.emu(emu::OFF_CNT_IOMMU_FAULTS), 2);
        // Unmapped: the next descriptor after the read pointer is written runs.
        r.bar.store64(CTL1, 3);
        assert_eq!(r.run().completed, 1);
    }

    /// NEC's longest descriptor, 64 MiB, over 16384 IOVA pages scattered over guest memory in 4
    /// KiB pieces: copied to the guest and back, every page where its table entry says.
    #[test]
    fn sixty_four_mib_over_fragmented_pages() {
        let mut r = Rig::with(128 * MIB, true);
        let (t, top) = r.vt.context(SID, 0, 2);
        let pages = desc::LEN_MAX / 4096;
        let iova = 0x1_0000_0000u64;
        // A permutation of 16384 pages (7919 is prime, so coprime with 16384).
        let gpa = |i: u64| 0x200_0000 + ((i * 7919) % pages) * 4096;
        for i in 0..pages {
            r.vt.map(top, 4, iova + i * 4096, gpa(i), 1, RW);
        }
        r.attach(t);
        r.permit(true);
        let len = desc::LEN_MAX as usize;
        r.ve_fill(0, len, 0x5a5a);
        r.post(0, ve2vh(0, iova, desc::LEN_MAX as u32));
        r.post(1, vh2ve(iova, desc::LEN_MAX, desc::LEN_MAX as u32));
        assert_eq!(r.run().completed, 2);
        let ve = r.ve_bytes(0, len);
        for i in (0..pages).step_by(97).chain([pages - 1]) {
            let at = (i * 4096) as usize;
            assert!(r.ram_bytes(gpa(i), 4096) == ve[at..at + 4096], "page {i}");
        }
        assert!(r.ve_bytes(desc::LEN_MAX, len) == ve, "the way back");
        assert_eq!(r.emu(emu::OFF_CNT_IOMMU_PAGES), 2 * pages);
    }

    /// A descriptor from the end of a 2 MiB page into a 1 GiB page; and pass-through.
    #[test]
    fn super_pages_and_pass_through() {
        let mut r = Rig::with(2048 * MIB, true);
        let (t, top) = r.vt.context(SID, 0, 1);
        let gib = 0x40_0000_0000u64;
        r.vt.map(top, 3, gib - 2 * MIB, 0x200_0000, 2, RW);
        r.vt.map(top, 3, gib, 0x4000_0000, 3, RW);
        r.attach(t);
        r.permit(true);
        r.ve_fill(0, 2 << 20, 7);
        r.post(0, ve2vh(0, gib - MIB, 2 << 20));
        assert_eq!(r.run().completed, 1);
        let ve = r.ve_bytes(0, 2 << 20);
        assert!(r.ram_bytes(0x210_0000, 1 << 20) == ve[..1 << 20]);
        assert!(r.ram_bytes(0x4000_0000, 1 << 20) == ve[1 << 20..]);
        assert_eq!(r.emu(emu::OFF_CNT_IOMMU_PAGES), 2);

        let mut r = Rig::with(64 * MIB, true);
        let (t, _) = r.vt.context(SID, 2, 1);
        r.attach(t);
        r.permit(true);
        r.ram_fill(0x200_0800, 8192, 3);
        r.post(0, vh2ve(0x200_0800, 0, 8192));
        assert_eq!(r.run().completed, 1);
        assert!(r.ve_bytes(0, 8192) == r.ram_bytes(0x200_0800, 8192));
        assert_eq!(r.emu(emu::OFF_CNT_IOMMU_PASSTHROUGH), 3);
        assert_eq!(r.emu(emu::OFF_CNT_IOMMU_PAGES), 0);
    }
}
