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
        (
            "sizeof ve_drv_info",
            "sizeof(struct ve_drv_info)",
            size_of::<VeDrvInfo>() as u64,
        ),
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
        off!(VeDrvInfo, "ve_drv_info", reserved),
        (
            "sizeof ve_drv_ping",
            "sizeof(struct ve_drv_ping)",
            size_of::<VeDrvPing>() as u64,
        ),
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
