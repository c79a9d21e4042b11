// SPDX-License-Identifier: GPL-2.0

//! The C headers `include/uapi/ve_drv.h`, `ve_drv_ve1.h`, `ve_drv_ve3.h`, `vp.h` and
//! `src/uapi.rs` must agree byte for byte: this test compiles C programs against the headers with
//! the system C compiler, prints every size, alignment, offset, number and string, and compares
//! them with the Rust definitions. NEC's variant headers cannot be included together (each has
//! its own `enum ve_state`), so there are three programs: the common part (as libved.c includes
//! `ve_drv.h`), the VE1 part (`_VE_ARCH_VE1_`) and the VE3 part (`_VE_ARCH_VE3_`).
//!
//! `tests/host/c/libved_names.c` uses every name NEC's libved 3.4.1 and VEOS 3.5.0 take from
//! NEC's headers; it is compiled the same three ways, so a name missing from `include/uapi/`
//! fails here.

use std::{
    collections::HashMap,
    mem::{
        align_of,
        offset_of,
        size_of, //
    },
    path::PathBuf,
    process::Command, //
};

use crate::uapi::*;

/// One fact to compare: the C expression and the Rust value, as text.
struct Fact {
    name: String,
    expr: String,
    rust: String,
    /// The C expression is a string (printed with `%s`), not a number.
    text: bool,
}

/// A number with the same name in C and Rust.
macro_rules! num {
    ($name:ident) => {
        num!(stringify!($name), stringify!($name), $name)
    };
    ($name:expr, $expr:expr, $val:expr) => {
        Fact {
            name: $name.to_string(),
            expr: $expr.to_string(),
            rust: ($val).to_string(),
            text: false,
        }
    };
}

/// A string constant with the same name in C and Rust.
macro_rules! text {
    ($name:ident) => {
        Fact {
            name: stringify!($name).to_string(),
            expr: stringify!($name).to_string(),
            rust: $name.to_string(),
            text: true,
        }
    };
}

/// Size, alignment and every field's offset of a struct; `c => rust` where the Rust field's name
/// differs (C's `type` is a Rust keyword).
macro_rules! layout {
    ($ty:ty, $cty:literal, [$($cf:ident $(=> $rf:ident)?),* $(,)?]) => {
        vec![
            num!(
                concat!("sizeof ", $cty),
                concat!("sizeof(struct ", $cty, ")"),
                size_of::<$ty>()
            ),
            num!(
                concat!("alignof ", $cty),
                concat!("_Alignof(struct ", $cty, ")"),
                align_of::<$ty>()
            ),
            $(num!(
                concat!($cty, ".", stringify!($cf)),
                concat!("offsetof(struct ", $cty, ", ", stringify!($cf), ")"),
                layout!(@off $ty, $cf $(=> $rf)?)
            ),)*
        ]
    };
    (@off $ty:ty, $cf:ident => $rf:ident) => { offset_of!($ty, $rf) };
    (@off $ty:ty, $cf:ident) => { offset_of!($ty, $cf) };
}

/// Facts of `ve_drv.h` and `vp.h` without a variant.
fn common_facts() -> Vec<Fact> {
    let mut f = vec![
        num!(VE_IOC_MAGIC),
        num!(VE_DRV_NR_BASE),
        num!(VE_DRV_ABI_VERSION),
        num!(
            "VE_DRV_VARIANT_VE1",
            "VE_DRV_VARIANT_VE1",
            Variant::Ve1 as u32
        ),
        num!(
            "VE_DRV_VARIANT_VE3",
            "VE_DRV_VARIANT_VE3",
            Variant::Ve3 as u32
        ),
        num!(
            "VE_DRV_VARIANT_EMULATOR",
            "VE_DRV_VARIANT_EMULATOR",
            Variant::Emulator as u32
        ),
        num!(
            "VE_DRV_VARIANT_EMULATOR_VE3",
            "VE_DRV_VARIANT_EMULATOR_VE3",
            Variant::EmulatorVe3 as u32
        ),
        num!(VE_DRV_IOC_INFO),
        num!(VE_DRV_IOC_PING),
        num!(VE_DRV_IOC_PIN_BENCH),
        num!(VE_DRV_IOC_KICK),
        num!(VE_DRV_IOC_RECLAIM),
        num!(VE_DRV_IOC_CORE_STATE),
        num!(VE_DRV_PIN_BENCH_WRITE),
        num!(VE_DRV_PIN_BENCH_LONGTERM),
        num!(VE_DMA_NR_BASE),
        num!(VE_DMA_VH_TO_VE),
        num!(VE_DMA_VE_TO_VH),
        num!(VE_DMA_NO_POLL),
        num!(VE_DMA_NO_COPY),
        num!(VE_DMA_NO_CACHE),
        num!(VE_DMA_CACHE_DROP),
        num!(VE_DMA_IOC_CACHE),
        num!(VE_DMA_VE_LIST),
        num!(VE_DMA_VE_TO_VE),
        num!(VE_DMA_DIRECTION),
        num!(VE_DMA_VH_BUS),
        num!(VE_DMA_VE_REGS),
        num!(VE_DMA_SUBMIT_SYNC),
        num!(VE_DRV_DMA_DIRECT),
        num!(VE_DRV_DMA_IOMMU),
        num!(VE_DRV_DMA_BOUNCE),
        num!(VE_DMA_SUBMIT_RO),
        num!(VE_DMA_SUBMIT_IDO),
        num!(VE_DMA_MAX_EXTENTS),
        num!(VE_DMA_MAX_REQUESTS),
        num!(VE_DMA_IOC_XFER),
        num!(VE_DMA_IOC_SUBMIT),
        num!(VE_DMA_IOC_WAIT),
        num!(VE_DMA_IOC_CANCEL),
        // NEC's ve_drv.h.
        num!(VEDRV_ABI_VERSION),
        num!(VEDRV_ARCH_CLASS_NAME_MAX),
        num!(OS_ST_ONLINE),
        num!(OS_ST_OFFLINE),
        num!(OS_ST_INITIALIZING),
        num!(OS_ST_TERMINATING),
        num!(OS_LIST),
        num!(TD_LIST),
        num!(NR_PD_LIST),
        num!(VP_MAXBULK),
        num!(VEDRV_CMD_WAIT_INTR),
        num!(VEDRV_CMD_WAIT_EXCEPTION),
        num!(VEDRV_CMD_VHVA_TO_VSAA),
        num!(VEDRV_CMD_CREATE_TASK),
        num!(VEDRV_CMD_DELETE_TASK),
        num!(VEDRV_CMD_ASSIGN_TASK),
        num!(VEDRV_CMD_UNASSIGN_TASK),
        num!(VEDRV_CMD_ASSIGN_CR),
        num!(VEDRV_CMD_UNASSIGN_CR),
        num!(VEDRV_CMD_ASSIGN_VEMEM),
        num!(VEDRV_CMD_UNASSIGN_VEMEM),
        num!(VEDRV_CMD_UNMAP),
        num!(VEDRV_CMD_RST_EXSRAR_MEM),
        num!(VEDRV_CMD_VHVA_TO_VSAA_PIN_DOWN),
        num!(VEDRV_CMD_RELEASE_PD_PAGE),
        num!(VEDRV_CMD_RELEASE_PD_PAGE_ALL),
        num!(VEDRV_CMD_DELETE_ALL_TASK),
        num!(VEDRV_CMD_RST_INTR_COUNT),
        num!(VEDRV_CMD_VE_VE_RESET),
        num!(VEDRV_CMD_REVIVE_TASK),
        num!(VEDRV_CMD_HOST_PID),
        num!(VEDRV_CMD_VHVA_TO_VSAA_BLK),
        num!(VEDRV_CMD_VHVA_TO_VSAA_BLK_PIN_DOWN),
        num!(VEDRV_CMD_RELEASE_PD_PAGE_BLK),
        num!(VEDRV_CMD_COUNT_PD_PAGE_ALL),
        num!(VEDRV_CMD_OWNERSHIP),
        num!(VEDRV_CMD_NOTIFY_FAULT),
        num!(VEDRV_CMD_GET_EXS_REG),
        num!(VEDRV_CMD_COMPLETE_MEMCLEAR),
        num!(VEDRV_CMD_HANDLE_CLOCK_GATING),
        num!(VEDRV_CMD_GET_CLOCK_GATING_STATE),
    ];
    for l in [
        layout!(
            VeDrvInfo,
            "ve_drv_info",
            [
                flags,
                abi_version,
                variant,
                card_index,
                vendor_id,
                device_id,
                pdma_vector,
                msix_vectors,
                emu_abi_version,
                scr_bar_size,
                irq_count,
                ve_mem_size,
                emu_nonce,
                emu_irqs_raised,
                dma_is_phys,
                tasks,
                dma_mode,
                reserved,
            ]
        ),
        layout!(
            VeDrvPing,
            "ve_drv_ping",
            [value, response, rtt_ns, flags, reserved]
        ),
        layout!(
            VeDrvPinBench,
            "ve_drv_pin_bench",
            [addr, len, flags, reserved, pin_ns, unpin_ns, pages, runs,]
        ),
        layout!(
            VeDrvCoreState,
            "ve_drv_core_state",
            [core, flags, count, wake, exs, exsrar_slot, intvec, reserved]
        ),
        layout!(
            VeDmaXfer,
            "ve_dma_xfer",
            [vh_addr, ve_addr, len, pid, flags, bytes_done, exception, descs, reserved,]
        ),
        layout!(VeDmaExtent, "ve_dma_extent", [addr, len]),
        layout!(
            VeDmaSubmit,
            "ve_dma_submit",
            [
                vh_addr,
                ve_addr,
                len,
                pid,
                flags,
                num_extents,
                opt,
                id,
                ve_dst_addr,
                reserved,
            ]
        ),
        layout!(
            VeDmaWait,
            "ve_dma_wait",
            [id, timeout_ms, flags, bytes_done, status, exception, descs, reserved0, reserved,]
        ),
        layout!(VeDmaCancel, "ve_dma_cancel", [id, flags, reserved]),
        layout!(
            VeDmaCache,
            "ve_dma_cache",
            [
                flags,
                entries,
                hits,
                misses,
                bypasses,
                invalidations,
                evictions,
                bytes,
                cap,
                reserved,
            ]
        ),
        layout!(Vp, "vp", [pid, write, pfnmap, virt, phys]),
        layout!(VeVp, "ve_vp", [type => list, vp_info]),
        layout!(
            VpBlk,
            "vp_blk",
            [pid, write, vaddr, length, paddr, npages, maxpages, pfnmap, pgsz,]
        ),
        layout!(VeVpBlk, "ve_vp_blk", [type => list, vp_info]),
        layout!(VeVpBlkRelease, "ve_vp_blk_release", [type => list, npages, addr]),
        layout!(VeVpRelease, "ve_vp_release", [type => list, addr]),
        layout!(VeWaitIrqHead, "ve_wait_irq", [ve_irq_type]),
        layout!(VeWaitIrqArg, "ve_wait_irq_arg", [bits, timeout]),
        layout!(Timespec, "timespec", [tv_sec, tv_nsec]),
        layout!(VeTidCore, "ve_tid_core", [tid, core_id]),
        layout!(VeCrAssign, "ve_cr_assign", [cr_page_num, owner_uid]),
        layout!(
            VePcimemAssign,
            "ve_pcimem_assign",
            [pciatb_entry, owner_uid]
        ),
        layout!(VeUnmap, "ve_unmap", [offset, size]),
        layout!(VeGetHostPid, "ve_get_host_pid", [host_pid, namespace_pid]),
        layout!(VeOwnership, "ve_ownership", [cmd]),
    ] {
        f.extend(l);
    }
    f
}

/// Facts of `ve_drv_ve1.h`.
fn ve1_facts() -> Vec<Fact> {
    let mut f = vec![
        text!(VE_DRV_ARCH_NAME_VE1),
        num!(VEDRV_IRQ_TYPE_VE1),
        num!(VEDRV_CMD_VE1_UPDATE_FIRMWARE),
        num!(VEDRV_CMD_COMPAT_VE1_WAIT_INTR),
        num!(VEDRV_VE1_MAP_BAR3_OFFSET),
        num!(VEDRV_VE1_MAP_BAR2_OFFSET),
        num!(VEDRV_VE1_MAP_BAR0_OFFSET),
        num!(VEDRV_VE1_PCI_BAR2_UREG_OFFSET),
        num!(VEDRV_VE1_PCI_BAR2_UREG_SIZE),
        num!(VEDRV_VE1_PCI_BAR2_SREG_OFFSET),
        num!(VEDRV_VE1_PCI_BAR2_SREG_SIZE),
        num!(VEDRV_VE1_PCI_BAR2_CREG_SIZE),
        num!(VEDRV_VE1_PCI_BAR2_SCR_OFFSET),
        num!(VEDRV_VE1_PCI_BAR2_SCR_SIZE),
        num!(
            "VE_ST_UNINITIALIZED",
            "VE_ST_UNINITIALIZED",
            ve1::VE_ST_UNINITIALIZED
        ),
        num!("VE_ST_ONLINE", "VE_ST_ONLINE", ve1::VE_ST_ONLINE),
        num!("VE_ST_OFFLINE", "VE_ST_OFFLINE", ve1::VE_ST_OFFLINE),
        num!(
            "VE_ST_MAINTENANCE",
            "VE_ST_MAINTENANCE",
            ve1::VE_ST_MAINTENANCE
        ),
        num!(
            "VE_ST_UNAVAILABLE",
            "VE_ST_UNAVAILABLE",
            ve1::VE_ST_UNAVAILABLE
        ),
    ];
    for l in [
        layout!(Ve1WaitIrq, "ve1_wait_irq", [ve_wait_irq_type, upper, lower]),
        layout!(Ve1CompatWaitIrq, "ve1_compat_wait_irq", [upper, lower]),
        layout!(
            Ve1CompatWaitIrqArg,
            "ve1_compat_wait_irq_arg",
            [bits, timeout]
        ),
    ] {
        f.extend(l);
    }
    f
}

/// Facts of `ve_drv_ve3.h`.
fn ve3_facts() -> Vec<Fact> {
    let mut f = vec![
        text!(VE_DRV_ARCH_NAME_VE3),
        num!(VEDRV_IRQ_TYPE_VE3),
        num!(VEDRV_VE3_MAP_BAR4_OFFSET),
        num!(VEDRV_VE3_MAP_BAR2_OFFSET),
        num!(VEDRV_VE3_MAP_BAR0_OFFSET),
        num!(VEDRV_VE3_PCI_BAR2_UREG_OFFSET),
        num!(VEDRV_VE3_PCI_BAR2_UREG_SIZE),
        num!(VEDRV_VE3_PCI_BAR2_SREG_OFFSET),
        num!(VEDRV_VE3_PCI_BAR2_SREG_SIZE),
        num!(VEDRV_VE3_PCI_BAR2_CREG_SIZE),
        num!(VEDRV_VE3_PCI_BAR2_SCR_OFFSET),
        num!(VEDRV_VE3_PCI_BAR2_SCR_SIZE),
        num!(VEDRV_VE3_PCI_BAR4_UREG_OFFSET),
        num!(VEDRV_VE3_PCI_BAR4_UREG_SIZE),
        num!(VEDRV_VE3_PCI_BAR4_SREG_OFFSET),
        num!(VEDRV_VE3_PCI_BAR4_SREG_SIZE),
        num!(VEDRV_VE3_PCI_BAR4_CREG_SIZE),
        num!(VEDRV_VE3_PCI_BAR4_SCR_OFFSET),
        num!(VEDRV_VE3_PCI_BAR4_SCR_SIZE),
        num!(
            "VE_ST_NOT_DEFINE0",
            "VE_ST_NOT_DEFINE0",
            ve3::VE_ST_NOT_DEFINE0
        ),
        num!("VE_ST_AVAILABLE", "VE_ST_AVAILABLE", ve3::VE_ST_AVAILABLE),
        num!("VE_ST_ONLINE", "VE_ST_ONLINE", ve3::VE_ST_ONLINE),
        num!(
            "VE_ST_NOT_DEFINE1",
            "VE_ST_NOT_DEFINE1",
            ve3::VE_ST_NOT_DEFINE1
        ),
        num!(
            "VE_ST_MAINTENANCE",
            "VE_ST_MAINTENANCE",
            ve3::VE_ST_MAINTENANCE
        ),
        num!(
            "VE_ST_UNAVAILABLE",
            "VE_ST_UNAVAILABLE",
            ve3::VE_ST_UNAVAILABLE
        ),
    ];
    f.extend(layout!(
        Ve3WaitIrq,
        "ve3_wait_irq",
        [ve_wait_irq_type, intvec]
    ));
    f
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn cc() -> String {
    std::env::var("CC").unwrap_or_else(|_| "cc".into())
}

/// A fresh scratch directory for one test.
fn scratch(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ve-abi-{what}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Compiles and runs a program printing `facts` with `define` (`-D...`, or none), and returns
/// the facts that differ from Rust.
fn c_disagrees(define: Option<&str>, facts: &[Fact]) -> Vec<String> {
    let dir = scratch(&format!("check{}", define.unwrap_or("")));
    let src = dir.join("abi_check.c");
    let bin = dir.join("abi_check");
    let mut c = String::from(
        "#include <stdio.h>\n#include <stddef.h>\n#include \"uapi/ve_drv.h\"\nint main(void) {\n",
    );
    for f in facts {
        let (name, expr) = (&f.name, &f.expr);
        c += &if f.text {
            format!("  printf(\"%s=%s\\n\", \"{name}\", {expr});\n")
        } else {
            format!("  printf(\"%s=%llu\\n\", \"{name}\", (unsigned long long)({expr}));\n")
        };
    }
    c += "  return 0;\n}\n";
    std::fs::write(&src, c).unwrap();
    let mut cmd = Command::new(cc());
    cmd.args(["-std=c11", "-Wall", "-Werror"]);
    if let Some(d) = define {
        cmd.arg(format!("-D{d}"));
    }
    let st = cmd
        .arg("-I")
        .arg(root().join("include"))
        .arg(&src)
        .arg("-o")
        .arg(&bin)
        .status()
        .expect("run the C compiler");
    assert!(st.success(), "{} failed on include/uapi ({define:?})", cc());
    let out = Command::new(&bin).output().unwrap();
    let c_vals: HashMap<String, String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| {
            l.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    facts
        .iter()
        .filter(|f| c_vals.get(&f.name) != Some(&f.rust))
        .map(|f| {
            format!(
                "{} ({define:?}): C {:?}, Rust {}",
                f.name,
                c_vals.get(&f.name),
                f.rust
            )
        })
        .collect()
}

#[test]
fn c_headers_match_rust() {
    let mut bad = c_disagrees(None, &common_facts());
    bad.extend(c_disagrees(Some("_VE_ARCH_VE1_"), &ve1_facts()));
    bad.extend(c_disagrees(Some("_VE_ARCH_VE3_"), &ve3_facts()));
    assert!(bad.is_empty(), "C and Rust ABI differ:\n{}", bad.join("\n"));
}

#[test]
fn every_name_libved_and_veos_use_is_declared() {
    // As libved is built: gnu99, its include path holding NEC's headers; here include/uapi.
    let dir = scratch("names");
    for define in [None, Some("_VE_ARCH_VE1_"), Some("_VE_ARCH_VE3_")] {
        let mut cmd = Command::new(cc());
        cmd.args(["-std=gnu99", "-Wall", "-Wextra", "-Werror", "-c"]);
        if let Some(d) = define {
            cmd.arg(format!("-D{d}"));
        }
        let out = cmd
            .arg("-I")
            .arg(root().join("include/uapi"))
            .arg(root().join("tests/host/c/libved_names.c"))
            .arg("-o")
            .arg(dir.join("libved_names.o"))
            .output()
            .expect("run the C compiler");
        assert!(
            out.status.success(),
            "tests/host/c/libved_names.c ({define:?}) does not compile against include/uapi:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn variant_headers_only_through_ve_drv_h() {
    // As NEC's: ve_drv_ve1.h and ve_drv_ve3.h refuse to be included on their own.
    let dir = scratch("direct");
    for h in ["ve_drv_ve1.h", "ve_drv_ve3.h"] {
        let src = dir.join("direct.c");
        std::fs::write(&src, format!("#include \"uapi/{h}\"\nint x;\n")).unwrap();
        let out = Command::new(cc())
            .args(["-std=c11", "-fsyntax-only", "-I"])
            .arg(root().join("include"))
            .arg(&src)
            .output()
            .expect("run the C compiler");
        assert!(!out.status.success(), "{h} compiled on its own");
    }
    let _ = std::fs::remove_dir_all(&dir);
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
        VE_DMA_IOC_CACHE,
    ];
    let card = [
        VE_DRV_IOC_INFO,
        VE_DRV_IOC_PING,
        VE_DRV_IOC_PIN_BENCH,
        VE_DRV_IOC_KICK,
        VE_DRV_IOC_RECLAIM,
        VE_DRV_IOC_CORE_STATE,
    ];
    assert_eq!(dma.map(ioc_nr), [0x40, 0x41, 0x42, 0x43, 0x44]);
    assert_eq!(card.map(ioc_nr), [0x80, 0x81, 0x82, 0x83, 0x84, 0x85]);
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
    // The task, exception, register and reset commands, as NEC's headers encode them.
    assert_eq!(VEDRV_CMD_VE1_UPDATE_FIRMWARE, 0x0000_f500);
    assert_eq!(VEDRV_CMD_WAIT_EXCEPTION, 0x4008_f502);
    assert_eq!(
        [
            VEDRV_CMD_CREATE_TASK,
            VEDRV_CMD_DELETE_TASK,
            VEDRV_CMD_ASSIGN_TASK,
            VEDRV_CMD_UNASSIGN_TASK,
            VEDRV_CMD_ASSIGN_CR,
            VEDRV_CMD_UNASSIGN_CR,
            VEDRV_CMD_ASSIGN_VEMEM,
            VEDRV_CMD_UNASSIGN_VEMEM,
            VEDRV_CMD_UNMAP,
            VEDRV_CMD_RST_EXSRAR_MEM
        ],
        [
            0x8004_f504,
            0x8004_f505,
            0x8008_f506,
            0x8004_f507,
            0x8008_f508,
            0x8008_f509,
            0x8008_f50a,
            0x8008_f50b,
            0x8010_f50c,
            0x8004_f50d
        ]
    );
    assert_eq!(
        [
            VEDRV_CMD_DELETE_ALL_TASK,
            VEDRV_CMD_RST_INTR_COUNT,
            VEDRV_CMD_VE_VE_RESET,
            VEDRV_CMD_REVIVE_TASK,
            VEDRV_CMD_HOST_PID
        ],
        [
            0x0000_f511,
            0x8008_f512,
            0x8008_f513,
            0x8004_f514,
            0x8008_f515
        ]
    );
    assert_eq!(
        [
            VEDRV_CMD_OWNERSHIP,
            VEDRV_CMD_NOTIFY_FAULT,
            VEDRV_CMD_GET_EXS_REG,
            VEDRV_CMD_COMPLETE_MEMCLEAR,
            VEDRV_CMD_HANDLE_CLOCK_GATING,
            VEDRV_CMD_GET_CLOCK_GATING_STATE
        ],
        [
            0x8004_f51a,
            0x0000_f51b,
            0x4008_f51c,
            0x0000_f51d,
            0x8004_f51e,
            0x4008_f51f
        ]
    );
    // The typed masks WAIT_INTR's bits points at, and their type words.
    assert_eq!(
        [
            size_of::<VeWaitIrqHead>(),
            size_of::<Ve1WaitIrq>(),
            size_of::<Ve3WaitIrq>(),
            size_of::<Ve1CompatWaitIrqArg>()
        ],
        [8, 24, 40, 24]
    );
    assert_eq!(VEDRV_IRQ_TYPE_VE1.to_le_bytes()[..4], *b"VE\0\x01");
    assert_eq!(VEDRV_IRQ_TYPE_VE3.to_le_bytes()[..4], *b"VE\0\x03");
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
    i.reserved[1] = 9;
    assert!(!i.input_valid());
    assert!(!VeDrvInfo {
        dma_mode: 2,
        ..Default::default()
    }
    .input_valid());
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

/// SUBMIT's input rules: known flags and options only, one direction, the address types'
/// combinations, the zero fields; an old caller's request (VH virtual and VE memory, the new
/// fields zero) stays valid.
#[test]
fn submit_input_validation() {
    let base = VeDmaSubmit {
        vh_addr: 0x1000,
        ve_addr: 0x2000,
        len: 4096,
        flags: VE_DMA_VH_TO_VE,
        ..Default::default()
    };
    let ok = |f: &dyn Fn(&mut VeDmaSubmit)| {
        let mut a = base;
        f(&mut a);
        a.input_valid()
    };
    assert!(base.input_valid());
    assert!(ok(&|a| a.flags = VE_DMA_VE_TO_VH));
    assert!(!ok(
        &|a| a.flags = VE_DMA_VE_TO_VH | VE_DMA_VE_LIST | VE_DMA_VH_BUS
    ));
    assert!(ok(&|a| {
        a.flags = VE_DMA_VE_TO_VH | VE_DMA_VE_LIST | VE_DMA_VH_BUS;
        a.num_extents = 3;
    }));
    assert!(ok(&|a| a.flags |= VE_DMA_VE_REGS));
    assert!(ok(&|a| {
        a.flags |= VE_DMA_VH_BUS | VE_DMA_VE_REGS;
    }));
    assert!(ok(
        &|a| a.opt = VE_DMA_SUBMIT_SYNC | VE_DMA_SUBMIT_RO | VE_DMA_SUBMIT_IDO
    ));
    assert!(ok(&|a| a.pid = 42));
    // VE to VE: both VE addresses, nothing of a VH side.
    let ve_to_ve = |a: &mut VeDmaSubmit| {
        a.flags = VE_DMA_VE_TO_VE;
        a.vh_addr = 0;
        a.ve_dst_addr = 0x8000;
    };
    assert!(ok(&ve_to_ve));
    for bad in [
        &(|a: &mut VeDmaSubmit| a.flags = 0) as &dyn Fn(&mut VeDmaSubmit),
        &|a| a.flags |= 32,
        &|a| a.flags |= 1 << 31,
        &|a| a.opt = 8,
        &|a| a.reserved = 1,
        &|a| a.id = 1,
        &|a| a.len = 0,
        &|a| a.len = 12,
        &|a| a.vh_addr = 4,
        &|a| a.ve_addr = 4,
        &|a| a.vh_addr = u64::MAX - 7,
        &|a| a.ve_dst_addr = 0x8000,
        &|a| a.num_extents = 1,
        &|a| a.flags |= VE_DMA_VE_LIST,
        &|a| {
            a.flags |= VE_DMA_VE_LIST | VE_DMA_VE_REGS;
            a.num_extents = 1;
        },
        &|a| {
            a.flags |= VE_DMA_VE_LIST;
            a.num_extents = VE_DMA_MAX_EXTENTS + 1;
        },
        &|a| {
            a.flags |= VE_DMA_VH_BUS;
            a.pid = 1;
        },
        &|a| {
            ve_to_ve(a);
            a.vh_addr = 0x1000;
        },
        &|a| {
            ve_to_ve(a);
            a.pid = 1;
        },
        &|a| {
            ve_to_ve(a);
            a.flags |= VE_DMA_VE_LIST;
            a.num_extents = 1;
        },
        &|a| {
            ve_to_ve(a);
            a.flags |= VE_DMA_VH_BUS;
        },
        &|a| {
            ve_to_ve(a);
            a.flags |= VE_DMA_VE_REGS;
        },
        &|a| {
            ve_to_ve(a);
            a.ve_dst_addr = 0x8004;
        },
        &|a| {
            ve_to_ve(a);
            a.ve_dst_addr = u64::MAX - 7;
        },
    ] {
        assert!(!ok(bad));
    }
}
