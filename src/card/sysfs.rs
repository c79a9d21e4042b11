// SPDX-License-Identifier: GPL-2.0

//! The card's sysfs attributes, named, moded and formatted as NEC's driver makes them
//! (docs/nec-abi.md, "sysfs"), in `/sys/class/ve/veN`: what libved checks when it opens a card
//! (`abi_version`, `ve_arch_class`), what VEOS reads and writes at start-up (`os_state`,
//! `num_of_core`, `cores_enable`, `memory_size`, `clock_chip`, `partitioning_mode`,
//! `task_id_all`, `bar0_size`, ...), the card's identity, and VE1's management state that NEC's
//! management agent (MMM) sets and reads (`ve_state`, `jiffies`, `sensor_0` .. `sensor_37`:
//! [`Ve1Management`], under [`SysfsState`]'s mutex as under NEC's `sysfs_mutex`). Values come from
//! the VE Configuration Registers read at probe ([`read_vcr`]) and from the card's windows
//! (`bar0_*`, `bar3_addr`: the VE memory and CR windows, on the emulator regions of its BAR2).
//!
//! That is all of NEC's common, VE1 and VE3 attributes except the debug-only ones; a VE3 gets
//! NEC's VE3 group (`cache_l3`, `bar4_addr`, `ownership`, VE3's `ve_state` table and
//! `chip_id` format, `sensor_1` .. `sensor_42` raw: [`Ve3Management`]) instead of VE1's.

use kernel::{
    device::Bound,
    io::Io,
    new_mutex,
    pci,
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
        Mutex,
        MutexGuard, //
    }, //
};

use super::Card;
use crate::{
    chip::{
        Chip,
        VcrSource,
        WindowKind, //
    },
    hw::{
        emu,
        vcr::{
            self,
            Vcr, //
        },
    },
    regs::Regs,
    sys::{
        self,
        sysfs::{
            DeviceAttr,
            Notifier,
            SysfsText, //
        },
    },
    sysfs_rules::{
        parse_ulong,
        write_pid_list,
        OsState,
        ParseError,
        SensorError,
        Ve1Management,
        Ve3Management,
        Ve3State,
        VeState, //
    },
    uapi,
};

/// NUMA memory block size VEOS uses in partitioning mode (NEC's constant for VE1).
const NUMA_MEM_BLOCK_SIZE: u32 = 0x400_0000;
/// VE3's `cache_l3` in KiB (NEC's constant).
const VE3_CACHE_L3_KIB: u32 = 2048;
/// Throttling levels accepted (0..=9).
const MAX_THROTTLING_LEVEL: u64 = 9;

/// `ve_state` and what changes with it, as the card's variant keeps them.
pub(crate) enum Management {
    /// VE1's table, ONLINE-gated sensors (also the emulated VE1).
    Ve1(Ve1Management),
    /// VE3's table, raw 32-bit sensors (also the emulated VE3).
    Ve3(Ve3Management),
}

/// What sysfs stores for VEOS and NEC's management tools.
#[pin_data]
pub(crate) struct SysfsState {
    /// [`OsState`] as a number.
    os_state: Atomic<u32>,
    /// 0 (normal) or 1 (NUMA partitioning).
    partitioning_mode: Atomic<u32>,
    /// 0..=9.
    throttling_level: Atomic<u32>,
    /// `ve_state`, the time it became ONLINE/AVAILABLE (`jiffies`), the sensors: changed
    /// together.
    #[pin]
    management: Mutex<Management>,
}

impl SysfsState {
    /// As at probe: VEOS offline, throttling level 0; a VE1 UNINITIALIZED and not partitioned;
    /// a VE3 AVAILABLE, its sensors unset, partitioned as its configuration registers say
    /// (NEC's VE3 probe; NEC also runs its configuration checker there, which this driver does
    /// not).
    pub(crate) fn new(chip: &Chip, vcr: &Vcr) -> impl PinInit<Self> {
        let (management, partitioning) = if chip.is_ve3() {
            (Management::Ve3(Ve3Management::new()), vcr.ve3_numa())
        } else {
            (Management::Ve1(Ve1Management::new()), false)
        };
        pin_init!(Self {
            os_state: Atomic::new(OsState::Offline as u32),
            partitioning_mode: Atomic::new(u32::from(partitioning)),
            throttling_level: Atomic::new(0),
            management <- new_mutex!(management, "ve_drv::SysfsState::management"),
        })
    }

    /// Locks `ve_state` and what changes with it. Held by a card reset from its `os_state`
    /// check to its end, which stores of `os_state` and `ve_state` and unbind wait for (NEC's
    /// reset holds its sysfs mutex so).
    pub(super) fn lock_management(&self) -> MutexGuard<'_, Management> {
        self.management.lock()
    }

    /// VEOS's state as stored; `None` if it were out of range (it cannot be: stores check).
    pub(super) fn os_state(&self) -> Option<OsState> {
        OsState::from_u64(self.os_state.load(Relaxed).into())
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
    // Not while a card reset runs: it needs VEOS offline from its check to its end.
    let _management = c.sysfs.lock_management();
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

fn show_ve_state(c: &Data, t: &mut SysfsText<'_>) -> Result {
    let state = match &*c.sysfs.lock_management() {
        Management::Ve1(m) => m.state() as u32,
        Management::Ve3(m) => m.state() as u32,
    };
    t.emit(format_args!("{state}\n"))
}

/// `ve_state`: the card's state as NEC's management agent sets it, moved only along the
/// variant's table ([`VeState::may_become`], [`Ve3State::may_become`]: `EINVAL` otherwise; a
/// number that does not parse gives `kstrtoul`'s errno). VE1: ONLINE records the time for
/// `jiffies` and marks every sensor unset, OFFLINE forgets the time
/// ([`Ve1Management::set_state`]); VE3: AVAILABLE records the time and, from UNAVAILABLE, marks
/// the sensors unset ([`Ve3Management::set_state`]). Either way ONLINE/AVAILABLE also resets the
/// cores' counts and reports and clears INTVEC, as NEC's stores do. Pollers are woken on every
/// successful store.
fn store_ve_state(c: &Data, input: &str, n: &Notifier) -> Result {
    let v = parse_ulong(input).map_err(|e| match e {
        ParseError::Invalid => EINVAL,
        ParseError::Range => ERANGE,
    })?;
    {
        let mut management = c.sysfs.lock_management();
        let now = sys::jiffies_now() as u64;
        let online = match &mut *management {
            Management::Ve1(m) => {
                let to = VeState::from_u64(v).ok_or(EINVAL)?;
                m.set_state(to, now).map_err(|_| EINVAL)?;
                to == VeState::Online
            }
            Management::Ve3(m) => {
                let to = Ve3State::from_u64(v).ok_or(EINVAL)?;
                m.set_state(to, now).map_err(|_| EINVAL)?;
                to == Ve3State::Available
            }
        };
        // NEC's stores also do, on ONLINE (VE1) and AVAILABLE (VE3): every core's interrupt
        // count to 0 (`ve_init_intr_count`), EXSRAR re-programmed for every core
        // (`ve_init_exsrar`), INTVEC cleared, and its `hw_intr_test_param` (which this driver
        // does not have) to 0.
        if online {
            c.cores_online()?;
        }
    }
    n.notify(c"ve_state");
    Ok(())
}

/// `jiffies`: jiffies since `ve_state` last became ONLINE (VE1; 0 if never or OFFLINE since) or
/// was stored AVAILABLE (VE3; 0 before).
fn show_jiffies(c: &Data, t: &mut SysfsText<'_>) -> Result {
    let now = sys::jiffies_now() as u64;
    let j = match &*c.sysfs.lock_management() {
        Management::Ve1(m) => m.jiffies(now),
        Management::Ve3(m) => m.jiffies(now),
    };
    t.emit(format_args!("{j}\n"))
}

fn sensor_errno(e: SensorError) -> Error {
    match e {
        SensorError::NotOnline => EIO,
        SensorError::Unset => EAGAIN,
        SensorError::Invalid => EINVAL,
    }
}

/// `sensor_N`: VE1 `EIO` unless ONLINE; `EAGAIN` while unset; else NEC's decoder of sensor `N`
/// (VE3: the raw value).
fn show_sensor<const N: usize>(c: &Data, t: &mut SysfsText<'_>) -> Result {
    let v = match &*c.sysfs.lock_management() {
        Management::Ve1(m) => m.show_sensor(N),
        Management::Ve3(m) => m.show_sensor(N),
    }
    .map_err(sensor_errno)?;
    t.emit(format_args!("{v}\n"))
}

/// `sensor_N`: VE1 `EIO` unless ONLINE; `EINVAL` for what is not a number; keeps the low 16
/// bits (VE1) or 32 bits (VE3).
fn store_sensor<const N: usize>(c: &Data, input: &str, _: &Notifier) -> Result {
    match &mut *c.sysfs.lock_management() {
        Management::Ve1(m) => m.store_sensor(N, input),
        Management::Ve3(m) => m.store_sensor(N, input),
    }
    .map_err(sensor_errno)
}

/// The card's window of `kind` (`EIO` if it has none, as a BAR it lacks).
fn window_of(c: &Data, kind: WindowKind) -> Result<&sys::RegisterWindow> {
    c.windows()
        .iter()
        .find(|w| w.window.kind == kind)
        .map(|w| &w.bar)
        .ok_or(EIO)
}

/// `bar0_size`: the VE memory window's size (VE1: BAR0; the emulator: its region of BAR2).
fn show_bar0_size(c: &Data, t: &mut SysfsText<'_>) -> Result {
    let w = window_of(c, WindowKind::VeMemory)?;
    t.emit(format_args!("{:#x}\n", w.len()))
}

/// `bar0_addr`: the VE memory window's physical start.
fn show_bar0_addr(c: &Data, t: &mut SysfsText<'_>) -> Result {
    let w = window_of(c, WindowKind::VeMemory)?;
    t.emit(format_args!("{:#x}\n", w.phys()))
}

/// `bar3_addr`: the CR window's physical start (VE1: BAR3; the emulator: its region of BAR2).
fn show_bar3_addr(c: &Data, t: &mut SysfsText<'_>) -> Result {
    let w = window_of(c, WindowKind::Cr)?;
    t.emit(format_args!("{:#x}\n", w.phys()))
}

fn show_serial(c: &Data, t: &mut SysfsText<'_>) -> Result {
    let (hi, lo) = c.vcr().serial();
    t.emit(format_args!("{hi:016x}{lo:016x}\n"))
}

fn show_chip_id(c: &Data, t: &mut SysfsText<'_>) -> Result {
    let (hi, lo) = c.vcr().chip_id();
    t.emit(format_args!("{hi:016x}{lo:016x}\n"))
}

/// VE3's `chip_id`: `(w2 << 32 | w3)` in 16 digits, then word 4 alone in 8 (NEC's VE3 format).
fn show_chip_id_ve3(c: &Data, t: &mut SysfsText<'_>) -> Result {
    let (hi, lo) = c.vcr().chip_id();
    t.emit(format_args!("{hi:016x}{:08x}\n", lo >> 32))
}

/// `bar4_addr` (VE3): the physical start of the register window of the system-common block's
/// BAR (VE3: BAR4; the emulator: its VE3 BAR4 image).
fn show_bar4_addr(c: &Data, t: &mut SysfsText<'_>) -> Result {
    let w = window_of(c, WindowKind::Registers)?;
    t.emit(format_args!("{:#x}\n", w.phys()))
}

/// `ownership` (VE3): the pid, as the reader sees it, of the thread holding the card
/// (`VEDRV_CMD_OWNERSHIP`), `none` without one. Pollers are woken when it is given up.
fn show_ownership(c: &Data, t: &mut SysfsText<'_>) -> Result {
    match c.owner_seen_by_caller() {
        Some(pid) => t.emit(format_args!("{pid}\n")),
        None => t.emit(format_args!("none\n")),
    }
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
    NUM_OF_CORE = c"num_of_core": |c| "{}\n", c.vcr().num_of_core();
    MEMORY_SIZE = c"memory_size": |c| "{}\n", c.vcr().memory_size_gib();
    MODEL = c"model": |c| "{}\n", c.vcr().model();
    TYPE = c"type": |c| "{}\n", c.vcr().product_type();
    CORES_ENABLE = c"cores_enable": |c| "{:#08x}\n", c.vcr().cores_enable();
    CLOCK_MEMORY = c"clock_memory": |c| "{}\n", c.vcr().clock_memory();
    CLOCK_CHIP = c"clock_chip": |c| "{}\n", c.vcr().clock_chip();
    CLOCK_BASE = c"clock_base": |c| "{}\n", c.vcr().clock_base();
    FW_VERSION = c"fw_version": |c| "{}\n", c.vcr().fw_version();
    CACHE_L1I = c"cache_l1i": |c| "{}\n", c.facts.chip.cache_kib[0];
    CACHE_L1D = c"cache_l1d": |c| "{}\n", c.facts.chip.cache_kib[1];
    CACHE_L2 = c"cache_l2": |c| "{}\n", c.facts.chip.cache_kib[2];
    CACHE_LLC = c"cache_llc": |c| "{}\n", c.facts.chip.cache_kib[3];
    NUMA0_CORES_ATTR = c"numa0_cores": |c| "{:#x}\n", c.vcr().numa_cores(0);
    NUMA1_CORES_ATTR = c"numa1_cores": |c| "{:#x}\n", c.vcr().numa_cores(1);
    NUMA_MEM_BLOCK_SIZE_ATTR = c"numa_mem_block_size": |_c| "{:#x}\n", NUMA_MEM_BLOCK_SIZE;
    FIRST_MEM_NODE = c"first_mem_node": |_c| "{}\n", 0;
    CACHE_L3 = c"cache_l3": |_c| "{}\n", VE3_CACHE_L3_KIB;
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
static VE_STATE: DeviceAttr<Data> =
    DeviceAttr::new(c"ve_state", RW, show_ve_state, Some(store_ve_state));
static JIFFIES: DeviceAttr<Data> = DeviceAttr::new(c"jiffies", RO, show_jiffies, None);
static BAR0_SIZE: DeviceAttr<Data> = DeviceAttr::new(c"bar0_size", RO, show_bar0_size, None);
static BAR0_ADDR: DeviceAttr<Data> = DeviceAttr::new(c"bar0_addr", RO, show_bar0_addr, None);
static BAR3_ADDR: DeviceAttr<Data> = DeviceAttr::new(c"bar3_addr", RO, show_bar3_addr, None);
static BAR4_ADDR: DeviceAttr<Data> = DeviceAttr::new(c"bar4_addr", RO, show_bar4_addr, None);
static OWNERSHIP: DeviceAttr<Data> = DeviceAttr::new(c"ownership", RO, show_ownership, None);
static CHIP_ID_VE3: DeviceAttr<Data> = DeviceAttr::new(c"chip_id", RO, show_chip_id_ve3, None);

/// `static`s of VE1's sensors: `ATTR = N;` makes `sensor_N` (0644) on sensor `N`.
macro_rules! sensor_attrs {
    ($($attr:ident = $n:literal;)*) => {$(
        static $attr: DeviceAttr<Data> = DeviceAttr::new(
            kernel::c_str!(concat!("sensor_", stringify!($n))),
            RW,
            show_sensor::<$n>,
            Some(store_sensor::<$n>),
        );
    )*};
}

sensor_attrs! {
    SENSOR_0 = 0; SENSOR_1 = 1; SENSOR_2 = 2; SENSOR_3 = 3; SENSOR_4 = 4; SENSOR_5 = 5;
    SENSOR_6 = 6; SENSOR_7 = 7; SENSOR_8 = 8; SENSOR_9 = 9; SENSOR_10 = 10; SENSOR_11 = 11;
    SENSOR_12 = 12; SENSOR_13 = 13; SENSOR_14 = 14; SENSOR_15 = 15; SENSOR_16 = 16;
    SENSOR_17 = 17; SENSOR_18 = 18; SENSOR_19 = 19; SENSOR_20 = 20; SENSOR_21 = 21;
    SENSOR_22 = 22; SENSOR_23 = 23; SENSOR_24 = 24; SENSOR_25 = 25; SENSOR_26 = 26;
    SENSOR_27 = 27; SENSOR_28 = 28; SENSOR_29 = 29; SENSOR_30 = 30; SENSOR_31 = 31;
    SENSOR_32 = 32; SENSOR_33 = 33; SENSOR_34 = 34; SENSOR_35 = 35; SENSOR_36 = 36;
    SENSOR_37 = 37; SENSOR_38 = 38; SENSOR_39 = 39; SENSOR_40 = 40; SENSOR_41 = 41;
    SENSOR_42 = 42;
}

// One attribute per VE1 sensor (0-37) and per VE3 sensor (1-42).
const _: () = assert!(crate::sensors::VE1_SENSORS == 38 && crate::sensors::VE3_SENSORS == 42);

crate::attribute_groups!(
    /// The attributes of a VE1 (and of the emulator, which is one): NEC's common group, its
    /// VE1 group and its VE1 sensor group, each in NEC's order.
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
            JIFFIES,
            TASK_ID_ALL,
            TASK_ID_DEAD,
            FW_VERSION,
            SERIAL,
        ],
        [
            PARTITIONING_MODE,
            THROTTLING_LEVEL,
            BAR0_SIZE,
            BAR0_ADDR,
            BAR3_ADDR,
            NUMA0_CORES_ATTR,
            NUMA1_CORES_ATTR,
            NUMA_MEM_BLOCK_SIZE_ATTR,
            FIRST_MEM_NODE,
            VE_STATE,
            CHIP_ID,
        ],
        [
            SENSOR_0, SENSOR_1, SENSOR_2, SENSOR_3, SENSOR_4, SENSOR_5, SENSOR_6, SENSOR_7,
            SENSOR_8, SENSOR_9, SENSOR_10, SENSOR_11, SENSOR_12, SENSOR_13, SENSOR_14, SENSOR_15,
            SENSOR_16, SENSOR_17, SENSOR_18, SENSOR_19, SENSOR_20, SENSOR_21, SENSOR_22, SENSOR_23,
            SENSOR_24, SENSOR_25, SENSOR_26, SENSOR_27, SENSOR_28, SENSOR_29, SENSOR_30, SENSOR_31,
            SENSOR_32, SENSOR_33, SENSOR_34, SENSOR_35, SENSOR_36, SENSOR_37,
        ],
    ];
);

crate::attribute_groups!(
    /// The attributes of a VE3 (and of the emulator presenting one): NEC's common group, its VE3
    /// group and its VE3 sensor group (`sensor_1` .. `sensor_42`), each in NEC's order.
    pub(crate) static VE3_ATTRIBUTES: Data = [
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
            JIFFIES,
            TASK_ID_ALL,
            TASK_ID_DEAD,
            FW_VERSION,
            SERIAL,
        ],
        [
            PARTITIONING_MODE,
            THROTTLING_LEVEL,
            CACHE_L3,
            BAR0_SIZE,
            BAR0_ADDR,
            BAR4_ADDR,
            NUMA0_CORES_ATTR,
            NUMA1_CORES_ATTR,
            NUMA_MEM_BLOCK_SIZE_ATTR,
            FIRST_MEM_NODE,
            OWNERSHIP,
            VE_STATE,
            CHIP_ID_VE3,
        ],
        [
            SENSOR_1, SENSOR_2, SENSOR_3, SENSOR_4, SENSOR_5, SENSOR_6, SENSOR_7, SENSOR_8,
            SENSOR_9, SENSOR_10, SENSOR_11, SENSOR_12, SENSOR_13, SENSOR_14, SENSOR_15, SENSOR_16,
            SENSOR_17, SENSOR_18, SENSOR_19, SENSOR_20, SENSOR_21, SENSOR_22, SENSOR_23, SENSOR_24,
            SENSOR_25, SENSOR_26, SENSOR_27, SENSOR_28, SENSOR_29, SENSOR_30, SENSOR_31, SENSOR_32,
            SENSOR_33, SENSOR_34, SENSOR_35, SENSOR_36, SENSOR_37, SENSOR_38, SENSOR_39, SENSOR_40,
            SENSOR_41, SENSOR_42,
        ],
    ];
);
