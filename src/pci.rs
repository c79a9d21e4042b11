// SPDX-License-Identifier: GPL-2.0

//! PCI glue: the ID tables, probe and unbind.
//!
//! Two PCI drivers share one probe:
//! - `ve_drv` binds VE1 and VE3 through a normal, exported ID table (so the module autoloads);
//! - `ve_drv_emu` binds QEMU's ivshmem-doorbell (1af4:1110), only when the operator loads the module
//!   with `emulator=1`, and then only if BAR2 holds the emulator's identification block. Its ID
//!   table is not exported: no ivshmem device ever autoloads this module.

use kernel::{
    device::Core,
    device_id::IdArray,
    pci,
    prelude::*, //
};

use crate::{
    card::{
        self,
        CardBinding,
        CardFacts,
        CardIndex, //
    },
    chip::{
        self,
        Chip, //
    },
    hw::pci_id,
    ioctl::VeFile,
    sys, //
};

/// Both PCI drivers: the same probe and unbind, different ID tables.
macro_rules! ve_pci_driver {
    ($driver:ty, $table:ident) => {
        impl pci::Driver for $driver {
            type IdInfo = &'static Chip;
            type Data<'bound> = CardBinding<'bound, VeFile>;
            const ID_TABLE: pci::IdTable<Self::IdInfo> = &$table;

            fn probe<'bound>(
                pdev: &'bound pci::Device<Core<'_>>,
                info: Option<&'bound Self::IdInfo>,
            ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
                probe(pdev, info.copied())
            }

            fn unbind<'bound>(pdev: &'bound pci::Device<Core<'_>>, this: Pin<&Self::Data<'bound>>) {
                this.unbind(pdev);
            }
        }
    };
}

/// The real VE cards.
pub(crate) struct VeDriver;

kernel::pci_device_table!(
    VE_PCI_TABLE,
    <VeDriver as pci::Driver>::IdInfo,
    [
        (
            pci::DeviceId::from_id(
                sys::pci_vendor(pci_id::VENDOR_NEC),
                pci_id::DEVICE_VE1 as u32
            ),
            &chip::VE1
        ),
        (
            pci::DeviceId::from_id(
                sys::pci_vendor(pci_id::VENDOR_NEC),
                pci_id::DEVICE_VE3 as u32
            ),
            &chip::VE3
        ),
    ]
);

ve_pci_driver!(VeDriver, VE_PCI_TABLE);

/// The engine emulator on QEMU ivshmem-doorbell (opt-in).
pub(crate) struct VeEmuDriver;

/// Not exported with `pci_device_table!`: no modalias, no autoload on ordinary ivshmem devices.
static EMU_PCI_TABLE: IdArray<pci::DeviceId, &'static Chip, 1> = IdArray::new([(
    pci::DeviceId::from_id(
        sys::pci_vendor(pci_id::VENDOR_REDHAT_QUMRANET),
        pci_id::DEVICE_IVSHMEM as u32,
    ),
    &&chip::EMULATOR,
)]);

ve_pci_driver!(VeEmuDriver, EMU_PCI_TABLE);

/// Probe of every variant: enable, map the register BAR (and, on the emulator, check its identity
/// first), halt the engine, bus master, 64-bit DMA, then the interrupt and `/dev/veN`
/// ([`CardBinding::new`]).
fn probe<'bound, 'core>(
    pdev: &'bound pci::Device<Core<'core>>,
    chip: Option<&'static Chip>,
) -> impl PinInit<CardBinding<'bound, VeFile>, Error> + use<'bound, 'core> {
    pin_init::pin_init_scope(move || {
        let chip = chip.ok_or(ENODEV)?;
        let scr_bar_size = pdev.resource_len(chip.scr_bar)?;
        if !card::scr_bar_fits(chip, scr_bar_size) {
            dev_err!(
                pdev,
                "BAR{} is {} bytes: too small for {}\n",
                chip.scr_bar,
                scr_bar_size,
                chip.name
            );
            return Err(ENODEV);
        }
        pdev.enable_device_mem()?;

        let regs = pdev.iomap_region(chip.scr_bar, c"ve_drv")?;
        // The emulator's one BAR holds either card's layout: its identification block says which
        // (both keep their registers in that BAR, which the check above covered).
        let mut chip = chip;
        let (doorbell, emu) = if card::needs_doorbell(chip) {
            let bar0 = pdev.iomap_region(0, c"ve_drv")?;
            let emu = card::identify_emulator(&regs, &bar0).inspect_err(|_| {
                dev_info!(
                    pdev,
                    "ivshmem device without a VE engine emulator: not binding\n"
                );
            })?;
            chip = emu.chip;
            (Some(bar0), Some(emu))
        } else {
            (None, None)
        };

        let vcr = card::read_vcr(chip, pdev, &regs)?;

        // The engine is stopped (and its descriptors cleared) before the device may master the
        // bus.
        card::halt_before_master(
            chip,
            &regs,
            doorbell.as_ref(),
            emu.map_or(0, |e| e.emu_peer),
        )
        .inspect_err(|_| {
            dev_err!(
                pdev,
                "the privileged DMA engine does not halt: not binding\n"
            );
        })?;
        pdev.set_master();
        sys::set_dma_mask_48(pdev)?;
        // Every host address the engine gets is mapped through the DMA API for this device:
        // direct, through a translating IOMMU, or bounced (docs/design.md, "DMA mappings").
        let dma = sys::dma_map::DmaDevice::new(pdev.as_ref());
        // Reported by VE_DRV_IOC_INFO: NEC's translation ioctls answer physical addresses only
        // where this holds.
        let dma_is_phys = sys::dma_addresses_are_physical(pdev.as_ref())?;
        let index = CardIndex::alloc()?;
        let scr_window = sys::RegisterWindow::of_bar(
            pdev,
            chip.scr_bar,
            chip.scr_offset as u64,
            chip.scr_size as u64,
        )?;
        let windows = card::resolve_windows(pdev, chip)?;
        let facts = CardFacts {
            chip,
            scr_window,
            windows,
            index: index.get(),
            vendor_id: pdev.vendor_id().as_raw(),
            device_id: pdev.device_id(),
            scr_bar_size,
            emu,
            dma_is_phys,
            dma,
            vcr,
            pdev: pdev.into(),
        };
        dev_info!(
            pdev,
            "{} as /dev/ve{}: BAR{} {} MiB, privileged DMA on MSI-X {}, DMA {}\n",
            chip.name,
            facts.index,
            chip.scr_bar,
            scr_bar_size >> 20,
            chip.pdma.vector,
            match facts.dma.mode() {
                sys::dma_map::DmaMode::Direct => "direct",
                sys::dma_map::DmaMode::Iommu => "through the IOMMU",
                sys::dma_map::DmaMode::Bounce => "bounced (swiotlb)",
            }
        );
        if let Some(e) = &emu {
            dev_info!(
                pdev,
                "emulator ABI {}, peer {}, VE memory {} MiB\n",
                e.abi_version,
                e.emu_peer,
                e.ve_mem_size >> 20
            );
        }
        let doorbell = doorbell.map(|b| b.into_devres()).transpose()?;
        Ok(CardBinding::new(
            pdev,
            facts,
            index,
            regs.into_devres()?,
            doorbell,
        ))
    })
}
