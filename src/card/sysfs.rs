// SPDX-License-Identifier: GPL-2.0

//! The card's sysfs attributes, named, moded and formatted as NEC's driver makes them
//! (docs/nec-abi.md, "sysfs"), in `/sys/class/ve/veN`: what libved checks when it opens a card
//! (`abi_version`, `ve_arch_class`), what VEOS reads and writes at start-up (`os_state`,
//! `num_of_core`, `cores_enable`, `memory_size`, `clock_chip`, `partitioning_mode`,
//! `task_id_all`, ...), and the card's identity. Values come from the VE Configuration Registers
//! read at probe ([`read_vcr`]).
//!
//! Not here yet: `ve_state`, `jiffies` and `sensor_*` (VE1's management state, set by NEC's
//! MMM), `bar0_size`, `bar0_addr` and `bar3_addr` (with the register and memory windows).

use kernel::{
    device::Bound,
    io::Io,
    pci,
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc, //
    }, //
};

use super::Card;
use crate::{
    chip::{
        Chip,
        VcrSource, //
    },
    hw::{
        emu,
        vcr::{
            self,
            Vcr, //
        },
    },
    regs::Regs,
    sys::sysfs::{
        DeviceAttr,
        Notifier,
        SysfsText, //
    },
    sysfs_rules::{
        parse_ulong,
        write_pid_list,
        OsState,
        ParseError, //
    },
    uapi,
};

/// NUMA memory block size VEOS uses in partitioning mode (NEC's constant for VE1).
const NUMA_MEM_BLOCK_SIZE: u32 = 0x400_0000;
/// Cores of NUMA node 0 and 1 in partitioning mode (VE1: five each).
const NUMA0_CORES: u32 = 0x1f;
const NUMA1_CORES: u32 = 0x3e0;
/// Throttling levels accepted (0..=9).
const MAX_THROTTLING_LEVEL: u64 = 9;

/// What sysfs stores for VEOS and NEC's management tools.
pub(crate) struct SysfsState {
    /// [`OsState`] as a number.
    os_state: Atomic<u32>,
    /// 0 (normal) or 1 (NUMA partitioning).
    partitioning_mode: Atomic<u32>,
    /// 0..=9.
    throttling_level: Atomic<u32>,
}

impl SysfsState {
    /// As at probe: VEOS offline, no partitioning, throttling level 0.
    pub(crate) fn new() -> Self {
        Self {
            os_state: Atomic::new(OsState::Offline as u32),
            partitioning_mode: Atomic::new(0),
            throttling_level: Atomic::new(0),
        }
    }
}

/// Reads the card's VE Configuration Registers at probe, where `chip` says they are (PCI config
/// space, or the emulator's block in `bar`). `ENODEV` unless they describe a card of `chip`'s
/// variant ([`Chip::vcr_accepts`]), as NEC's probe checks.
pub(crate) fn read_vcr(
    chip: &'static Chip,
    pdev: &pci::Device<Bound>,
    bar: &pci::Bar<'_>,
) -> Result<Vcr> {
    let mut v = Vcr::default();
    match chip.vcr {
        VcrSource::ConfigSpace => {
            let cfg = pdev.config_space_extended()?;
            for (i, w) in v.0.iter_mut().enumerate() {
                *w = cfg.try_read32(vcr::CONFIG_OFFSET + 4 * i)?;
            }
        }
        VcrSource::Emulator => {
            let regs = Regs::new(bar, chip);
            for (i, w) in v.0.iter_mut().enumerate() {
                *w = regs.emu_read32(emu::OFF_VCR + 4 * i)?;
            }
        }
    }
    if !(chip.vcr_accepts)(&v) {
        dev_err!(
            pdev,
            "VE configuration registers: layout {}, model {:#x}: not a {}\n",
            v.version(),
            v.model(),
            chip.name
        );
        return Err(ENODEV);
    }
    Ok(v)
}

type Data = Arc<Card>;

fn vcr_of(card: &Data) -> &Vcr {
    &card.facts.vcr
}

/// A number written to a store that answers `EINVAL` for anything it cannot use.
fn number(input: &str) -> Result<u64> {
    parse_ulong(input).map_err(|_| EINVAL)
}

fn show_os_state(c: &Data, t: &mut SysfsText<'_>) -> Result {
    t.emit(format_args!("{}\n", c.sysfs.os_state.load(Relaxed)))
}

/// `os_state`: VEOS's state, moved only along [`OsState::may_become`] (`EINVAL` otherwise; a
/// number that does not parse gives `kstrtoul`'s errno). Pollers are woken on every change.
fn store_os_state(c: &Data, input: &str, n: &Notifier) -> Result {
    let v = parse_ulong(input).map_err(|e| match e {
        ParseError::Invalid => EINVAL,
        ParseError::Range => ERANGE,
    })?;
    let to = OsState::from_u64(v).ok_or(EINVAL)?;
    let state = &c.sysfs.os_state;
    let mut cur = state.load(Relaxed);
    loop {
        let from = OsState::from_u64(cur.into()).ok_or(EINVAL)?;
        if !from.may_become(to) {
            return Err(EINVAL);
        }
        match state.cmpxchg(cur, to as u32, kernel::sync::atomic::Full) {
            Ok(_) => break,
            Err(now) => cur = now,
        }
    }
    n.notify(c"os_state");
    Ok(())
}

fn show_serial(c: &Data, t: &mut SysfsText<'_>) -> Result {
    let (hi, lo) = vcr_of(c).serial();
    t.emit(format_args!("{hi:016x}{lo:016x}\n"))
}

fn show_chip_id(c: &Data, t: &mut SysfsText<'_>) -> Result {
    let (hi, lo) = vcr_of(c).chip_id();
    t.emit(format_args!("{hi:016x}{lo:016x}\n"))
}

/// `task_id_all`: the pids, as the reader sees them, of the tasks of VE programs (every task but
/// new ones).
fn show_task_id_all(c: &Data, t: &mut SysfsText<'_>) -> Result {
    let room = t.room();
    c.with_task_ids(false, |ids| write_pid_list(t, ids, room))
        .map_err(|_| EFBIG)
}

/// `task_id_dead`: the pids of the tasks whose file was closed while VEOS still owned them;
/// notified when one is added.
fn show_task_id_dead(c: &Data, t: &mut SysfsText<'_>) -> Result {
    let room = t.room();
    c.with_task_ids(true, |ids| write_pid_list(t, ids, room))
        .map_err(|_| EFBIG)
}

fn show_partitioning_mode(c: &Data, t: &mut SysfsText<'_>) -> Result {
    t.emit(format_args!(
        "{}\n",
        c.sysfs.partitioning_mode.load(Relaxed)
    ))
}

/// `partitioning_mode`: 0 or 1, else `EINVAL`.
fn store_partitioning_mode(c: &Data, input: &str, _: &Notifier) -> Result {
    let v = number(input)?;
    if v > 1 {
        return Err(EINVAL);
    }
    c.sysfs.partitioning_mode.store(v as u32, Relaxed);
    Ok(())
}

fn show_throttling_level(c: &Data, t: &mut SysfsText<'_>) -> Result {
    t.emit(format_args!("{}\n", c.sysfs.throttling_level.load(Relaxed)))
}

/// `throttling_level`: 0..=9, else `EINVAL`.
fn store_throttling_level(c: &Data, input: &str, _: &Notifier) -> Result {
    let v = number(input)?;
    if v > MAX_THROTTLING_LEVEL {
        return Err(EINVAL);
    }
    c.sysfs.throttling_level.store(v as u32, Relaxed);
    Ok(())
}

const RO: u16 = 0o444;
const RW: u16 = 0o644;

/// `static`s of read-only attributes: `ATTR = c"name": |c| "format", value;`, where `value` is
/// an expression of the card `c`.
macro_rules! ro_attrs {
    ($($attr:ident = $name:literal: |$c:ident| $fmt:literal, $value:expr;)*) => {$(
        static $attr: DeviceAttr<Data> = DeviceAttr::new($name, RO, {
            fn show($c: &Data, t: &mut SysfsText<'_>) -> Result {
                t.emit(format_args!($fmt, $value))
            }
            show
        }, None);
    )*};
}

ro_attrs! {
    ABI_VERSION = c"abi_version": |_c| "{}\n", uapi::VEDRV_ABI_VERSION;
    VE_ARCH_CLASS = c"ve_arch_class": |c| "{}\n", c.facts.chip.arch_class;
    NUM_OF_CORE = c"num_of_core": |c| "{}\n", vcr_of(c).num_of_core();
    MEMORY_SIZE = c"memory_size": |c| "{}\n", vcr_of(c).memory_size_gib();
    MODEL = c"model": |c| "{}\n", vcr_of(c).model();
    TYPE = c"type": |c| "{}\n", vcr_of(c).product_type();
    CORES_ENABLE = c"cores_enable": |c| "{:#08x}\n", vcr_of(c).cores_enable();
    CLOCK_MEMORY = c"clock_memory": |c| "{}\n", vcr_of(c).clock_memory();
    CLOCK_CHIP = c"clock_chip": |c| "{}\n", vcr_of(c).clock_chip();
    CLOCK_BASE = c"clock_base": |c| "{}\n", vcr_of(c).clock_base();
    FW_VERSION = c"fw_version": |c| "{}\n", vcr_of(c).fw_version();
    CACHE_L1I = c"cache_l1i": |c| "{}\n", c.facts.chip.cache_kib[0];
    CACHE_L1D = c"cache_l1d": |c| "{}\n", c.facts.chip.cache_kib[1];
    CACHE_L2 = c"cache_l2": |c| "{}\n", c.facts.chip.cache_kib[2];
    CACHE_LLC = c"cache_llc": |c| "{}\n", c.facts.chip.cache_kib[3];
    NUMA0_CORES_ATTR = c"numa0_cores": |c| "{:#x}\n", vcr_of(c).cores_enable() & NUMA0_CORES;
    NUMA1_CORES_ATTR = c"numa1_cores": |c| "{:#x}\n", vcr_of(c).cores_enable() & NUMA1_CORES;
    NUMA_MEM_BLOCK_SIZE_ATTR = c"numa_mem_block_size": |_c| "{:#x}\n", NUMA_MEM_BLOCK_SIZE;
    FIRST_MEM_NODE = c"first_mem_node": |_c| "{}\n", 0;
}

static OS_STATE: DeviceAttr<Data> =
    DeviceAttr::new(c"os_state", RW, show_os_state, Some(store_os_state));
static TASK_ID_ALL: DeviceAttr<Data> = DeviceAttr::new(c"task_id_all", RO, show_task_id_all, None);
static TASK_ID_DEAD: DeviceAttr<Data> =
    DeviceAttr::new(c"task_id_dead", RO, show_task_id_dead, None);
static SERIAL: DeviceAttr<Data> = DeviceAttr::new(c"serial", RO, show_serial, None);

static PARTITIONING_MODE: DeviceAttr<Data> = DeviceAttr::new(
    c"partitioning_mode",
    RW,
    show_partitioning_mode,
    Some(store_partitioning_mode),
);
static THROTTLING_LEVEL: DeviceAttr<Data> = DeviceAttr::new(
    c"throttling_level",
    RW,
    show_throttling_level,
    Some(store_throttling_level),
);
static CHIP_ID: DeviceAttr<Data> = DeviceAttr::new(c"chip_id", RO, show_chip_id, None);

crate::attribute_groups!(
    /// The attributes of a VE1 (and of the emulator, which is one): NEC's common group, then its
    /// VE1 group.
    pub(crate) static VE1_ATTRIBUTES: Data = [
        [
            ABI_VERSION,
            VE_ARCH_CLASS,
            OS_STATE,
            NUM_OF_CORE,
            MEMORY_SIZE,
            MODEL,
            TYPE,
            CORES_ENABLE,
            CLOCK_MEMORY,
            CLOCK_CHIP,
            CLOCK_BASE,
            CACHE_L1I,
            CACHE_L1D,
            CACHE_L2,
            CACHE_LLC,
            TASK_ID_ALL,
            TASK_ID_DEAD,
            FW_VERSION,
            SERIAL,
        ],
        [
            PARTITIONING_MODE,
            THROTTLING_LEVEL,
            NUMA0_CORES_ATTR,
            NUMA1_CORES_ATTR,
            NUMA_MEM_BLOCK_SIZE_ATTR,
            FIRST_MEM_NODE,
            CHIP_ID,
        ],
    ];
);
