// SPDX-License-Identifier: GPL-2.0

//! The PCI binding of one card: its index and device node, its interrupt, the halt before bus
//! mastering at probe, and unbind.

use kernel::{
    device::Bound,
    pci::{
        self,
        DevresBar, //
    },
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc, //
    }, //
};

use super::{
    cores::{
        EntryIrq,
        Exsrar, //
    },
    pdma::{
        halt_engine,
        PdmaIrq, //
    },
    sysfs::{
        VE1_ATTRIBUTES,
        VE3_ATTRIBUTES, //
    },
    Card,
    CardFacts, //
};
use crate::dma::Channel as _;
use crate::{
    chip::{
        Chip,
        Kick, //
    },
    dma::{
        cache::RegCache,
        engine::HaltOutcome, //
    },
    hw,
    regs::{
        self,
        Regs, //
    },
    sys::{
        self,
        copy_slots::CopyBuffer,
        dma_map::DmaMode,
        CharClass,
        CharNode,
        MsixIrq,
        NodeFile, //
    },
};

/// Cards one host may carry (NEC supports 8 VEs per VH).
pub(crate) const MAX_CARDS: usize = 16;

/// NEC's device class `ve` and the char-device region `ve_drv` of `/dev/ve0` ..: nodes are
/// world-readable and writable, as NEC's are (its pseudo processes open them as ordinary users),
/// and every ioctl but the unprivileged ones checks `CAP_SYS_ADMIN`. The module registers it
/// before the PCI drivers and unregisters it after them.
pub(crate) static VE_CLASS: CharClass = CharClass::new::<0o666>(c"ve", c"ve_drv", MAX_CARDS as u32);

/// Bitmap of card indices in use.
static CARD_INDICES: Atomic<u64> = Atomic::new(0);

/// A card index, reserved until dropped.
///
/// # Invariants
///
/// `self.0 < MAX_CARDS` and bit `self.0` of [`CARD_INDICES`] is set and owned by this value.
pub(crate) struct CardIndex(u32);

impl CardIndex {
    /// Reserves the lowest free index, or fails with `ENOSPC`.
    pub(crate) fn alloc() -> Result<Self> {
        let mut cur = CARD_INDICES.load(Relaxed);
        loop {
            let free = (!cur).trailing_zeros() as usize;
            if free >= MAX_CARDS {
                return Err(ENOSPC);
            }
            match CARD_INDICES.cmpxchg(cur, cur | (1 << free), kernel::sync::atomic::Full) {
                // INVARIANT: the bit was clear and this cmpxchg set it.
                Ok(_) => return Ok(Self(free as u32)),
                Err(now) => cur = now,
            }
        }
    }

    /// The index.
    pub(crate) fn get(&self) -> u32 {
        self.0
    }
}

impl Drop for CardIndex {
    fn drop(&mut self) {
        let bit = 1u64 << self.0;
        let mut cur = CARD_INDICES.load(Relaxed);
        while let Err(now) = CARD_INDICES.cmpxchg(cur, cur & !bit, kernel::sync::atomic::Full) {
            cur = now;
        }
    }
}

/// Copy slots per card for short transfers (`dma_copy_max`).
const COPY_SLOTS: usize = 16;
/// The longest a copy slot may be.
const COPY_MAX: u32 = 64 << 10;

/// The copy slots' length by default: with direct mapping a pin costs little more than a copy
/// of one page; behind an IOMMU (or bounce buffers) each pinned request also maps, unmaps and
/// invalidates, and copies of up to 32 KiB win (the benchmark's latency table).
const COPY_DEFAULT_DIRECT: u32 = 4096;
const COPY_DEFAULT_MAPPED: u32 = 32 << 10;

/// Bytes the registration cache may hold, as `dma_cache_mib` asks. None with bounce buffers:
/// a bounced mapping is copied at map and unmap time, so a kept one would go stale.
fn cache_cap(mode: DmaMode) -> u64 {
    if mode == DmaMode::Bounce {
        return 0;
    }
    u64::from(crate::module_parameters::dma_cache_mib.value()) << 20
}

/// The card's copy buffer, as `dma_copy_max` asks (`None` if 0, or if the allocation fails: then
/// every transfer pins).
fn copy_buffer(pdev: &pci::Device<Bound>, mode: DmaMode) -> Option<CopyBuffer> {
    let len = match u32::try_from(crate::module_parameters::dma_copy_max.value()) {
        Ok(len) => len,
        Err(_) if mode == DmaMode::Direct => COPY_DEFAULT_DIRECT,
        Err(_) => COPY_DEFAULT_MAPPED,
    };
    let len = len.min(COPY_MAX) & !7;
    if len == 0 {
        return None;
    }
    CopyBuffer::new(pdev.as_ref(), COPY_SLOTS, len as usize)
        .inspect_err(|e| {
            dev_warn!(
                pdev,
                "no DMA buffer for copied transfers ({e:?}): every transfer pins\n"
            )
        })
        .ok()
}

/// What the PCI binding of one card owns: its device node, whose files are `F`, its interrupt and
/// the card. Fields drop in declaration order: the device node goes first (no new opens), then the
/// interrupt (no handler runs after `free_irq`), then the rest.
#[pin_data]
pub(crate) struct CardBinding<'bound, F: NodeFile<Data = Arc<Card>> + 'static> {
    node: CharNode<F>,
    #[pin]
    irq: MsixIrq<'bound, PdmaIrq, EntryIrq>,
    card: Arc<Card>,
    _index: CardIndex,
}

impl<'bound, F: NodeFile<Data = Arc<Card>> + 'static> CardBinding<'bound, F> {
    /// Brings up a probed card: its interrupt, then its device node `/dev/veN`.
    pub(crate) fn new(
        pdev: &'bound pci::Device<Bound>,
        facts: CardFacts,
        index: CardIndex,
        regs: DevresBar,
        doorbell: Option<DevresBar>,
    ) -> impl PinInit<Self, Error> + 'bound {
        pin_init::pin_init_scope(move || {
            let chip = facts.chip;
            let exsrar = Exsrar::new(pdev.as_ref())?;
            let copy = copy_buffer(pdev, facts.dma.mode());
            let cache = RegCache::new(cache_cap(facts.dma.mode()))?;
            let card = Arc::pin_init(
                Card::new(facts, regs, doorbell, exsrar, copy, cache),
                GFP_KERNEL,
            )?;
            // Every pending interrupt bit cleared, as NEC's probe does (all ones; VE1: 20
            // writes).
            card.with_regs(|r| r.intvec_clear_all())?;
            // Probe halted the engine and cleared its descriptors before it enabled bus
            // mastering (`halt_before_master`), and nothing has permitted it since: the manager
            // starts from a halted engine at its read pointer.
            let readptr = card.with_regs(|r| r.pdma_ctl1())? & hw::dmactl::READPTR_MASK;
            {
                let mut dma = card.dma().lock();
                dma.reset(readptr as usize)?;
                dma.set_poll_us(crate::module_parameters::dma_poll_us.value());
            }
            let handler = PdmaIrq { card: card.clone() };
            let entry_card = card.clone();
            let entry_handler = move |entry| match (chip.irq_entry)(entry) {
                hw::ve1::Entry::Unused | hw::ve1::Entry::Pdma => None,
                _ => Some(EntryIrq {
                    card: entry_card.clone(),
                    entry,
                }),
            };
            Ok(try_pin_init!(Self {
                irq <- MsixIrq::new(
                    pdev,
                    chip.msix_vectors()..=chip.msix_max,
                    chip.pdma.vector,
                    c"ve_drv-pdma",
                    Ok::<_, Error>(handler),
                    c"ve_drv",
                    entry_handler,
                ),
                node: CharNode::new(
                    &VE_CLASS,
                    pdev.as_ref(),
                    c"ve",
                    index.get(),
                    card.clone(),
                    if chip.is_ve3() {
                        &VE3_ATTRIBUTES
                    } else {
                        &VE1_ATTRIBUTES
                    },
                )?,
                card,
                _index: index,
            })
            .pin_chain(|this| {
                this.card.set_msix_vectors(this.irq.vectors());
                // Last, when nothing else can fail: each enabled core reports its EXS to its
                // slot. If programming fails half-way, the cores are stopped and every EXSRAR
                // disabled again before the card (and its slots) can go.
                if let Err(e) = this.card.program_exsrar() {
                    // Reported by the caller's failed probe; the cores' state does not change it.
                    let _ = this.card.stop_cores();
                    return Err(e);
                }
                // Dropped by `unbind` (`Card::end_tasks`): it holds the node's device.
                this.card.set_task_notifier(this.node.notifier());
                Ok(())
            }))
        })
    }

    /// Called while the device is still bound, before the binding is dropped: the engine is
    /// taken back from a user-space manager (its register mapping zapped: a later access gets
    /// SIGBUS, as through every other mapping of the card's windows), halted, every request fails
    /// with `ENODEV` and its pages are unpinned (kept, if the engine will not halt); no request
    /// starts and no mapping gets the engine again; bus mastering is turned off.
    pub(crate) fn unbind(&self, pdev: &pci::Device<Bound>) {
        // A card reset under way finishes first; none starts after this (it finds the card
        // removed).
        let management = self.card.sysfs.lock_management();
        // The cores stop and report nothing more to their EXSRAR slots (freed below).
        let cores_stopped = self.card.stop_cores();
        if let Err(e) = &cores_stopped {
            dev_warn!(pdev, "cores not stopped at unbind: {:?}\n", e);
        }
        let mut dma = self.card.dma().lock();
        // Under `dma`: no request opens, no engine is lent and no register page is mapped after
        // this.
        self.card.mark_removed();
        dma.shut_down(&*self.card);
        let dead = dma.engine().is_dead();
        if dead {
            dev_warn!(pdev, "privileged DMA engine did not halt\n");
        }
        drop(dma);
        drop(management);
        // The mappings that do not hold the engine map nothing more, and lose what they mapped.
        self.card.zap_window_maps();
        // Closers waiting for VEOS finish; the task table lets go of the node.
        self.card.end_tasks();
        sys::clear_master(pdev);
        // NEC's pins: the engine is halted (it was taken back from VEOS) and may not master the
        // bus, so nothing VEOS posted can reach them: unmapped and unpinned now, as the DMA API's
        // mappings end with the binding. An engine that would not halt may still reach them:
        // they stay pinned and mapped for good.
        let nec_pins = self.card.pins().lock().take_every_list();
        if dead {
            core::mem::forget(nec_pins);
        } else {
            drop(nec_pins);
        }
        // The copy buffer: no descriptor is posted after the shutdown above, and the engine can
        // reach a slot only through a descriptor of a request holding it: a slot kept for an
        // engine that would not halt keeps the buffer for good (a dead engine alone does not).
        if let Some(copy) = self.card.take_copy_buffer() {
            if copy.kept() {
                core::mem::forget(copy);
            } else {
                drop(copy);
            }
        }
        // The registration cache's entries: those a request still held were released with it
        // above (or kept for good with a dead engine); the others no descriptor can reach.
        self.card.cache().drain();
        // The EXSRAR slots likewise, unless a core may still report to one.
        let exsrar = self.card.take_exsrar();
        if cores_stopped.is_err() {
            core::mem::forget(exsrar);
        } else {
            drop(exsrar);
        }
        self.card.notify_dma();
    }
}

/// Probe, before bus mastering is enabled: stops whatever ran the engine before (firmware,
/// a kernel before kexec, a driver that crashed) with the halt protocol of [`Card::halt_pdma`],
/// and clears its descriptors, so that no stale descriptor can reach host memory once the device
/// may master the bus. Works on the BARs directly (`doorbell`: the emulator's, `emu_peer` its
/// peer id). `ETIMEDOUT` if the engine does not halt, `ENODEV` if it reads as gone.
pub(crate) fn halt_before_master(
    chip: &'static Chip,
    bar: &pci::Bar<'_>,
    doorbell: Option<&pci::Bar<'_>>,
    emu_peer: u32,
) -> Result {
    let r = Regs::new(bar, chip);
    match halt_engine(
        || r.pdma_set_permit(false),
        || regs::kick(chip, doorbell, emu_peer),
        || r.pdma_ctl0(),
    ) {
        HaltOutcome::Halted => r.pdma_clear_descriptors(),
        HaltOutcome::TimedOut => Err(ETIMEDOUT),
        HaltOutcome::Gone => Err(ENODEV),
    }
}

/// Whether a chip rings a doorbell (the emulator), for probe.
pub(crate) fn needs_doorbell(chip: &Chip) -> bool {
    chip.kick == Kick::IvshmemDoorbell
}

/// Whether `len`, the size of the register BAR, covers the chip's system-common block.
pub(crate) fn scr_bar_fits(chip: &Chip, len: u64) -> bool {
    (chip.scr_offset + chip.scr_size) as u64 <= len
}

#[kunit_tests(ve_drv_card)]
mod tests {
    use super::*;
    use crate::chip;

    /// Indices are handed out lowest-free-first, never twice, and come back when dropped. Cards
    /// bound while the test runs (the emulator at insmod) keep theirs: the test only assumes that
    /// nothing is probed concurrently.
    #[test]
    fn card_index_alloc_release() -> Result {
        let a = CardIndex::alloc()?;
        let b = CardIndex::alloc()?;
        assert_ne!(a.get(), b.get());
        assert!((a.get() as usize) < MAX_CARDS && (b.get() as usize) < MAX_CARDS);
        let freed = a.get();
        drop(a);
        let c = CardIndex::alloc()?;
        assert_eq!(c.get(), freed);

        let mut held = KVec::new();
        loop {
            match CardIndex::alloc() {
                Ok(i) => held.push(i, GFP_KERNEL)?,
                Err(e) => {
                    assert_eq!(e, ENOSPC);
                    break;
                }
            }
        }
        assert!(held.len() + 2 <= MAX_CARDS);
        let mut seen = 0u64;
        for i in Iterator::chain(held.iter(), [&b, &c]) {
            assert_eq!(seen & (1 << i.get()), 0);
            seen |= 1 << i.get();
        }
        drop(held);
        assert!(CardIndex::alloc().is_ok());
        Ok(())
    }

    /// The variant table is self-consistent: the PDMA vector is allocated, the register block
    /// fits in the BAR size probe demands, and the emulator mirrors VE1's or VE3's layout.
    #[test]
    fn chip_table() {
        for chip in [&chip::VE1, &chip::VE3, &chip::EMULATOR, &chip::EMULATOR_VE3] {
            assert!(chip.msix_vectors() > chip.pdma.vector);
            assert!(chip.msix_max >= chip.msix_vectors());
            assert!((chip.irq_entry)(chip.pdma.vector) == hw::ve1::Entry::Pdma);
            assert!(chip.pdma.desc + hw::desc::NUM * hw::desc::SIZE <= chip.pdma.ctl);
            assert!(chip.pdma.ctl + 16 <= chip.scr_size);
            assert!(scr_bar_fits(chip, (chip.scr_offset + chip.scr_size) as u64));
            assert!(!scr_bar_fits(
                chip,
                (chip.scr_offset + chip.scr_size - 1) as u64
            ));
        }
        assert!(scr_bar_fits(&chip::EMULATOR, hw::emu::BAR2_SIZE as u64));
        assert_eq!(chip::EMULATOR.scr_offset, chip::VE1.scr_offset);
        assert_eq!(chip::EMULATOR.pdma, chip::VE1.pdma);
        assert_eq!(chip::EMULATOR.msix_max, hw::emu::VECTORS);
        assert!(chip::EMULATOR.msix_vectors() <= hw::emu::VECTORS);
        assert!(!chip::EMULATOR.intvec_w1c && chip::VE1.intvec_w1c);
        assert!(needs_doorbell(&chip::EMULATOR) && !needs_doorbell(&chip::VE1));
        let emu3 = &chip::EMULATOR_VE3;
        assert!(scr_bar_fits(emu3, hw::emu::BAR2_SIZE as u64));
        assert!(emu3.scr_offset + emu3.scr_size <= hw::emu::BLOCK);
        assert_eq!(
            emu3.scr_offset - hw::emu::VE3_BAR4_IMAGE,
            chip::VE3.scr_offset
        );
        assert_eq!(emu3.pdma, chip::VE3.pdma);
        assert_eq!(emu3.order_ido, chip::VE3.order_ido);
        assert!(emu3.msix_vectors() <= hw::emu::VECTORS);
        assert!(!emu3.intvec_w1c && needs_doorbell(emu3));
    }

    /// What reporting to `WAIT_INTR` clears (reference 6.4): on VE1 the lower word's bits when a
    /// DMA entry (16-48) was caught, nothing for a fault alone; on VE3 words 1 and 2 in INTVEC1
    /// and INTVEC2 when the privileged or a user DMA bit was caught, nothing for a PCI exception
    /// or an error alone.
    #[test]
    fn wait_intr_clears() {
        use crate::chip::NodePath;
        let none = |c: [(usize, u64); 2]| c.iter().all(|&(_, m)| m == 0);
        let c = NodePath::Ve1.clears(&[0, 1 << 48, 0, 0]);
        assert_eq!(c[0], (hw::scr::INTVEC, 1 << 15));
        assert!(none(NodePath::Ve1.clears(&[1 << 3, 0, 0, 0])));
        assert!(none(NodePath::Ve1.clears(&[0, 1 << 56, 0, 0])));
        let c = NodePath::Ve3.clears(&[0, 1 | (1 << 43), 1 << 3, 0]);
        assert_eq!(c[0], (hw::ve3::INTVEC1, (1 << 63) | (1 << 20)));
        assert_eq!(c[1], (hw::ve3::INTVEC2, 1 << 60));
        assert!(none(NodePath::Ve3.clears(&[0, 1 << 43, 0, 1 << 5])));
        assert_eq!(chip::VE1.node, NodePath::Ve1);
        assert_eq!(chip::EMULATOR_VE3.node, NodePath::Ve3);
        // Cleared at probe besides the cores' INTVEC: VE3's engine bit is among them.
        assert!(NodePath::Ve1.also_cleared().is_empty());
        assert!(NodePath::Ve3
            .also_cleared()
            .contains(&chip::VE3.pdma.intvec));
    }

    /// NEC's mmap windows: the system-common registers' file offset lies in the register window
    /// of their BAR at their offset; the withheld pages are page aligned and inside the block,
    /// and cover the descriptors and DMACTL; on the emulator every window fits its 256 MiB BAR2,
    /// none overlaps another, and the identification block is in none.
    #[test]
    fn window_table() -> Result {
        use crate::card::windows::{
            inside,
            withheld, //
        };
        use crate::chip::WindowKind;
        for chip in [&chip::VE1, &chip::VE3, &chip::EMULATOR, &chip::EMULATOR_VE3] {
            let regs = chip
                .windows
                .iter()
                .find(|w| w.kind == WindowKind::Registers && w.bar == chip.scr_bar)
                .ok_or(EINVAL)?;
            assert!(chip.mmap_scr >= regs.file_offset);
            assert_eq!(
                regs.bar_offset + (chip.mmap_scr - regs.file_offset),
                chip.scr_offset as u64
            );
            for &p in chip.scr_withheld {
                assert_eq!(p % 4096, 0);
                assert!(p < chip.scr_size);
                assert!(withheld(chip, chip.mmap_scr + p as u64));
            }
            assert!(withheld(chip, chip.mmap_scr + chip.pdma.desc as u64));
            assert!(withheld(chip, chip.mmap_scr + chip.pdma.ctl as u64));
            assert!(!withheld(chip, chip.mmap_scr));
            assert!(!withheld(chip, chip.mmap_scr - 4096));
        }
        for emu in [&chip::EMULATOR, &chip::EMULATOR_VE3] {
            emulator_windows(emu)?;
        }
        // A mapping must lie inside: the last byte, straddling, empty, wrapping.
        assert!(inside(0x1000_0000, 0x200_0000, 0x1000_0000, 0x200_0000));
        assert!(inside(0x1000_0000, 0x200_0000, 0x11ff_f000, 0x1000));
        assert!(!inside(0x1000_0000, 0x200_0000, 0x11ff_f000, 0x2000));
        assert!(!inside(0x1000_0000, 0x200_0000, 0x0fff_f000, 0x2000));
        assert!(!inside(0x1000_0000, 0x200_0000, 0x1000_0000, 0));
        assert!(!inside(0x1000_0000, 0x200_0000, u64::MAX - 0xfff, 0x1000));
        Ok(())
    }

    /// An emulator's windows fit its BAR2, overlap neither each other (in the BAR and in the
    /// file offset space) nor the identification block, but for a CR window listed before the
    /// register window it lies in (VE3's CR part of BAR4), at the same place in both spaces.
    fn emulator_windows(emu: &chip::Chip) -> Result {
        use crate::{
            card::windows::inside,
            chip::WindowKind, //
        };
        for (i, a) in emu.windows.iter().enumerate() {
            // The emulator's windows have sizes.
            let size = a.size.ok_or(EINVAL)?;
            assert!(a.bar_offset + size <= hw::emu::BAR2_SIZE as u64);
            assert!(!inside(a.bar_offset, size, hw::emu::BLOCK as u64, 8));
            for b in &emu.windows[i + 1..] {
                let bs = b.size.ok_or(EINVAL)?;
                if a.kind == WindowKind::Cr
                    && b.kind == WindowKind::Registers
                    && inside(b.file_offset, bs, a.file_offset, size)
                {
                    assert_eq!(a.file_offset - b.file_offset, a.bar_offset - b.bar_offset);
                    continue;
                }
                assert!(a.bar_offset + size <= b.bar_offset || b.bar_offset + bs <= a.bar_offset);
                assert!(
                    a.file_offset + size <= b.file_offset || b.file_offset + bs <= a.file_offset
                );
            }
        }
        Ok(())
    }
}
