// SPDX-License-Identifier: GPL-2.0

//! ve_sysfs_test: the card as NEC's user space finds it (docs/nec-abi.md, "The device node and
//! permissions", "sysfs"): class `ve`, `/dev/ve0` a char device of mode 0666 whose sysfs
//! directory is `<pci device>/ve/ve0`, NEC's attributes with NEC's modes and formats, their values
//! from the VE Configuration Registers the emulator publishes (decoded here by hand, and changed
//! through the emulator and read back after a rebind), `os_state` moving only as VEOS moves it
//! and waking pollers, VE1's management state (`ve_state` moving only along NEC's table and waking
//! pollers, `jiffies` since ONLINE, the 38 sensors gated by it and decoded by NEC's formulas), the
//! BAR attributes (the emulator's VE memory and CR regions of its BAR2, from the PCI resource
//! file), NEC's permission rule (every ioctl needs CAP_SYS_ADMIN; an unknown one is
//! EINVAL), NEC's typed `WAIT_INTR` mask, and the class going with the module.
//!
//! Needs `ve_drv` loaded with `emulator=1` (the suite script does it); unloads and reloads it.

use std::{
    fs,
    os::{
        fd::AsRawFd,
        unix::fs::{
            FileTypeExt,
            MetadataExt,
            PermissionsExt, //
        },
    },
};

use ve_guest::{
    emubar::EmuBar,
    hw::{
        emu,
        pci_id, //
    },
    ksft::{
        ensure,
        ensure_eq,
        ensure_errno, //
    },
    suite::{
        Bail,
        Fixture,
        Suite, //
    },
    sys::{
        self,
        errname, //
    },
    uapi,
};

const NODE: &str = "/dev/ve0";
const CLASS_DIR: &str = "/sys/class/ve/ve0";
const EMU_DRIVER: &str = "ve_drv_emu";
const MODULE: &str = "/lib/modules/ve_drv.ko";
const VCR_WORDS: usize = 13;

type R = Result<(), String>;

/// A writable attribute, inputs it takes with what they read back as, inputs it refuses.
type WritableCase = (
    &'static str,
    &'static [(&'static str, u32)],
    &'static [&'static str],
);

struct Fx {
    bar: EmuBar,
    bdf: String,
    /// The VE Configuration Registers as the emulator published them at start.
    vcr: [u32; VCR_WORDS],
    /// The emulator presents a VE3 (NEC's VE3 attribute set and `ve_state` table).
    ve3: bool,
}

impl Fixture for Fx {}

/// The 13 words at `emu::OFF_VCR`, two per 64-bit word, the lower-numbered in the low half.
fn read_vcr(bar: &EmuBar) -> [u32; VCR_WORDS] {
    let mut w = [0u32; VCR_WORDS];
    for (i, pair) in w.chunks_mut(2).enumerate() {
        let v = bar.get(emu::OFF_VCR + 8 * i);
        pair[0] = v as u32;
        if pair.len() > 1 {
            pair[1] = (v >> 32) as u32;
        }
    }
    w
}

fn write_vcr(bar: &EmuBar, w: &[u32; VCR_WORDS]) {
    for i in 0..VCR_WORDS.div_ceil(2) {
        let lo = u64::from(w[2 * i]);
        let hi = w.get(2 * i + 1).map_or(0, |&h| u64::from(h));
        bar.set(emu::OFF_VCR + 8 * i, lo | hi << 32);
    }
}

fn attr(name: &str) -> Result<String, String> {
    fs::read_to_string(format!("{CLASS_DIR}/{name}")).map_err(|e| format!("read {name}: {e}"))
}

fn store(name: &str, value: &str) -> Result<(), i32> {
    sys::write_file(&format!("{CLASS_DIR}/{name}"), value)
}

/// An attribute's text, or the errno its read failed with.
fn read_errno(name: &str) -> Result<String, i32> {
    fs::read_to_string(format!("{CLASS_DIR}/{name}")).map_err(|e| e.raw_os_error().unwrap_or(0))
}

/// `ve_state <- value`, which must succeed.
fn set_ve_state(value: &str) -> R {
    store("ve_state", value).map_err(|e| format!("ve_state <- {value:?}: {}", errname(e)))
}

/// `ve_state` to UNINITIALIZED and the online time forgotten, whatever it was: OFFLINE and
/// UNAVAILABLE are allowed from anything, UNINITIALIZED from UNAVAILABLE.
fn reset_ve_state() -> R {
    for v in ["2", "4", "0"] {
        set_ve_state(v)?;
    }
    ensure_eq("ve_state after reset", attr("ve_state")?, "0\n".into())
}

/// `jiffies` as a number.
fn jiffies() -> Result<u64, String> {
    let s = attr("jiffies")?;
    s.strip_suffix('\n')
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("jiffies: {s:?}"))
}

/// Writes `value` to attribute `name` 200 ms after a poller of the file started waiting for
/// `POLLPRI` (a sysfs poller reads first); the store's result and whether the poller was woken
/// within `wait_ms`.
fn store_while_polling(name: &str, value: &'static str, wait_ms: i32) -> Result<(R, bool), String> {
    let f = fs::File::open(format!("{CLASS_DIR}/{name}")).map_err(|e| format!("open: {e}"))?;
    let mut buf = [0u8; 16];
    // SAFETY: a read into a local buffer from an open file.
    unsafe { libc::read(f.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    let owned = name.to_owned();
    let writer = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(200));
        store(&owned, value)
    });
    let mut p = libc::pollfd {
        fd: f.as_raw_fd(),
        events: libc::POLLPRI | libc::POLLERR,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let n = unsafe { libc::poll(&mut p, 1, wait_ms) };
    let stored = writer.join().map_err(|_| "writer panicked")?;
    let stored = stored.map_err(|e| format!("{name} <- {value:?}: {}", errname(e)));
    Ok((stored, n == 1 && p.revents & libc::POLLPRI != 0))
}

/// Start and size of BAR `bar` of PCI device `bdf`, from its sysfs `resource` file (one line
/// per resource: start, end, flags).
fn pci_resource(bdf: &str, bar: usize) -> Result<(u64, u64), String> {
    let text = fs::read_to_string(format!("/sys/bus/pci/devices/{bdf}/resource"))
        .map_err(|e| format!("resource: {e}"))?;
    let line = text.lines().nth(bar).ok_or("no such resource line")?;
    let f: Vec<u64> = line
        .split_whitespace()
        .map(|w| u64::from_str_radix(w.trim_start_matches("0x"), 16))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("resource line {line:?}: {e}"))?;
    ensure(f.len() == 3 && f[1] > f[0], || {
        format!("resource line {line:?}")
    })?;
    Ok((f[0], f[1] - f[0] + 1))
}

fn rebind(bdf: &str) -> Result<(), i32> {
    sys::write_file(&format!("/sys/bus/pci/drivers/{EMU_DRIVER}/unbind"), bdf)?;
    sys::write_file(&format!("/sys/bus/pci/drivers/{EMU_DRIVER}/bind"), bdf)
}

/// What sysfs must show for words `w`, by NEC's formats (docs/hardware.md, "VE Configuration
/// Registers"; docs/nec-abi.md, "sysfs"), decoded here independently of the driver.
fn expected(w: &[u32; VCR_WORDS]) -> Vec<(&'static str, String)> {
    let pair = |i: usize| (u64::from(w[i]) << 32) | u64::from(w[i + 1]);
    // Layout 2 (a VE3's): the cores are all of word 5, NUMA's halves nine cores each.
    let wide = w[0] & 0xff == 2;
    let cores = if wide { w[5] } else { w[1] & 0xff_ffff };
    let numa = if wide {
        [0x1ff, 0x3_fe00]
    } else {
        [0x1f, 0x3e0]
    };
    vec![
        ("abi_version", "101\n".into()),
        ("ve_arch_class", "ve1\n".into()),
        ("num_of_core", format!("{}\n", w[1] >> 24)),
        ("cores_enable", format!("0x{cores:06x}\n")),
        ("memory_size", format!("{}\n", w[11] >> 16)),
        ("model", format!("{}\n", w[0] >> 24)),
        ("type", format!("{}\n", (w[0] >> 16) & 0xff)),
        ("clock_memory", format!("{}\n", w[11] & 0xffff)),
        ("clock_chip", format!("{}\n", w[12] >> 16)),
        ("clock_base", format!("{}\n", w[12] & 0xffff)),
        ("fw_version", format!("{}\n", w[10] & 0xffff)),
        ("serial", format!("{:016x}{:016x}\n", pair(6), pair(8))),
        ("chip_id", format!("{:016x}{:016x}\n", pair(2), pair(4))),
        ("numa0_cores", format!("{:#x}\n", cores & numa[0])),
        ("numa1_cores", format!("{:#x}\n", cores & numa[1])),
        ("cache_l1i", "32\n".into()),
        ("cache_l1d", "32\n".into()),
        ("cache_l2", "256\n".into()),
        ("cache_llc", "16384\n".into()),
        ("numa_mem_block_size", "0x4000000\n".into()),
        ("first_mem_node", "0\n".into()),
        ("task_id_all", " \n".into()),
        ("task_id_dead", " \n".into()),
    ]
}

/// What sysfs must show for words `w` on a VE3: the common attributes as on VE1 but for the
/// architecture class and VE3's cache sizes, and NEC's VE3 group (`chip_id` as 16 + 8 digits,
/// `cache_l3`, `partitioning_mode` from word 10 bit 31 at probe, nobody's `ownership`).
fn expected_ve3(w: &[u32; VCR_WORDS]) -> Vec<(&'static str, String)> {
    let pair = |i: usize| (u64::from(w[i]) << 32) | u64::from(w[i + 1]);
    let mut v: Vec<_> = expected(w)
        .into_iter()
        .filter(|(name, _)| !name.starts_with("cache_") && *name != "chip_id")
        .map(|(name, value)| match name {
            "ve_arch_class" => (name, "ve3\n".into()),
            _ => (name, value),
        })
        .collect();
    v.extend([
        ("chip_id", format!("{:016x}{:08x}\n", pair(2), w[4])),
        ("cache_l1i", "64\n".into()),
        ("cache_l1d", "64\n".into()),
        ("cache_l2", "512\n".into()),
        ("cache_llc", "65536\n".into()),
        ("cache_l3", "2048\n".into()),
        ("ownership", "none\n".into()),
        ("partitioning_mode", format!("{}\n", w[10] >> 31)),
    ]);
    v
}

fn check_values(w: &[u32; VCR_WORDS]) -> R {
    let ve3 = w[0] >> 24 == 3;
    for (name, want) in if ve3 { expected_ve3(w) } else { expected(w) } {
        ensure_eq(name, attr(name)?, want)?;
    }
    Ok(())
}

/// `/dev/ve0` is a char device of mode 0666 (NEC's: pseudo processes open it as ordinary users).
fn node_is_world_writable_char_device(_: &mut Fx) -> R {
    let m = fs::metadata(NODE).map_err(|e| format!("stat {NODE}: {e}"))?;
    ensure(m.file_type().is_char_device(), || {
        format!("{NODE} is not a char device")
    })?;
    ensure_eq("mode", m.permissions().mode() & 0o777, 0o666)
}

/// `/sys/class/ve/ve0` and `/sys/dev/char/MAJ:MIN` (libved's lookup by device number) are one
/// directory, `<pci device>/ve/ve0`, whose `dev` names the node's number.
fn class_and_devnum_name_the_pci_child(fx: &mut Fx) -> R {
    let m = fs::metadata(NODE).map_err(|e| format!("stat {NODE}: {e}"))?;
    let (maj, min) = (libc::major(m.rdev()), libc::minor(m.rdev()));
    ensure_eq("minor", min, 0)?;
    let by_class = fs::canonicalize(CLASS_DIR).map_err(|e| format!("{CLASS_DIR}: {e}"))?;
    let by_num = fs::canonicalize(format!("/sys/dev/char/{maj}:{min}"))
        .map_err(|e| format!("/sys/dev/char/{maj}:{min}: {e}"))?;
    ensure_eq("same directory", &by_class, &by_num)?;
    let path = by_class.to_string_lossy().into_owned();
    ensure(path.ends_with(&format!("/{}/ve/ve0", fx.bdf)), || {
        format!("{path} is not <pci {}>/ve/ve0", fx.bdf)
    })?;
    ensure_eq("dev", attr("dev")?, format!("{maj}:{min}\n"))
}

/// NEC's common attributes and those of both variants' groups (read-only ones).
const RO_COMMON: &[&str] = &[
    "abi_version",
    "ve_arch_class",
    "num_of_core",
    "memory_size",
    "model",
    "type",
    "cores_enable",
    "clock_memory",
    "clock_chip",
    "clock_base",
    "cache_l1i",
    "cache_l1d",
    "cache_l2",
    "cache_llc",
    "task_id_all",
    "task_id_dead",
    "fw_version",
    "serial",
    "numa0_cores",
    "numa1_cores",
    "numa_mem_block_size",
    "first_mem_node",
    "chip_id",
    "jiffies",
    "bar0_size",
    "bar0_addr",
];

/// Every attribute this driver has of NEC's set for the presented card, with NEC's mode (0444,
/// 0644 where writable); the other card's own ones absent. VE1: `bar3_addr`, `sensor_0` ..
/// `sensor_37`, no `bar3_size` (NEC's VE1 set); VE3: `bar4_addr`, `cache_l3`, `ownership`,
/// `sensor_1` .. `sensor_42`.
fn attributes_have_necs_modes(fx: &mut Fx) -> R {
    let (own_ro, sensors, absent): (&[&str], _, &[&str]) = if fx.ve3 {
        (
            &["bar4_addr", "cache_l3", "ownership"],
            1..=42,
            &["sensor_0", "sensor_43", "bar3_addr"],
        )
    } else {
        (
            &["bar3_addr"],
            0..=37,
            &["sensor_38", "bar3_size", "bar4_addr", "ownership"],
        )
    };
    let mut rw: Vec<String> = [
        "os_state",
        "partitioning_mode",
        "throttling_level",
        "ve_state",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    rw.extend(sensors.map(|n| format!("sensor_{n}")));
    let ro: Vec<String> = RO_COMMON
        .iter()
        .chain(own_ro)
        .map(|s| s.to_string())
        .collect();
    for (names, mode) in [(&ro, 0o444), (&rw, 0o644)] {
        for name in names {
            let m =
                fs::metadata(format!("{CLASS_DIR}/{name}")).map_err(|e| format!("{name}: {e}"))?;
            ensure_eq(name, m.permissions().mode() & 0o777, mode)?;
        }
    }
    for name in absent {
        ensure(!sys::exists(&format!("{CLASS_DIR}/{name}")), || {
            format!("{name} exists")
        })?;
    }
    Ok(())
}

/// Values: what the emulator's configuration words say, in NEC's formats; VEOS offline at
/// probe, the VE UNINITIALIZED (VE1) or AVAILABLE (VE3, NEC's VE3 probe), `jiffies` 0, a VE1
/// not partitioned (a VE3's `partitioning_mode` follows its words: [`check_values`]).
fn values_follow_the_configuration_registers(fx: &mut Fx) -> R {
    check_values(&fx.vcr)?;
    ensure_eq("os_state at probe", attr("os_state")?, "1\n".into())?;
    let ve_state = if fx.ve3 { "1\n" } else { "0\n" };
    ensure_eq("ve_state at probe", attr("ve_state")?, ve_state.into())?;
    ensure_eq("jiffies at probe", attr("jiffies")?, "0\n".into())?;
    if !fx.ve3 {
        ensure_eq(
            "partitioning_mode",
            attr("partitioning_mode")?,
            "0\n".into(),
        )?;
    }
    ensure_eq("throttling_level", attr("throttling_level")?, "0\n".into())
}

/// Other words (NEC's model 2, 5 cores of 10, 48 GiB, other clocks and serials; on a VE3
/// another product type and the NUMA bit of word 10, which `partitioning_mode` follows at probe)
/// read back after a rebind, which reads them again; the original words come back the same way.
fn changed_registers_read_back_after_rebind(fx: &mut Fx) -> R {
    let mut w = fx.vcr;
    w[0] = if fx.ve3 { 0x0305_0101 } else { 0x0207_0301 };
    w[1] = 0x0500_03e0;
    w[2..10].copy_from_slice(&[
        1,
        2,
        3,
        4,
        0xdead_beef,
        0x0bad_cafe,
        0x1234_5678,
        0x9abc_def0,
    ]);
    w[10] = if fx.ve3 { 0x8000_0042 } else { 0x0042 };
    w[11] = (48 << 16) | 1200;
    w[12] = (1600 << 16) | 50;
    read_back_after_rebind(fx, &w)
}

/// A VE3 whose configuration words are of layout 2 (later VE3s): the enabled cores are all of
/// word 5 (word 1's bitmap says otherwise and is not read), NUMA's halves are nine cores each,
/// `chip_id` is words 2-4; read back after a rebind, then the original words the same way.
fn ve3_layout_2_takes_the_cores_from_word_5(fx: &mut Fx) -> R {
    let mut w = fx.vcr;
    w[0] = (w[0] & !0xff) | 2;
    // 12 cores; a bitmap of two that layout 2 ignores.
    w[1] = 0x0c00_0003;
    // Cores 0-7 and 14-17: both NUMA halves of layout 2, beyond layout 1's 10 cores.
    w[5] = 0x0003_c0ff;
    read_back_after_rebind(fx, &w)
}

/// Puts words `w` in the emulator's block, rebinds and checks every value; then the original
/// words, rebinds and checks them.
fn read_back_after_rebind(fx: &Fx, w: &[u32; VCR_WORDS]) -> R {
    write_vcr(&fx.bar, w);
    let r = rebind(&fx.bdf)
        .map_err(|e| format!("rebind: {}", errname(e)))
        .and_then(|()| check_values(w));
    write_vcr(&fx.bar, &fx.vcr);
    r?;
    rebind(&fx.bdf).map_err(|e| format!("rebind with the original words: {}", errname(e)))?;
    check_values(&fx.vcr)
}

/// Words that do not describe the presented card (on a VE1 a VE3's model, a layout version NEC
/// does not know; on a VE3 VE1's QEMU model, a VE3 of CPU version 2, an unknown layout): probe
/// refuses the card (`ENODEV` from bind, no node); with the original words it binds again.
fn a_card_of_another_kind_does_not_bind(fx: &mut Fx) -> R {
    let unbind = format!("/sys/bus/pci/drivers/{EMU_DRIVER}/unbind");
    let bind = format!("/sys/bus/pci/drivers/{EMU_DRIVER}/bind");
    sys::write_file(&unbind, &fx.bdf).map_err(|e| format!("unbind: {}", errname(e)))?;
    let mut r = Ok(());
    let others: &[u32] = if fx.ve3 {
        &[0xfe00_0101, 0x0300_0201, 0x0300_0103]
    } else {
        &[0x0300_0101, 0xfe00_0102]
    };
    for &w0 in others {
        let mut w = fx.vcr;
        w[0] = w0;
        write_vcr(&fx.bar, &w);
        r = ensure_errno(
            &format!("bind with word 0 = {w0:#x}"),
            sys::write_file(&bind, &fx.bdf),
            libc::ENODEV,
        )
        .and_then(|()| ensure(!sys::exists(NODE), || format!("{NODE} exists")));
        if r.is_err() {
            break;
        }
    }
    write_vcr(&fx.bar, &fx.vcr);
    r?;
    sys::write_file(&bind, &fx.bdf).map_err(|e| format!("bind: {}", errname(e)))?;
    ensure(sys::exists(NODE), || format!("{NODE} missing after bind"))
}

/// `os_state`: only NEC's transitions (offline -> initializing -> online -> terminating ->
/// offline, initializing -> offline); anything else `EINVAL`, a number too large `ERANGE`; a
/// poller of the file is woken (`POLLPRI`) by a change.
fn os_state_moves_as_veos_moves_it(_: &mut Fx) -> R {
    // From offline.
    for bad in ["0", "3", "1", "4", "-1", "x", "2 "] {
        ensure_errno(
            &format!("offline -> {bad:?}"),
            store("os_state", bad),
            libc::EINVAL,
        )?;
    }
    ensure_errno(
        "a number beyond u64",
        store("os_state", "99999999999999999999"),
        libc::ERANGE,
    )?;
    ensure_eq("still offline", attr("os_state")?, "1\n".into())?;
    // VEOS writes "%d" without a newline; a shell adds one.
    store("os_state", "2").map_err(|e| format!("offline -> initializing: {}", errname(e)))?;
    store("os_state", "1\n").map_err(|e| format!("initializing -> offline: {}", errname(e)))?;
    store("os_state", "0x2")
        .map_err(|e| format!("offline -> initializing (hex): {}", errname(e)))?;
    ensure_errno(
        "initializing -> terminating",
        store("os_state", "3"),
        libc::EINVAL,
    )?;
    // initializing -> online, with a poller waiting for the change.
    let f = fs::File::open(format!("{CLASS_DIR}/os_state")).map_err(|e| format!("open: {e}"))?;
    let mut buf = [0u8; 16];
    // A sysfs poller reads first, then waits for POLLPRI.
    // SAFETY: a read into a local buffer from an open file.
    unsafe { libc::read(f.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    let writer = std::thread::spawn(|| {
        std::thread::sleep(std::time::Duration::from_millis(200));
        store("os_state", "0")
    });
    let mut p = libc::pollfd {
        fd: f.as_raw_fd(),
        events: libc::POLLPRI | libc::POLLERR,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let n = unsafe { libc::poll(&mut p, 1, 5000) };
    let stored = writer.join().map_err(|_| "writer panicked")?;
    stored.map_err(|e| format!("initializing -> online: {}", errname(e)))?;
    ensure(n == 1 && p.revents & libc::POLLPRI != 0, || {
        format!(
            "poll: {n}, revents {:#x}: the change did not wake the poller",
            p.revents
        )
    })?;
    ensure_eq("online", attr("os_state")?, "0\n".into())?;
    ensure_errno("online -> offline", store("os_state", "1"), libc::EINVAL)?;
    ensure_errno(
        "online -> initializing",
        store("os_state", "2"),
        libc::EINVAL,
    )?;
    store("os_state", "3").map_err(|e| format!("online -> terminating: {}", errname(e)))?;
    ensure_errno(
        "terminating -> online",
        store("os_state", "0"),
        libc::EINVAL,
    )?;
    store("os_state", "1").map_err(|e| format!("terminating -> offline: {}", errname(e)))?;
    ensure_eq("offline again", attr("os_state")?, "1\n".into())
}

/// `ve_state`: only NEC's VE1 transitions (UNINITIALIZED from MAINTENANCE or UNAVAILABLE, ONLINE
/// and MAINTENANCE from OFFLINE, OFFLINE and UNAVAILABLE from anything); anything else `EINVAL`,
/// a number too large `ERANGE`; a successful store wakes a `POLLPRI` poller, a refused one does
/// not.
fn ve_state_moves_as_necs_table(_: &mut Fx) -> R {
    reset_ve_state()?;
    // From UNINITIALIZED: only OFFLINE and UNAVAILABLE.
    for bad in ["0", "1", "3", "5", "-1", "x", "2 ", "0x"] {
        ensure_errno(
            &format!("uninitialized -> {bad:?}"),
            store("ve_state", bad),
            libc::EINVAL,
        )?;
    }
    ensure_errno(
        "a number beyond u64",
        store("ve_state", "99999999999999999999"),
        libc::ERANGE,
    )?;
    ensure_eq("still uninitialized", attr("ve_state")?, "0\n".into())?;
    // (from, to, allowed), walked in this order; each row starts where the last one left off.
    let walk: &[(&str, &str, bool)] = &[
        ("0", "2", true),
        ("2", "0", false),
        ("2", "2", true),
        ("2", "3", true),
        ("3", "1", false),
        ("3", "3", false),
        ("3", "0", true),
        ("0", "4", true),
        ("4", "1", false),
        ("4", "3", false),
        ("4", "4", true),
        ("4", "0", true),
        ("0", "2", true),
        ("2", "1", true),
        ("1", "1", false),
        ("1", "0", false),
        ("1", "3", false),
        ("1", "2", true),
        ("2", "1", true),
        ("1", "4", true),
        ("4", "2", true),
        ("2", "4", true),
        ("4", "0", true),
    ];
    for &(from, to, ok) in walk {
        ensure_eq("from", attr("ve_state")?, format!("{from}\n"))?;
        let what = format!("{from} -> {to}");
        if ok {
            store("ve_state", to).map_err(|e| format!("{what}: {}", errname(e)))?;
        } else {
            ensure_errno(&what, store("ve_state", to), libc::EINVAL)?;
        }
    }
    // Hex and a newline parse as kstrtoul's; OFFLINE -> ONLINE wakes a poller.
    set_ve_state("0x2\n")?;
    let (stored, woken) = store_while_polling("ve_state", "1\n", 5000)?;
    stored?;
    ensure(woken, || "OFFLINE -> ONLINE did not wake the poller".into())?;
    ensure_eq("online", attr("ve_state")?, "1\n".into())?;
    // A refused store (ONLINE -> MAINTENANCE) wakes nobody.
    let (stored, woken) = store_while_polling("ve_state", "3", 700)?;
    ensure(stored.is_err(), || {
        "ONLINE -> MAINTENANCE was accepted".into()
    })?;
    ensure(!woken, || "a refused store woke the poller".into())?;
    // ONLINE -> UNAVAILABLE wakes it too.
    let (stored, woken) = store_while_polling("ve_state", "4", 5000)?;
    stored?;
    ensure(woken, || {
        "ONLINE -> UNAVAILABLE did not wake the poller".into()
    })?;
    reset_ve_state()
}

/// `jiffies`: 0 before the first ONLINE; after it, the jiffies since, growing; kept through
/// UNAVAILABLE (NEC touches it only on ONLINE and OFFLINE); 0 again after OFFLINE; restarted
/// by the next ONLINE.
fn jiffies_count_from_online(_: &mut Fx) -> R {
    reset_ve_state()?;
    ensure_eq("uninitialized", jiffies()?, 0)?;
    set_ve_state("2")?;
    ensure_eq("offline", jiffies()?, 0)?;
    set_ve_state("3")?;
    ensure_eq("maintenance", jiffies()?, 0)?;
    set_ve_state("2")?;
    set_ve_state("1")?;
    let j1 = jiffies()?;
    std::thread::sleep(std::time::Duration::from_millis(300));
    let j2 = jiffies()?;
    // 300 ms is at least 30 jiffies at HZ=100.
    ensure(j2 >= j1 + 20, || {
        format!("jiffies {j1} then {j2} 300 ms later")
    })?;
    set_ve_state("4")?;
    let j3 = jiffies()?;
    ensure(j3 >= j2, || format!("unavailable: jiffies {j3} after {j2}"))?;
    set_ve_state("2")?;
    ensure_eq("offline after online", jiffies()?, 0)?;
    set_ve_state("1")?;
    let j4 = jiffies()?;
    ensure(j4 < j3, || {
        format!("online again: jiffies {j4}, not restarted (was {j3})")
    })?;
    reset_ve_state()?;
    ensure_eq("after reset", jiffies()?, 0)
}

/// The sensors: `EIO` while not ONLINE (reads, writes, even of garbage); `EAGAIN` after ONLINE
/// until written; written raw values read back through NEC's decoders (worked out here from
/// NEC's formulas); the low 16 bits kept; `EINVAL` for what is not a number; unset again after
/// the next ONLINE.
fn sensors_follow_ve_state(_: &mut Fx) -> R {
    reset_ve_state()?;
    for state in ["0", "2"] {
        if state == "2" {
            set_ve_state("2")?;
        }
        ensure_errno(
            &format!("read sensor_0 in state {state}"),
            read_errno("sensor_0"),
            libc::EIO,
        )?;
        for v in ["1", "junk"] {
            ensure_errno(
                &format!("sensor_0 <- {v:?} in state {state}"),
                store("sensor_0", v),
                libc::EIO,
            )?;
        }
    }
    set_ve_state("1")?;
    for n in 0..38 {
        ensure_errno(
            &format!("sensor_{n} before a write"),
            read_errno(&format!("sensor_{n}")),
            libc::EAGAIN,
        )?;
    }
    // (sensor, written, shown): NEC's decoder of each sensor (sensor_ve1.tbl) on the value.
    let cases: &[(u32, &str, i64)] = &[
        // a: bits 11:0 x 500.
        (0, "0x123", 0x123 * 500),
        (1, "0xf001", 500),
        // b: bits 9:0 x 6250; l: x 7800; c: x 2197; d: x 62500; e: x 17200; f: x 4394.
        (2, "1023", 1023 * 6250),
        (3, "0x401", 7800),
        (4, "100", 100 * 2197),
        (8, "2", 2 * 62500),
        (10, "3", 3 * 17200),
        (11, "10", 10 * 4394),
        // g: 16 bits x 2.
        (12, "0xfffe", 0xfffe * 2),
        // h: bits 10:0 x 125000 (NEC's arithmetic cancels the sign bit 11).
        (14, "5", 5 * 125_000),
        (23, "0x805", 5 * 125_000),
        // i: bits 15:6 x 250000 - 64000000.
        (24, "0", -64_000_000),
        (28, "0x4b3f", 300 * 250_000 - 64_000_000),
        // j: bit 9 clear: bits 8:0 x 250000; set: (bits 8:0 - 512) x -250000.
        (27, "10", 10 * 250_000),
        (27, "0x20a", (10 - 512) * -250_000),
        // k: 5400000 / raw, 0 for 0.
        (29, "1800", 5_400_000 / 1800),
        (29, "7", 5_400_000 / 7),
        (29, "0", 0),
        // m: bits 9:0 x 6250, less 290000 from 290000 on.
        (30, "46", 46 * 6250),
        (30, "47", 47 * 6250 - 290_000),
        (31, "1", 2197),
        // n: raw; octal and a newline parse as kstrtoul's; the low 16 bits are kept.
        (32, "010\n", 8),
        (37, "0x12345", 0x2345),
    ];
    for &(n, v, want) in cases {
        let name = format!("sensor_{n}");
        store(&name, v).map_err(|e| format!("{name} <- {v:?}: {}", errname(e)))?;
        ensure_eq(
            &format!("{name} <- {v:?}"),
            attr(&name)?,
            format!("{want}\n"),
        )?;
    }
    // Low 16 bits all ones: unset again.
    store("sensor_37", "0x1ffff").map_err(|e| format!("sensor_37 <- 0x1ffff: {}", errname(e)))?;
    ensure_errno(
        "sensor_37 <- 0x1ffff",
        read_errno("sensor_37"),
        libc::EAGAIN,
    )?;
    for bad in ["junk", "-1", "1 ", "0x", "99999999999999999999"] {
        ensure_errno(
            &format!("sensor_5 <- {bad:?}"),
            store("sensor_5", bad),
            libc::EINVAL,
        )?;
    }
    ensure_errno(
        "sensor_5 after refused writes",
        read_errno("sensor_5"),
        libc::EAGAIN,
    )?;
    // Out of ONLINE: EIO; back: unset.
    set_ve_state("4")?;
    ensure_errno("sensor_0 unavailable", read_errno("sensor_0"), libc::EIO)?;
    set_ve_state("2")?;
    set_ve_state("1")?;
    for n in [0, 29, 37] {
        ensure_errno(
            &format!("sensor_{n} after ONLINE again"),
            read_errno(&format!("sensor_{n}")),
            libc::EAGAIN,
        )?;
    }
    reset_ve_state()
}

/// `bar0_size`, `bar0_addr` and `bar3_addr` (VE3: `bar4_addr`): on the emulator NEC's BAR0 (VE
/// memory window) and BAR3 (CR pages; VE3: BAR4) are regions of its BAR2; the attributes show
/// them from BAR2's start in the PCI resource file, in NEC's formats; `bar0_size` is at least the
/// 128 MiB VEOS needs.
fn bar_attributes_name_the_windows(fx: &mut Fx) -> R {
    let (start, size) = pci_resource(&fx.bdf, 2)?;
    ensure(
        size >= (emu::VEMEM_AREA + emu::VEMEM_AREA_SIZE) as u64,
        || format!("BAR2 is {size:#x} bytes"),
    )?;
    ensure_eq(
        "bar0_size",
        attr("bar0_size")?,
        format!("{:#x}\n", emu::VEMEM_AREA_SIZE),
    )?;
    ensure_eq(
        "bar0_addr",
        attr("bar0_addr")?,
        format!("0x{:x}\n", start + emu::VEMEM_AREA as u64),
    )?;
    // VE1: BAR3's CR pages (the emulator's CR stand-in); VE3: BAR4 (its VE3 BAR4 image).
    let (name, region) = if fx.ve3 {
        ("bar4_addr", emu::VE3_BAR4_IMAGE)
    } else {
        ("bar3_addr", emu::CR_AREA)
    };
    ensure_eq(
        name,
        attr(name)?,
        format!("0x{:x}\n", start + region as u64),
    )?;
    let bar0 = attr("bar0_size")?;
    let bar0 = u64::from_str_radix(bar0.trim_end().trim_start_matches("0x"), 16)
        .map_err(|e| format!("bar0_size {bar0:?}: {e}"))?;
    ensure(bar0 >= 128 << 20, || {
        format!("bar0_size {bar0:#x} is less than VEOS's 128 MiB")
    })
}

/// `partitioning_mode` takes 0 or 1, `throttling_level` 0..9 (`kstrtoul` with base 0), nothing
/// else; read-only attributes cannot be opened for writing.
fn writable_attributes_take_necs_values_only(fx: &mut Fx) -> R {
    // (input, what it reads back as): decimal, hex, octal, a trailing newline.
    let cases: [WritableCase; 2] = [
        (
            "partitioning_mode",
            &[("1", 1), ("0x0", 0), ("1\n", 1)],
            &["2", "-1", "one", "1 "],
        ),
        (
            "throttling_level",
            &[("9", 9), ("010", 8), ("0", 0)],
            &["10", "0x10", "9 ", "08"],
        ),
    ];
    for (name, good, bad) in cases {
        for (v, want) in good {
            store(name, v).map_err(|e| format!("{name} <- {v:?}: {}", errname(e)))?;
            ensure_eq(name, attr(name)?, format!("{want}\n"))?;
        }
        for v in bad {
            ensure_errno(&format!("{name} <- {v:?}"), store(name, v), libc::EINVAL)?;
        }
        store(name, "0").map_err(|e| format!("{name} <- 0: {}", errname(e)))?;
    }
    let bar = if fx.ve3 { "bar4_addr" } else { "bar3_addr" };
    for name in [
        "abi_version",
        "num_of_core",
        "task_id_all",
        "jiffies",
        "bar0_size",
        bar,
    ] {
        ensure_errno(&format!("write {name}"), store(name, "1"), libc::EACCES)?;
    }
    Ok(())
}

/// An ordinary user opens the node (mode 0666) and reads the attributes, but every ioctl, known
/// or not, answers `EPERM` (NEC's rule).
fn ordinary_users_open_but_get_eperm(_: &mut Fx) -> R {
    let code = sys::as_nobody(|| {
        let Ok(fd) = sys::open_rw(NODE) else {
            return 1;
        };
        let mut info = uapi::VeDrvInfo::default();
        if sys::ioctl(&fd, uapi::VE_DRV_IOC_INFO, &mut info).err() != Some(libc::EPERM) {
            return 2;
        }
        if sys::ioctl_raw(&fd, uapi::VEDRV_CMD_DELETE_ALL_TASK, 0).err() != Some(libc::EPERM) {
            return 3;
        }
        if sys::ioctl_raw(&fd, 0xf5_3f, 0).err() != Some(libc::EPERM) {
            return 4;
        }
        if fs::read_to_string(format!("{CLASS_DIR}/abi_version"))
            .ok()
            .as_deref()
            != Some("101\n")
        {
            return 5;
        }
        0
    })
    .map_err(|e| format!("fork: {}", errname(e)))?;
    ensure_eq(
        "child (1: open failed, 2-4: not EPERM for INFO/DELETE_ALL_TASK/unknown, 5: sysfs)",
        code,
        0,
    )
}

/// Root: an unknown command, and a NEC command this driver does not implement, are `EINVAL`.
fn unknown_commands_are_einval(fx: &mut Fx) -> R {
    let fd = sys::open_rw(NODE).map_err(|e| format!("open: {}", errname(e)))?;
    ensure_errno(
        "_IO(0xf5, 0x3f)",
        sys::ioctl_raw(&fd, 0xf5_3f, 0),
        libc::EINVAL,
    )?;
    ensure_errno(
        "another magic",
        sys::ioctl_raw(&fd, 0x1234, 0),
        libc::EINVAL,
    )?;
    if fx.ve3 {
        // Every VE3 command is implemented (the other cases).
        return Ok(());
    }
    // VE3's commands on a VE1, as NEC's VE1 driver answers them.
    for (name, cmd) in [
        ("OWNERSHIP", uapi::VEDRV_CMD_OWNERSHIP),
        ("NOTIFY_FAULT", uapi::VEDRV_CMD_NOTIFY_FAULT),
        ("GET_EXS_REG", uapi::VEDRV_CMD_GET_EXS_REG),
        ("COMPLETE_MEMCLEAR", uapi::VEDRV_CMD_COMPLETE_MEMCLEAR),
        ("HANDLE_CLOCK_GATING", uapi::VEDRV_CMD_HANDLE_CLOCK_GATING),
        (
            "GET_CLOCK_GATING_STATE",
            uapi::VEDRV_CMD_GET_CLOCK_GATING_STATE,
        ),
    ] {
        ensure_errno(
            &format!("VEDRV_CMD_{name} (VE3's)"),
            sys::ioctl_raw(&fd, cmd, 1),
            libc::EINVAL,
        )?;
    }
    Ok(())
}

/// `WAIT_INTR` takes NEC's typed mask: the card's type word waits (and times out with nothing
/// to catch), any other type word is `EINVAL`, as libved's `vedl_wait_interrupt()` expects.
fn wait_intr_takes_necs_typed_mask(_: &mut Fx) -> R {
    let fd = sys::open_rw(NODE).map_err(|e| format!("open: {}", errname(e)))?;
    let ts = uapi::Timespec {
        tv_sec: 0,
        tv_nsec: 20_000_000,
    };
    // Forget what earlier cases' interrupts left to report.
    let ve3 = ve_guest::emubar::EmuBar::open()?.is_ve3();
    let _ = ve_guest::userdma::wait_intr_pdma(&fd, 0, ve3);
    let (mine, other) = if ve3 {
        (uapi::VEDRV_IRQ_TYPE_VE3, uapi::VEDRV_IRQ_TYPE_VE1)
    } else {
        (uapi::VEDRV_IRQ_TYPE_VE1, uapi::VEDRV_IRQ_TYPE_VE3)
    };
    for (ty, want) in [
        (other, libc::EINVAL),
        (0, libc::EINVAL),
        (mine, libc::ETIMEDOUT),
    ] {
        // The type word, then the privileged DMA bit in the card's layout (VE1: upper, lower;
        // VE3: intvec[4]), room for the longer one.
        let mut mask: [u64; 5] = if ve3 {
            [ty, 0, 1, 0, 0]
        } else {
            [ty, 0, 1 << 48, 0, 0]
        };
        let mut arg = uapi::VeWaitIrqArg {
            bits: &raw mut mask as u64,
            timeout: &raw const ts as u64,
        };
        ensure_errno(
            &format!("type {ty:#x}"),
            sys::ioctl(&fd, uapi::VEDRV_CMD_WAIT_INTR, &mut arg),
            want,
        )?;
    }
    Ok(())
}

/// rmmod removes the class; loading the module again brings the node back.
fn the_class_goes_with_the_module(fx: &mut Fx) -> R {
    sys::rmmod("ve_drv").map_err(|e| format!("rmmod: {}", errname(e)))?;
    ensure(!sys::exists("/sys/class/ve"), || {
        "/sys/class/ve after rmmod".into()
    })?;
    ensure(!sys::exists(NODE), || format!("{NODE} after rmmod"))?;
    sys::insmod(MODULE, "emulator=1").map_err(|e| format!("insmod: {}", errname(e)))?;
    ensure(sys::wait_for(2000, || sys::exists(NODE)), || {
        format!("{NODE} missing after insmod")
    })?;
    check_values(&fx.vcr)
}

/// `ve_state` on a VE3: NEC's VE3 table (1 AVAILABLE from anything, 3 MAINTENANCE only from
/// AVAILABLE, 4 UNAVAILABLE from anything but itself; 0 and 2 are not states: `EINVAL`); a
/// successful store wakes a `POLLPRI` poller, a refused one does not.
fn ve3_ve_state_moves_as_necs_table(_: &mut Fx) -> R {
    ensure_eq("available at probe", attr("ve_state")?, "1\n".into())?;
    for bad in ["0", "2", "5", "-1", "x", "1 "] {
        ensure_errno(
            &format!("available -> {bad:?}"),
            store("ve_state", bad),
            libc::EINVAL,
        )?;
    }
    ensure_errno(
        "a number beyond u64",
        store("ve_state", "99999999999999999999"),
        libc::ERANGE,
    )?;
    let walk: &[(&str, &str, bool)] = &[
        ("1", "1", true),
        ("1", "3", true),
        ("3", "3", false),
        ("3", "4", true),
        ("4", "4", false),
        ("4", "3", false),
        ("4", "1", true),
        ("1", "4", true),
        ("4", "1", true),
        ("1", "3", true),
        ("3", "1", true),
    ];
    for &(from, to, ok) in walk {
        ensure_eq("from", attr("ve_state")?, format!("{from}\n"))?;
        let what = format!("{from} -> {to}");
        if ok {
            store("ve_state", to).map_err(|e| format!("{what}: {}", errname(e)))?;
        } else {
            ensure_errno(&what, store("ve_state", to), libc::EINVAL)?;
        }
    }
    let (stored, woken) = store_while_polling("ve_state", "0x3\n", 5000)?;
    stored?;
    ensure(woken, || {
        "AVAILABLE -> MAINTENANCE did not wake the poller".into()
    })?;
    let (stored, woken) = store_while_polling("ve_state", "3", 700)?;
    ensure(stored.is_err(), || {
        "MAINTENANCE -> MAINTENANCE was accepted".into()
    })?;
    ensure(!woken, || "a refused store woke the poller".into())?;
    set_ve_state("1")
}

/// `jiffies` on a VE3: counts from the last store of AVAILABLE, through MAINTENANCE and
/// UNAVAILABLE; restarted by the next AVAILABLE.
fn ve3_jiffies_count_from_available(_: &mut Fx) -> R {
    set_ve_state("1")?;
    let j1 = jiffies()?;
    std::thread::sleep(std::time::Duration::from_millis(300));
    let j2 = jiffies()?;
    ensure(j2 >= j1 + 20, || {
        format!("jiffies {j1} then {j2} 300 ms later")
    })?;
    set_ve_state("3")?;
    set_ve_state("4")?;
    let j3 = jiffies()?;
    ensure(j3 >= j2, || format!("unavailable: jiffies {j3} after {j2}"))?;
    set_ve_state("1")?;
    let j4 = jiffies()?;
    ensure(j4 < j3, || {
        format!("available again: jiffies {j4}, not restarted (was {j3})")
    })
}

/// VE3's sensors (`sensor_1` .. `sensor_42`): `EAGAIN` until written (probe marks them unset),
/// in any state; shown raw, the low 32 bits kept; `EINVAL` for what is not a number; unset again
/// when AVAILABLE follows UNAVAILABLE, kept when it follows MAINTENANCE.
fn ve3_sensors_raw_in_any_state(_: &mut Fx) -> R {
    for n in [1, 20, 42] {
        ensure_errno(
            &format!("sensor_{n} before a write"),
            read_errno(&format!("sensor_{n}")),
            libc::EAGAIN,
        )?;
    }
    set_ve_state("3")?;
    let cases: &[(u32, &str, i64)] = &[
        (1, "0x123", 0x123),
        (2, "010\n", 8),
        (41, "0x123456789", 0x2345_6789),
        (42, "4294967294", 4_294_967_294),
    ];
    for &(n, v, want) in cases {
        let name = format!("sensor_{n}");
        store(&name, v).map_err(|e| format!("{name} <- {v:?}: {}", errname(e)))?;
        ensure_eq(
            &format!("{name} <- {v:?}"),
            attr(&name)?,
            format!("{want}\n"),
        )?;
    }
    store("sensor_3", "0x1ffffffff").map_err(|e| format!("sensor_3: {}", errname(e)))?;
    ensure_errno("sensor_3 all ones", read_errno("sensor_3"), libc::EAGAIN)?;
    for bad in ["junk", "-1", "1 ", "0x", "99999999999999999999"] {
        ensure_errno(
            &format!("sensor_5 <- {bad:?}"),
            store("sensor_5", bad),
            libc::EINVAL,
        )?;
    }
    // MAINTENANCE -> AVAILABLE keeps them; UNAVAILABLE -> AVAILABLE clears them.
    set_ve_state("1")?;
    ensure_eq("sensor_1 kept", attr("sensor_1")?, format!("{}\n", 0x123))?;
    set_ve_state("4")?;
    ensure_eq(
        "sensor_1 while unavailable",
        attr("sensor_1")?,
        format!("{}\n", 0x123),
    )?;
    set_ve_state("1")?;
    for n in [1, 2, 41, 42] {
        ensure_errno(
            &format!("sensor_{n} after UNAVAILABLE -> AVAILABLE"),
            read_errno(&format!("sensor_{n}")),
            libc::EAGAIN,
        )?;
    }
    Ok(())
}

/// VE3's `OWNERSHIP` (NEC's `fops_ve3.c`): 1 requests, 0 releases, anything else `EINVAL`;
/// `EINVAL` to release a card nobody holds, `EBUSY` to request a held one (the holder included),
/// `EACCES` to release another thread's; `ownership` shows the holder's tid, and a release wakes
/// its pollers; the holder's close gives it up; an ordinary user gets `EPERM`.
fn ve3_ownership(_: &mut Fx) -> R {
    use ve_guest::veos::by_value;
    let own = |fd: &std::os::fd::OwnedFd, v: i64| by_value(fd, uapi::VEDRV_CMD_OWNERSHIP, v);
    let fd = sys::open_rw(NODE).map_err(|e| format!("open: {}", errname(e)))?;
    ensure_eq("nobody at first", attr("ownership")?, "none\n".into())?;
    ensure_errno("OWNERSHIP(2)", own(&fd, 2), libc::EINVAL)?;
    ensure_errno("release with no holder", own(&fd, 0), libc::EINVAL)?;
    own(&fd, 1).map_err(|e| format!("request: {}", errname(e)))?;
    // SAFETY: gettid has no preconditions.
    let me = unsafe { libc::gettid() };
    ensure_eq("the holder", attr("ownership")?, format!("{me}\n"))?;
    ensure_errno("request again", own(&fd, 1), libc::EBUSY)?;
    // Another thread, through its own file: busy, and not its to release.
    let other = std::thread::spawn(|| {
        let Ok(fd) = sys::open_rw(NODE) else {
            return (0, 0);
        };
        let e = |r: Result<i32, i32>| r.err().unwrap_or(0);
        (
            e(by_value(&fd, uapi::VEDRV_CMD_OWNERSHIP, 1)),
            e(by_value(&fd, uapi::VEDRV_CMD_OWNERSHIP, 0)),
        )
    })
    .join()
    .map_err(|_| "the other thread panicked")?;
    ensure_eq(
        "another thread's request and release",
        other,
        (libc::EBUSY, libc::EACCES),
    )?;
    let code = sys::as_nobody(|| {
        let Ok(fd) = sys::open_rw(NODE) else { return 1 };
        match by_value(&fd, uapi::VEDRV_CMD_OWNERSHIP, 1) {
            Err(e) if e == libc::EPERM => 0,
            _ => 2,
        }
    })
    .map_err(|e| format!("fork: {}", errname(e)))?;
    ensure_eq("an ordinary user (1: open, 2: not EPERM)", code, 0)?;
    // The release wakes a poller of `ownership`.
    let f = fs::File::open(format!("{CLASS_DIR}/ownership")).map_err(|e| format!("open: {e}"))?;
    let mut buf = [0u8; 16];
    // SAFETY: a read into a local buffer from an open file (a sysfs poller reads first).
    unsafe { libc::read(f.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    let poller = std::thread::spawn(move || {
        let mut p = libc::pollfd {
            fd: f.as_raw_fd(),
            events: libc::POLLPRI | libc::POLLERR,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut p, 1, 5000) };
        n == 1 && p.revents & libc::POLLPRI != 0
    });
    std::thread::sleep(std::time::Duration::from_millis(200));
    own(&fd, 0).map_err(|e| format!("release: {}", errname(e)))?;
    ensure(poller.join().unwrap_or(false), || {
        "the release did not wake the poller".into()
    })?;
    ensure_eq("released", attr("ownership")?, "none\n".into())?;
    // The holder's close gives it up.
    own(&fd, 1).map_err(|e| format!("request again: {}", errname(e)))?;
    drop(fd);
    ensure_eq(
        "after the holder's close",
        attr("ownership")?,
        "none\n".into(),
    )
}

/// VE3's `NOTIFY_FAULT` (NEC's `fops_ve3.c`): `ESRCH` with no holder; 0 and nothing done when
/// the holder is in the caller's process group; otherwise the holder's process is killed
/// (SIGKILL) and its close hands the card to the caller, whose call returns then.
fn ve3_notify_fault(_: &mut Fx) -> R {
    use ve_guest::veos::{by_value, pipe, read_byte, write_byte};
    let fd = sys::open_rw(NODE).map_err(|e| format!("open: {}", errname(e)))?;
    let notify = |fd: &std::os::fd::OwnedFd| by_value(fd, uapi::VEDRV_CMD_NOTIFY_FAULT, 0);
    ensure_errno("no holder", notify(&fd), libc::ESRCH)?;
    // A holder in the caller's own process group is left alone.
    by_value(&fd, uapi::VEDRV_CMD_OWNERSHIP, 1).map_err(|e| format!("request: {}", errname(e)))?;
    let same_group = std::thread::spawn(|| {
        sys::open_rw(NODE).and_then(|fd| by_value(&fd, uapi::VEDRV_CMD_NOTIFY_FAULT, 0))
    })
    .join()
    .map_err(|_| "thread panicked")?;
    ensure_eq("the holder in the caller's group", same_group, Ok(0))?;
    // SAFETY: gettid has no preconditions.
    let me = unsafe { libc::gettid() };
    ensure_eq("still held", attr("ownership")?, format!("{me}\n"))?;
    by_value(&fd, uapi::VEDRV_CMD_OWNERSHIP, 0).map_err(|e| format!("release: {}", errname(e)))?;
    // A holder in another process group: a child that takes the card and waits.
    let (ready_r, ready_w) = pipe()?;
    // SAFETY: the child makes syscalls only and leaves with `_exit` or is killed.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: plain syscalls in the child.
        let ok = unsafe { libc::setpgid(0, 0) } == 0;
        let held = ok
            && sys::open_rw(NODE).is_ok_and(|fd| {
                let r = by_value(&fd, uapi::VEDRV_CMD_OWNERSHIP, 1).is_ok();
                write_byte(&ready_w, if r { b'H' } else { b'F' });
                // Keep the file open until killed.
                loop {
                    // SAFETY: waits for a signal.
                    unsafe { libc::pause() };
                }
            });
        write_byte(&ready_w, if held { b'H' } else { b'F' });
        // SAFETY: leave without the parent's destructors.
        unsafe { libc::_exit(1) };
    }
    ensure(pid > 0, || "fork".into())?;
    let got = read_byte(&ready_r, 5000);
    let r = (|| -> R {
        ensure_eq("the child took the card", got, Some(b'H'))?;
        ensure_eq("the holder", attr("ownership")?, format!("{pid}\n"))?;
        notify(&fd).map_err(|e| format!("NOTIFY_FAULT: {}", errname(e)))?;
        ensure_eq(
            "handed to the caller",
            attr("ownership")?,
            format!("{me}\n"),
        )
    })();
    let mut status = 0;
    // SAFETY: reaps the child (killed by NOTIFY_FAULT, or killed here if the test failed).
    unsafe {
        if r.is_err() {
            libc::kill(pid, libc::SIGKILL);
        }
        libc::waitpid(pid, &mut status, 0);
    }
    r?;
    ensure(
        libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGKILL,
        || format!("the holder's status {status:#x}: not killed by SIGKILL"),
    )?;
    by_value(&fd, uapi::VEDRV_CMD_OWNERSHIP, 0).map_err(|e| format!("release: {}", errname(e)))?;
    ensure_eq("released", attr("ownership")?, "none\n".into())
}

/// VE3's clock gating and memory-clear commands: `HANDLE_CLOCK_GATING` 1 and 0 reach the state
/// register that `GET_CLOCK_GATING_STATE` reads (bit 11, once the card has acted, as VEOS polls
/// it), other values `EINVAL`; `COMPLETE_MEMCLEAR` writes NEC's sequence to the memory
/// controllers (read back through the emulator's BAR2).
fn ve3_clock_gating_and_memclear(_: &mut Fx) -> R {
    use ve_guest::{hw::ve3, veos::by_value};
    let fd = sys::open_rw(NODE).map_err(|e| format!("open: {}", errname(e)))?;
    let state = || {
        let mut v = 0u64;
        sys::ioctl(&fd, uapi::VEDRV_CMD_GET_CLOCK_GATING_STATE, &mut v).map(|_| v)
    };
    for (on, want) in [
        (1, ve3::CLOCK_GATING_BIT),
        (0, 0),
        (1, ve3::CLOCK_GATING_BIT),
    ] {
        by_value(&fd, uapi::VEDRV_CMD_HANDLE_CLOCK_GATING, on)
            .map_err(|e| format!("HANDLE_CLOCK_GATING({on}): {}", errname(e)))?;
        ensure(
            sys::wait_for(2000, || {
                state().is_ok_and(|v| v & ve3::CLOCK_GATING_BIT == want)
            }),
            || format!("clock gating {on}: state {:?}", state()),
        )?;
    }
    ensure_errno(
        "HANDLE_CLOCK_GATING(2)",
        by_value(&fd, uapi::VEDRV_CMD_HANDLE_CLOCK_GATING, 2),
        libc::EINVAL,
    )?;
    let bar2 = ve_guest::emubar::map_bar2(0, ve3::BAR4_SIZE)?;
    let reg = |off: usize| {
        // SAFETY: an aligned word inside the 8 MiB mapping (NEC's registers are below it).
        unsafe { bar2.ptr().add(emu::VE3_BAR4_IMAGE + off).cast::<u64>() }
    };
    for (off, _, _) in ve3::MEMCLEAR_DONE {
        // SAFETY: see `reg`.
        unsafe { reg(off).write_volatile(0xdead_beef) };
    }
    by_value(&fd, uapi::VEDRV_CMD_COMPLETE_MEMCLEAR, 0)
        .map_err(|e| format!("COMPLETE_MEMCLEAR: {}", errname(e)))?;
    for (off, want, _) in ve3::MEMCLEAR_DONE {
        // SAFETY: see `reg`.
        let got = unsafe { reg(off).read_volatile() };
        ensure_eq(&format!("MCU register {off:#x}"), got, want)?;
    }
    Ok(())
}

fn main() {
    // The card the emulator presents decides which of NEC's attribute sets is checked: the
    // cases below read it from the fixture, and where VE1 and VE3 follow different tables the
    // card's own case is chosen here.
    let ve3 = EmuBar::open().is_ok_and(|b| b.is_ve3());
    let card = |ve1: &'static str, ve3_name: &'static str| if ve3 { ve3_name } else { ve1 };
    let mut suite = Suite::new(card("ve_sysfs_test", "ve_sysfs_test (VE3)"))
        .case(
            "/dev/ve0 is a char device of mode 0666",
            node_is_world_writable_char_device,
        )
        .case(
            "/sys/class/ve/ve0 and /sys/dev/char/MAJ:MIN are <pci device>/ve/ve0",
            class_and_devnum_name_the_pci_child,
        )
        .case(
            card(
                "every attribute has NEC's mode (0444, 0644 where writable)",
                "every attribute of NEC's VE3 set has NEC's mode; VE1's own ones absent",
            ),
            attributes_have_necs_modes,
        )
        .case(
            card(
                "values are the emulator's configuration words in NEC's formats; os_state offline",
                "values are the emulator's VE3 configuration words in NEC's formats; AVAILABLE at probe",
            ),
            values_follow_the_configuration_registers,
        )
        .case(
            card(
                "changed configuration words read back after a rebind",
                "changed VE3 configuration words (and the NUMA bit) read back after a rebind",
            ),
            changed_registers_read_back_after_rebind,
        )
        .case(
            card(
                "words that do not describe a VE1: bind fails with ENODEV; the original words bind",
                "words that do not describe a VE3: bind fails with ENODEV; the original words bind",
            ),
            a_card_of_another_kind_does_not_bind,
        )
        .case(
            "os_state moves only as VEOS moves it (EINVAL, ERANGE) and wakes a POLLPRI poller",
            os_state_moves_as_veos_moves_it,
        );
    suite = if ve3 {
        suite
            .case(
                "VE3 configuration words of layout 2: cores from word 5, NUMA halves of nine",
                ve3_layout_2_takes_the_cores_from_word_5,
            )
            .case(
                "ve_state moves only along NEC's VE3 table (EINVAL, ERANGE) and wakes a POLLPRI poller",
                ve3_ve_state_moves_as_necs_table,
            )
            .case(
                "jiffies: from the last AVAILABLE, through MAINTENANCE and UNAVAILABLE, restarted",
                ve3_jiffies_count_from_available,
            )
            .case(
                "sensors 1-42: EAGAIN until written, any state, raw 32 bits, EINVAL, cleared after UNAVAILABLE",
                ve3_sensors_raw_in_any_state,
            )
    } else {
        suite
            .case(
                "ve_state moves only along NEC's VE1 table (EINVAL, ERANGE) and wakes a POLLPRI poller",
                ve_state_moves_as_necs_table,
            )
            .case(
                "jiffies: 0 before ONLINE, growing after it, 0 after OFFLINE, restarted by ONLINE",
                jiffies_count_from_online,
            )
            .case(
                "sensors: EIO unless ONLINE, EAGAIN until written, NEC's decoders, low 16 bits, EINVAL",
                sensors_follow_ve_state,
            )
    };
    suite = suite
        .case(
            card(
                "bar0_size, bar0_addr, bar3_addr: the emulator's BAR2 regions; bar0_size >= 128 MiB",
                "bar0_size, bar0_addr, bar4_addr: the emulator's BAR2 regions; bar0_size >= 128 MiB",
            ),
            bar_attributes_name_the_windows,
        )
        .case(
            "partitioning_mode 0-1, throttling_level 0-9, read-only attributes not writable",
            writable_attributes_take_necs_values_only,
        )
        .case(
            "an ordinary user opens /dev/ve0 and reads sysfs; every ioctl is EPERM",
            ordinary_users_open_but_get_eperm,
        )
        .case(
            "root: unknown and unimplemented commands are EINVAL, as NEC's",
            unknown_commands_are_einval,
        )
        .case(
            card(
                "WAIT_INTR with NEC's typed mask: VE1's type waits, others EINVAL",
                "WAIT_INTR with NEC's typed mask: VE3's type waits, others EINVAL",
            ),
            wait_intr_takes_necs_typed_mask,
        );
    if ve3 {
        suite = suite
            .case(
                "OWNERSHIP: request, release, NEC's errnos, ownership shows the holder, close releases",
                ve3_ownership,
            )
            .case(
                "NOTIFY_FAULT: ESRCH with no holder; a holder in the caller's group left alone; another killed and its close hands the card over",
                ve3_notify_fault,
            )
            .case(
                "HANDLE_CLOCK_GATING reaches GET_CLOCK_GATING_STATE; COMPLETE_MEMCLEAR writes NEC's sequence",
                ve3_clock_gating_and_memclear,
            );
    }
    let code = suite
        .case(
            "the class goes with the module and comes back with it",
            the_class_goes_with_the_module,
        )
        .run(fixture);
    std::process::exit(code);
}

/// The emulator's block, its PCI address and its configuration words as published at start.
fn fixture() -> Result<Fx, Bail> {
    let bar = EmuBar::open().map_err(Bail::as_("map the emulator's BAR2"))?;
    let bdf = sys::find_pci(pci_id::VENDOR_REDHAT_QUMRANET, pci_id::DEVICE_IVSHMEM)
        .ok_or("no ivshmem device")
        .map_err(Bail::as_("find the emulator"))?;
    let vcr = read_vcr(&bar);
    let ve3 = bar.is_ve3();
    Ok(Fx { bar, bdf, vcr, ve3 })
}
