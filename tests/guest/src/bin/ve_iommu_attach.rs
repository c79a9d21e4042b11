// SPDX-License-Identifier: GPL-2.0

//! ve_iommu_attach: hand the guest's Intel IOMMU (VT-d) tables to the engine emulator, so that it
//! translates the engine's host-side addresses as the IOMMU would (`docs/emulator.md`, "VT-d
//! translation").
//!
//! ```text
//! ve_iommu_attach [--detach]
//! ```
//! Run as root in a guest booted by `ve-harness --iommu`, after ve_drv is loaded (the root table
//! exists from boot, but the device's context entry only once a driver owns the device). It finds
//! the emulator's device (the ivshmem device bound to ve_drv, else the only one), reads RTADDR
//! and GSTS from `/sys/kernel/debug/iommu/intel/iommu_regset` (debugfs is mounted by the
//! initramfs' init), computes the device's requester id from its PCI address, writes the
//! emulator's controls (`hw::emu::OFF_CTL_IOMMU_*`, enable last) through BAR2, and prints
//! `# iommu: root table 0x..., sid 0x...`. `--detach` clears the enable word (every host-side
//! access of the engine faults again). Exit 0 on success, 1 on any failure.

use std::process::ExitCode;

use ve_guest::{
    emubar::{
        self,
        EmuBar, //
    },
    hw::emu,
};

const REGDUMP: &str = "/sys/kernel/debug/iommu/intel/iommu_regset";

fn attach(detach: bool) -> Result<String, String> {
    let (bdf, bound) = emubar::emulator_pci()?;
    let bar = EmuBar::open_at(&bdf)?;
    let magic = bar.get(emu::OFF_MAGIC);
    if magic != emu::MAGIC {
        return Err(format!(
            "{bdf}: no emulator identification block (magic {magic:#x})"
        ));
    }
    let abi = bar.get(emu::OFF_ABI_VERSION) as u32;
    if abi != emu::ABI_VERSION {
        return Err(format!(
            "{bdf}: emulator ABI {abi}, this program knows {}",
            emu::ABI_VERSION
        ));
    }
    if bar.get(emu::OFF_IOMMU_MODE) != emu::IOMMU_MODE_VTD {
        return Err(format!(
            "{bdf}: the emulator was not started with --iommu (ve-harness --iommu)"
        ));
    }
    if detach {
        bar.detach_iommu();
        return Ok(format!("iommu: detached from {bdf}"));
    }
    let dump = std::fs::read_to_string(REGDUMP).map_err(|e| {
        format!("{REGDUMP}: {e} (no Intel IOMMU, or no CONFIG_INTEL_IOMMU_DEBUGFS, or debugfs not mounted)")
    })?;
    let regs = emubar::parse_regdump(&dump)?;
    if regs.gsts & emubar::GSTS_TES == 0 {
        return Err(format!(
            "DMA translation is not enabled (GSTS {:#x}): boot with intel_iommu=on",
            regs.gsts
        ));
    }
    if regs.rtaddr & emubar::RTADDR_TTM != 0 {
        return Err(format!(
            "RTADDR {:#x}: scalable-mode tables; the emulator walks legacy-mode tables only",
            regs.rtaddr
        ));
    }
    let sid = emubar::pci_sid(&bdf)?;
    bar.attach_iommu(regs.rtaddr, sid);
    Ok(format!(
        "iommu: root table {:#x}, sid {sid:#06x} ({bdf}{})",
        regs.rtaddr,
        if bound {
            ", ve_drv"
        } else {
            ", no driver bound"
        }
    ))
}

fn main() -> ExitCode {
    let detach = match std::env::args().nth(1).as_deref() {
        None => false,
        Some("--detach") => true,
        Some(_) => {
            eprintln!("usage: ve_iommu_attach [--detach]");
            return ExitCode::from(2);
        }
    };
    match attach(detach) {
        Ok(line) => {
            println!("# {line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("# iommu: attach failed: {e}");
            ExitCode::FAILURE
        }
    }
}
