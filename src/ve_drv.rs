// SPDX-License-Identifier: GPL-2.0

//! `ve_drv`: a Rust driver for NEC SX-Aurora TSUBASA Vector Engines that loads in place of NEC's
//! `ve_drv` and moves the VE's privileged ("system") DMA manager into the kernel.
//!
//! Crate root: module metadata, parameters and the list of modules. See `README.md` and
//! `docs/design.md` for the design.

use kernel::{
    driver::Registration,
    pci::Adapter,
    prelude::*,
    InPlaceModule, //
};

mod card;
mod chip;
mod dma;
// Page geometry (`core` only, shared with the host tests): the layer below `sys::gup`.
#[expect(
    dead_code,
    unreachable_pub,
    reason = "`pub` for the host tests, which include this file; part is theirs only"
)]
mod extent;
// Shared with the emulator and the tests (`core` only): the module uses part of each today, the
// DMA manager the rest.
#[expect(
    dead_code,
    unreachable_pub,
    reason = "`pub` for the emulator and the host tests, which include this file; part is theirs"
)]
mod hw;
mod ioctl;
mod pci;
mod pin;
mod regs;
// NEC's owners of CR pages and PCIATB entries (`core` only, shared with the host tests).
#[expect(
    dead_code,
    unreachable_pub,
    reason = "`pub` for the host tests, which include this file; `indices`, `count`, `store_mut` are theirs"
)]
mod owner_lists;
// The table behind NEC's pin lists (`core` only, shared with the host tests).
#[expect(
    dead_code,
    unreachable_pub,
    reason = "`pub` for the host tests, which include this file; `is_empty` is theirs"
)]
mod pin_table;
// VE1's sensor decoders (`core` only, shared with the host tests).
#[expect(
    unreachable_pub,
    reason = "`pub` for the host tests, which include this file"
)]
mod sensors;
mod sys;
// NEC's sysfs rules (`core` only, shared with the host tests).
#[expect(
    unreachable_pub,
    reason = "`pub` for the host tests, which include this file"
)]
mod sysfs_rules;
// NEC's task states (`core` only, shared with the host tests).
#[expect(
    unreachable_pub,
    reason = "`pub` for the host tests, which include this file"
)]
mod task_rules;
#[expect(
    dead_code,
    unreachable_pub,
    reason = "`pub` for the host tests, which include this file; part of the ABI is theirs"
)]
mod uapi;

module! {
    type: VeDrvModule,
    name: "ve_drv",
    authors: ["The ve_drv developers"],
    description: "NEC SX-Aurora TSUBASA Vector Engine driver with an in-kernel privileged DMA manager",
    license: "GPL v2",
    params: {
        emulator: bool {
            default: false,
            description: "Also bind QEMU ivshmem-doorbell devices that carry the VE engine emulator (testing; off by default)",
        },
        user_pdma: bool {
            default: false,
            description: "Let a user-space DMA manager (VEOS) take the privileged DMA engine by mapping the system-common registers at NEC's offset, as with NEC's driver; the in-kernel manager answers EBUSY while the mapping exists (or until VE_DRV_IOC_RECLAIM). Without it those registers map with the engine's pages withheld",
        },
        dma_poll_us: u32 {
            default: 200,
            description: "Microseconds a waiter on a short in-kernel DMA request may spin on the engine before it sleeps until the completion interrupt, beyond the request's expected engine time (requests whose expected time exceeds this always sleep); 0 never polls",
        },
        dma_copy_max: i32 {
            default: -1,
            description: "In-kernel DMA transfers (VE_DMA_IOC_XFER of the caller's own memory) of at most this many bytes are copied through a per-card DMA buffer (16 slots) instead of pinning the VH buffer; at most 65536; 0 turns copying off; -1 (default): 4096 with direct DMA mapping, 32768 behind an IOMMU or with bounce buffers",
        },
        dma_cache_mib: u32 {
            default: 0,
            description: "MiB of VH memory the in-kernel DMA manager may keep pinned and mapped per card after transfers (the registration cache: a later transfer of the same bytes by the same open file skips pinning; entries follow munmap, mremap and other changes through MMU notifiers, count against the process's RLIMIT_MEMLOCK, and go at close); 0 (default) turns the cache off; ignored with bounce buffers",
        },
        test_ioctls: bool {
            default: false,
            description: "Enable test-only ioctls (the pin engine micro-benchmark, a core's interrupt and exception state); off by default",
        },
    },
}

/// Fields drop in declaration order: the PCI drivers (every card unbound, every node gone), then
/// NEC's device class.
#[pin_data]
struct VeDrvModule {
    #[pin]
    _cards: Registration<Adapter<pci::VeDriver>>,
    _emulators: Option<Pin<KBox<Registration<Adapter<pci::VeEmuDriver>>>>>,
    _class: sys::ClassRegistration,
    /// Dropped last: drains the registration cache's sweeps once every card is gone.
    _sweeps: sys::workqueue::QueueRegistration,
}

impl InPlaceModule for VeDrvModule {
    fn init(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        pin_init::pin_init_scope(move || {
            // Before any card can bind: probe creates the card's node in the class, and a card's
            // registration cache queues its sweeps.
            let sweeps = dma::cache::SWEEPS.register()?;
            let class = card::VE_CLASS.register()?;
            let emulators = if module_parameters::emulator.value() {
                pr_info!("emulator=1: binding the VE engine emulator on ivshmem-doorbell\n");
                Some(KBox::pin_init(
                    Registration::new(c"ve_drv_emu", module),
                    GFP_KERNEL,
                )?)
            } else {
                None
            };
            Ok(try_pin_init!(Self {
                _cards <- Registration::new(c"ve_drv", module),
                _emulators: emulators,
                _class: class,
                _sweeps: sweeps,
            }))
        })
    }
}
