// SPDX-License-Identifier: GPL-2.0

//! The C header `include/uapi/ve_drv.h` and `src/uapi.rs` must agree byte for byte: this test
//! compiles a C program against the header with the system C compiler, prints every size, offset
//! and ioctl number, and compares them with the Rust definitions.

use std::{
    collections::HashMap,
    mem::{
        offset_of,
        size_of, //
    },
    path::PathBuf,
    process::Command, //
};

use crate::uapi::*;

/// Every fact to compare: (name, C expression, Rust value).
fn facts() -> Vec<(&'static str, &'static str, u64)> {
    macro_rules! off {
        ($ty:ty, $cty:literal, $f:ident) => {
            (
                concat!($cty, ".", stringify!($f)),
                concat!("offsetof(struct ", $cty, ", ", stringify!($f), ")"),
                offset_of!($ty, $f) as u64,
            )
        };
    }
    macro_rules! size {
        ($ty:ty, $cty:literal) => {
            (
                concat!("sizeof ", $cty),
                concat!("sizeof(struct ", $cty, ")"),
                size_of::<$ty>() as u64,
            )
        };
    }
    vec![
        ("VE_IOC_MAGIC", "VE_IOC_MAGIC", VE_IOC_MAGIC.into()),
        ("VE_DRV_NR_BASE", "VE_DRV_NR_BASE", VE_DRV_NR_BASE.into()),
        (
            "VE_DRV_ABI_VERSION",
            "VE_DRV_ABI_VERSION",
            VE_DRV_ABI_VERSION.into(),
        ),
        (
            "VE_DRV_VARIANT_VE1",
            "VE_DRV_VARIANT_VE1",
            Variant::Ve1 as u64,
        ),
        (
            "VE_DRV_VARIANT_VE3",
            "VE_DRV_VARIANT_VE3",
            Variant::Ve3 as u64,
        ),
        (
            "VE_DRV_VARIANT_EMULATOR",
            "VE_DRV_VARIANT_EMULATOR",
            Variant::Emulator as u64,
        ),
        ("VE_DRV_IOC_INFO", "VE_DRV_IOC_INFO", VE_DRV_IOC_INFO.into()),
        ("VE_DRV_IOC_PING", "VE_DRV_IOC_PING", VE_DRV_IOC_PING.into()),
        size!(VeDrvInfo, "ve_drv_info"),
        off!(VeDrvInfo, "ve_drv_info", flags),
        off!(VeDrvInfo, "ve_drv_info", abi_version),
        off!(VeDrvInfo, "ve_drv_info", variant),
        off!(VeDrvInfo, "ve_drv_info", card_index),
        off!(VeDrvInfo, "ve_drv_info", vendor_id),
        off!(VeDrvInfo, "ve_drv_info", device_id),
        off!(VeDrvInfo, "ve_drv_info", pdma_vector),
        off!(VeDrvInfo, "ve_drv_info", msix_vectors),
        off!(VeDrvInfo, "ve_drv_info", emu_abi_version),
        off!(VeDrvInfo, "ve_drv_info", scr_bar_size),
        off!(VeDrvInfo, "ve_drv_info", irq_count),
        off!(VeDrvInfo, "ve_drv_info", ve_mem_size),
        off!(VeDrvInfo, "ve_drv_info", emu_nonce),
        off!(VeDrvInfo, "ve_drv_info", emu_irqs_raised),
        off!(VeDrvInfo, "ve_drv_info", dma_is_phys),
        off!(VeDrvInfo, "ve_drv_info", reserved),
        (
            "VE_DRV_IOC_PIN_BENCH",
            "VE_DRV_IOC_PIN_BENCH",
            VE_DRV_IOC_PIN_BENCH.into(),
        ),
        (
            "VE_DRV_PIN_BENCH_WRITE",
            "VE_DRV_PIN_BENCH_WRITE",
            VE_DRV_PIN_BENCH_WRITE.into(),
        ),
        (
            "VE_DRV_PIN_BENCH_LONGTERM",
            "VE_DRV_PIN_BENCH_LONGTERM",
            VE_DRV_PIN_BENCH_LONGTERM.into(),
        ),
        size!(VeDrvPinBench, "ve_drv_pin_bench"),
        off!(VeDrvPinBench, "ve_drv_pin_bench", addr),
        off!(VeDrvPinBench, "ve_drv_pin_bench", len),
        off!(VeDrvPinBench, "ve_drv_pin_bench", flags),
        off!(VeDrvPinBench, "ve_drv_pin_bench", reserved),
        off!(VeDrvPinBench, "ve_drv_pin_bench", pin_ns),
        off!(VeDrvPinBench, "ve_drv_pin_bench", unpin_ns),
        off!(VeDrvPinBench, "ve_drv_pin_bench", pages),
        off!(VeDrvPinBench, "ve_drv_pin_bench", runs),
        ("VE_DMA_NR_BASE", "VE_DMA_NR_BASE", VE_DMA_NR_BASE.into()),
        ("VE_DMA_VH_TO_VE", "VE_DMA_VH_TO_VE", VE_DMA_VH_TO_VE.into()),
        ("VE_DMA_VE_TO_VH", "VE_DMA_VE_TO_VH", VE_DMA_VE_TO_VH.into()),
        ("VE_DMA_IOC_XFER", "VE_DMA_IOC_XFER", VE_DMA_IOC_XFER.into()),
        size!(VeDmaXfer, "ve_dma_xfer"),
        off!(VeDmaXfer, "ve_dma_xfer", vh_addr),
        off!(VeDmaXfer, "ve_dma_xfer", ve_addr),
        off!(VeDmaXfer, "ve_dma_xfer", len),
        off!(VeDmaXfer, "ve_dma_xfer", pid),
        off!(VeDmaXfer, "ve_dma_xfer", flags),
        off!(VeDmaXfer, "ve_dma_xfer", bytes_done),
        off!(VeDmaXfer, "ve_dma_xfer", exception),
        off!(VeDmaXfer, "ve_dma_xfer", descs),
        off!(VeDmaXfer, "ve_dma_xfer", reserved),
        ("VE_DMA_VE_LIST", "VE_DMA_VE_LIST", VE_DMA_VE_LIST.into()),
        (
            "VE_DMA_MAX_EXTENTS",
            "VE_DMA_MAX_EXTENTS",
            VE_DMA_MAX_EXTENTS.into(),
        ),
        (
            "VE_DMA_MAX_REQUESTS",
            "VE_DMA_MAX_REQUESTS",
            VE_DMA_MAX_REQUESTS.into(),
        ),
        (
            "VE_DMA_IOC_SUBMIT",
            "VE_DMA_IOC_SUBMIT",
            VE_DMA_IOC_SUBMIT.into(),
        ),
        ("VE_DMA_IOC_WAIT", "VE_DMA_IOC_WAIT", VE_DMA_IOC_WAIT.into()),
        (
            "VE_DMA_IOC_CANCEL",
            "VE_DMA_IOC_CANCEL",
            VE_DMA_IOC_CANCEL.into(),
        ),
        size!(VeDmaExtent, "ve_dma_extent"),
        off!(VeDmaExtent, "ve_dma_extent", addr),
        off!(VeDmaExtent, "ve_dma_extent", len),
        size!(VeDmaSubmit, "ve_dma_submit"),
        off!(VeDmaSubmit, "ve_dma_submit", vh_addr),
        off!(VeDmaSubmit, "ve_dma_submit", ve_addr),
        off!(VeDmaSubmit, "ve_dma_submit", len),
        off!(VeDmaSubmit, "ve_dma_submit", pid),
        off!(VeDmaSubmit, "ve_dma_submit", flags),
        off!(VeDmaSubmit, "ve_dma_submit", num_extents),
        off!(VeDmaSubmit, "ve_dma_submit", reserved0),
        off!(VeDmaSubmit, "ve_dma_submit", id),
        off!(VeDmaSubmit, "ve_dma_submit", reserved),
        size!(VeDmaWait, "ve_dma_wait"),
        off!(VeDmaWait, "ve_dma_wait", id),
        off!(VeDmaWait, "ve_dma_wait", timeout_ms),
        off!(VeDmaWait, "ve_dma_wait", flags),
        off!(VeDmaWait, "ve_dma_wait", bytes_done),
        off!(VeDmaWait, "ve_dma_wait", status),
        off!(VeDmaWait, "ve_dma_wait", exception),
        off!(VeDmaWait, "ve_dma_wait", descs),
        off!(VeDmaWait, "ve_dma_wait", reserved0),
        off!(VeDmaWait, "ve_dma_wait", reserved),
        size!(VeDmaCancel, "ve_dma_cancel"),
        off!(VeDmaCancel, "ve_dma_cancel", id),
        off!(VeDmaCancel, "ve_dma_cancel", flags),
        off!(VeDmaCancel, "ve_dma_cancel", reserved),
        (
            "VEDRV_CMD_WAIT_INTR",
            "VEDRV_CMD_WAIT_INTR",
            VEDRV_CMD_WAIT_INTR.into(),
        ),
        (
            "VEDRV_CMD_COMPAT_VE1_WAIT_INTR",
            "VEDRV_CMD_COMPAT_VE1_WAIT_INTR",
            VEDRV_CMD_COMPAT_VE1_WAIT_INTR.into(),
        ),
        ("VE_DRV_IOC_KICK", "VE_DRV_IOC_KICK", VE_DRV_IOC_KICK.into()),
        size!(VeWaitIrq, "ve_wait_irq"),
        off!(VeWaitIrq, "ve_wait_irq", upper),
        off!(VeWaitIrq, "ve_wait_irq", lower),
        size!(VeWaitIrqArg, "ve_wait_irq_arg"),
        off!(VeWaitIrqArg, "ve_wait_irq_arg", bits),
        off!(VeWaitIrqArg, "ve_wait_irq_arg", timeout),
        size!(VeWaitIrqArgVe1, "ve_wait_irq_arg_ve1"),
        off!(VeWaitIrqArgVe1, "ve_wait_irq_arg_ve1", bits),
        off!(VeWaitIrqArgVe1, "ve_wait_irq_arg_ve1", timeout),
        ("OS_LIST", "OS_LIST", OS_LIST.into()),
        ("TD_LIST", "TD_LIST", TD_LIST.into()),
        ("NR_PD_LIST", "NR_PD_LIST", NR_PD_LIST.into()),
        ("VP_MAXBULK", "VP_MAXBULK", VP_MAXBULK.into()),
        (
            "VEDRV_CMD_VHVA_TO_VSAA",
            "VEDRV_CMD_VHVA_TO_VSAA",
            VEDRV_CMD_VHVA_TO_VSAA.into(),
        ),
        (
            "VEDRV_CMD_VHVA_TO_VSAA_PIN_DOWN",
            "VEDRV_CMD_VHVA_TO_VSAA_PIN_DOWN",
            VEDRV_CMD_VHVA_TO_VSAA_PIN_DOWN.into(),
        ),
        (
            "VEDRV_CMD_RELEASE_PD_PAGE",
            "VEDRV_CMD_RELEASE_PD_PAGE",
            VEDRV_CMD_RELEASE_PD_PAGE.into(),
        ),
        (
            "VEDRV_CMD_RELEASE_PD_PAGE_ALL",
            "VEDRV_CMD_RELEASE_PD_PAGE_ALL",
            VEDRV_CMD_RELEASE_PD_PAGE_ALL.into(),
        ),
        (
            "VEDRV_CMD_VHVA_TO_VSAA_BLK",
            "VEDRV_CMD_VHVA_TO_VSAA_BLK",
            VEDRV_CMD_VHVA_TO_VSAA_BLK.into(),
        ),
        (
            "VEDRV_CMD_VHVA_TO_VSAA_BLK_PIN_DOWN",
            "VEDRV_CMD_VHVA_TO_VSAA_BLK_PIN_DOWN",
            VEDRV_CMD_VHVA_TO_VSAA_BLK_PIN_DOWN.into(),
        ),
        (
            "VEDRV_CMD_RELEASE_PD_PAGE_BLK",
            "VEDRV_CMD_RELEASE_PD_PAGE_BLK",
            VEDRV_CMD_RELEASE_PD_PAGE_BLK.into(),
        ),
        (
            "VEDRV_CMD_COUNT_PD_PAGE_ALL",
            "VEDRV_CMD_COUNT_PD_PAGE_ALL",
            VEDRV_CMD_COUNT_PD_PAGE_ALL.into(),
        ),
        size!(Vp, "vp"),
        off!(Vp, "vp", pid),
        off!(Vp, "vp", write),
        off!(Vp, "vp", pfnmap),
        off!(Vp, "vp", virt),
        off!(Vp, "vp", phys),
        size!(VeVp, "ve_vp"),
        (
            "ve_vp.type",
            "offsetof(struct ve_vp, type)",
            offset_of!(VeVp, list) as u64,
        ),
        off!(VeVp, "ve_vp", vp_info),
        size!(VpBlk, "vp_blk"),
        off!(VpBlk, "vp_blk", pid),
        off!(VpBlk, "vp_blk", write),
        off!(VpBlk, "vp_blk", vaddr),
        off!(VpBlk, "vp_blk", length),
        off!(VpBlk, "vp_blk", paddr),
        off!(VpBlk, "vp_blk", npages),
        off!(VpBlk, "vp_blk", maxpages),
        off!(VpBlk, "vp_blk", pfnmap),
        off!(VpBlk, "vp_blk", pgsz),
        size!(VeVpBlk, "ve_vp_blk"),
        (
            "ve_vp_blk.type",
            "offsetof(struct ve_vp_blk, type)",
            offset_of!(VeVpBlk, list) as u64,
        ),
        off!(VeVpBlk, "ve_vp_blk", vp_info),
        size!(VeVpBlkRelease, "ve_vp_blk_release"),
        (
            "ve_vp_blk_release.type",
            "offsetof(struct ve_vp_blk_release, type)",
            offset_of!(VeVpBlkRelease, list) as u64,
        ),
        off!(VeVpBlkRelease, "ve_vp_blk_release", npages),
        off!(VeVpBlkRelease, "ve_vp_blk_release", addr),
        size!(VeVpRelease, "ve_vp_release"),
        (
            "ve_vp_release.type",
            "offsetof(struct ve_vp_release, type)",
            offset_of!(VeVpRelease, list) as u64,
        ),
        off!(VeVpRelease, "ve_vp_release", addr),
        size!(VeDrvPing, "ve_drv_ping"),
        off!(VeDrvPing, "ve_drv_ping", value),
        off!(VeDrvPing, "ve_drv_ping", response),
        off!(VeDrvPing, "ve_drv_ping", rtt_ns),
        off!(VeDrvPing, "ve_drv_ping", flags),
        off!(VeDrvPing, "ve_drv_ping", reserved),
    ]
}

#[test]
fn c_header_matches_rust() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = std::env::temp_dir().join(format!("ve-abi-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("abi_check.c");
    let bin = dir.join("abi_check");
    let facts = facts();
    let mut c = String::from(
        "#include <stdio.h>\n#include <stddef.h>\n#include \"uapi/ve_drv.h\"\nint main(void) {\n",
    );
    for (name, expr, _) in &facts {
        c += &format!("  printf(\"%s=%llu\\n\", \"{name}\", (unsigned long long)({expr}));\n");
    }
    c += "  return 0;\n}\n";
    std::fs::write(&src, c).unwrap();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let st = Command::new(&cc)
        .args(["-std=c11", "-Wall", "-Werror", "-I"])
        .arg(root.join("include"))
        .arg(&src)
        .arg("-o")
        .arg(&bin)
        .status()
        .expect("run the C compiler");
    assert!(st.success(), "{cc} failed on include/uapi/ve_drv.h");
    let out = Command::new(&bin).output().unwrap();
    let c_vals: HashMap<String, u64> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| {
            l.split_once('=')
                .map(|(k, v)| (k.to_string(), v.parse().unwrap()))
        })
        .collect();
    let mut bad = Vec::new();
    for (name, _, rust) in &facts {
        if c_vals.get(*name) != Some(rust) {
            bad.push(format!("{name}: C {:?}, Rust {rust}", c_vals.get(*name)));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(bad.is_empty(), "C and Rust ABI differ:\n{}", bad.join("\n"));
}

#[test]
fn ioctl_numbers_are_nec_shaped_and_clear_of_nec() {
    // _IOWR('\xf5', 0x80, 112 bytes): dir 3 << 30 | 112 << 16 | 0xf5 << 8 | 0x80.
    assert_eq!(VE_DRV_IOC_INFO, 0xc070_f580);
    assert_eq!(VE_DRV_IOC_PING, 0xc020_f581);
    for cmd in [VE_DRV_IOC_INFO, VE_DRV_IOC_PING] {
        assert_eq!(ioc_type(cmd), 0xf5);
        assert!(ioc_nr(cmd) >= 32, "NEC uses numbers 0..=31");
    }
    assert_eq!(ioc_size(VE_DRV_IOC_INFO), 112);
    // The two ranges the header's "ioctl numbers" section, src/uapi.rs and the README state.
    let dma = [
        VE_DMA_IOC_XFER,
        VE_DMA_IOC_SUBMIT,
        VE_DMA_IOC_WAIT,
        VE_DMA_IOC_CANCEL,
    ];
    let card = [
        VE_DRV_IOC_INFO,
        VE_DRV_IOC_PING,
        VE_DRV_IOC_PIN_BENCH,
        VE_DRV_IOC_KICK,
        VE_DRV_IOC_RECLAIM,
    ];
    assert_eq!(dma.map(ioc_nr), [0x40, 0x41, 0x42, 0x43]);
    assert_eq!(card.map(ioc_nr), [0x80, 0x81, 0x82, 0x83, 0x84]);
    assert!(dma.iter().chain(&card).all(|&c| ioc_type(c) == 0xf5));
}

#[test]
fn nec_numbers_and_sizes_as_nec_documents() {
    // Values computed by NEC's headers with gcc on x86-64 (docs/nec-abi.md, "ioctl numbers").
    assert_eq!(VEDRV_CMD_VHVA_TO_VSAA, 0xc028_f503);
    assert_eq!(VEDRV_CMD_VHVA_TO_VSAA_PIN_DOWN, 0xc028_f50e);
    assert_eq!(VEDRV_CMD_RELEASE_PD_PAGE, 0x8010_f50f);
    assert_eq!(VEDRV_CMD_RELEASE_PD_PAGE_ALL, 0x8010_f510);
    assert_eq!(VEDRV_CMD_VHVA_TO_VSAA_BLK, 0xc038_f516);
    assert_eq!(VEDRV_CMD_VHVA_TO_VSAA_BLK_PIN_DOWN, 0xc038_f517);
    assert_eq!(VEDRV_CMD_RELEASE_PD_PAGE_BLK, 0x8010_f518);
    assert_eq!(VEDRV_CMD_COUNT_PD_PAGE_ALL, 0x8010_f519);
    // WAIT_INTR: upstream 16-byte form and the VE1 compat 24-byte form (docs/nec-abi.md).
    assert_eq!(VEDRV_CMD_WAIT_INTR, 0xc010_f501);
    assert_eq!(VEDRV_CMD_COMPAT_VE1_WAIT_INTR, 0xc018_f501);
    assert_eq!(
        [
            size_of::<Vp>(),
            size_of::<VeVp>(),
            size_of::<VpBlk>(),
            size_of::<VeVpBlk>()
        ],
        [32, 40, 48, 56]
    );
    assert_eq!(
        [size_of::<VeVpBlkRelease>(), size_of::<VeVpRelease>()],
        [16, 16]
    );
    // vp_blk: pid 0, write 4, vaddr 8, length 16, paddr 24, npages 32, maxpages 36, pfnmap 40, pgsz 44.
    assert_eq!(
        [
            offset_of!(VpBlk, vaddr),
            offset_of!(VpBlk, length),
            offset_of!(VpBlk, paddr),
            offset_of!(VpBlk, npages),
            offset_of!(VpBlk, maxpages),
            offset_of!(VpBlk, pfnmap),
            offset_of!(VpBlk, pgsz)
        ],
        [8, 16, 24, 32, 36, 40, 44]
    );
    assert_eq!((offset_of!(Vp, virt), offset_of!(Vp, phys)), (16, 24));
}

#[test]
fn input_validation() {
    assert!(VeDrvInfo::default().input_valid());
    assert!(!VeDrvInfo {
        flags: 1,
        ..Default::default()
    }
    .input_valid());
    let mut i = VeDrvInfo::default();
    i.reserved[2] = 9;
    assert!(!i.input_valid());
    assert!(VeDrvPing {
        value: 5,
        ..Default::default()
    }
    .input_valid());
    assert!(!VeDrvPing {
        reserved: 1,
        ..Default::default()
    }
    .input_valid());
}
