// SPDX-License-Identifier: GPL-2.0

//! What NEC's sysfs attributes accept and how they print (docs/nec-abi.md, "sysfs"), as plain
//! rules: the number parser NEC's stores use (`kstrtoul(buf, 0, ...)`), VEOS's `os_state`
//! transitions, VE1's and VE3's management state (`ve_state` with its transitions and side
//! effects, the `jiffies` it times, the `sensor_*` values: [`Ve1Management`], [`Ve3Management`]),
//! and the pid-list format of `task_id_all`/`task_id_dead`.
//!
//! `core` only: compiled into the module and unit-tested on the host (`tests/host`).

use core::fmt;

use crate::{
    sensors::{
        self,
        VE1_SENSORS,
        VE1_UNSET,
        VE3_SENSORS,
        VE3_UNSET, //
    },
    uapi::{
        self,
        ve1,
        ve3, //
    },
};

/// Why a number written to an attribute was refused: the errno `kstrtoul` returns.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// Not a number (`EINVAL`).
    Invalid,
    /// Does not fit an unsigned long (`ERANGE`).
    Range,
}

/// Parses what user space wrote to an attribute as the kernel's `kstrtoul(s, 0, ...)` does: one
/// optional `+`, then `0x`/`0X` and hex digits, `0` and octal digits, or decimal digits; one
/// trailing newline is accepted, nothing else.
pub fn parse_ulong(s: &str) -> Result<u64, ParseError> {
    let s = s.strip_suffix('\n').unwrap_or(s);
    let s = s.strip_prefix('+').unwrap_or(s);
    let (digits, radix) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (h, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        (s, 10)
    };
    if digits.is_empty() {
        return Err(ParseError::Invalid);
    }
    let mut v: u64 = 0;
    for c in digits.chars() {
        let d = c.to_digit(radix).ok_or(ParseError::Invalid)?;
        v = v
            .checked_mul(radix.into())
            .and_then(|v| v.checked_add(d.into()))
            .ok_or(ParseError::Range)?;
    }
    Ok(v)
}

/// VEOS's state as it reports it through `os_state`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum OsState {
    /// VEOS serves the VE.
    Online = uapi::OS_ST_ONLINE,
    /// No VEOS (the state at probe).
    Offline = uapi::OS_ST_OFFLINE,
    /// VEOS is starting.
    Initializing = uapi::OS_ST_INITIALIZING,
    /// VEOS is stopping.
    Terminating = uapi::OS_ST_TERMINATING,
}

impl OsState {
    /// The state numbered `v`, if any.
    pub const fn from_u64(v: u64) -> Option<Self> {
        const ONLINE: u64 = uapi::OS_ST_ONLINE as u64;
        const OFFLINE: u64 = uapi::OS_ST_OFFLINE as u64;
        const INITIALIZING: u64 = uapi::OS_ST_INITIALIZING as u64;
        const TERMINATING: u64 = uapi::OS_ST_TERMINATING as u64;
        match v {
            ONLINE => Some(Self::Online),
            OFFLINE => Some(Self::Offline),
            INITIALIZING => Some(Self::Initializing),
            TERMINATING => Some(Self::Terminating),
            _ => None,
        }
    }

    /// Whether VEOS may move the state from `self` to `to`, as NEC's driver allows it: OFFLINE ->
    /// INITIALIZING -> ONLINE -> TERMINATING -> OFFLINE, and INITIALIZING -> OFFLINE (a start
    /// that failed).
    pub const fn may_become(self, to: Self) -> bool {
        matches!(
            (self, to),
            (Self::Initializing, Self::Online)
                | (Self::Initializing | Self::Terminating, Self::Offline)
                | (Self::Offline, Self::Initializing)
                | (Self::Online, Self::Terminating)
        )
    }
}

/// A VE1's state as NEC's management agent (MMM) sets it through `ve_state` (NEC's VE1
/// `enum ve_state`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum VeState {
    /// The state at probe.
    Uninitialized = ve1::VE_ST_UNINITIALIZED,
    /// In service: `jiffies` counts from the change to it, sensors take values.
    Online = ve1::VE_ST_ONLINE,
    /// Out of service.
    Offline = ve1::VE_ST_OFFLINE,
    /// In maintenance.
    Maintenance = ve1::VE_ST_MAINTENANCE,
    /// Failed.
    Unavailable = ve1::VE_ST_UNAVAILABLE,
}

impl VeState {
    /// The state numbered `v`, if any.
    pub const fn from_u64(v: u64) -> Option<Self> {
        const UNINITIALIZED: u64 = ve1::VE_ST_UNINITIALIZED as u64;
        const ONLINE: u64 = ve1::VE_ST_ONLINE as u64;
        const OFFLINE: u64 = ve1::VE_ST_OFFLINE as u64;
        const MAINTENANCE: u64 = ve1::VE_ST_MAINTENANCE as u64;
        const UNAVAILABLE: u64 = ve1::VE_ST_UNAVAILABLE as u64;
        match v {
            UNINITIALIZED => Some(Self::Uninitialized),
            ONLINE => Some(Self::Online),
            OFFLINE => Some(Self::Offline),
            MAINTENANCE => Some(Self::Maintenance),
            UNAVAILABLE => Some(Self::Unavailable),
            _ => None,
        }
    }

    /// Whether `ve_state` may move from `self` to `to`, as NEC's VE1 store allows it
    /// (`sysfs_ve1.c`, `ve_state_store`): UNINITIALIZED from MAINTENANCE or UNAVAILABLE; ONLINE
    /// and MAINTENANCE from OFFLINE; OFFLINE and UNAVAILABLE from anything (itself included).
    pub const fn may_become(self, to: Self) -> bool {
        match to {
            Self::Uninitialized => matches!(self, Self::Maintenance | Self::Unavailable),
            Self::Online | Self::Maintenance => matches!(self, Self::Offline),
            Self::Offline | Self::Unavailable => true,
        }
    }
}

/// A `ve_state` store that NEC's table refuses (`EINVAL`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Refused;

/// Why a VE1 sensor cannot be shown or stored.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SensorError {
    /// `ve_state` is not ONLINE (`EIO`).
    NotOnline,
    /// Nothing was written since `ve_state` became ONLINE (`EAGAIN`).
    Unset,
    /// What was written is not a number (`EINVAL`, whatever `kstrtoul` said), or there is no
    /// such sensor (the attributes exist for VE1's sensors only).
    Invalid,
}

/// A VE1's management state, NEC's `ve_node` fields behind `ve_state`, `jiffies` and
/// `sensor_0` .. `sensor_37` (all under one lock in NEC's driver, `sysfs_mutex`). Times are
/// jiffies as `get_jiffies_64()` gives them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ve1Management {
    state: VeState,
    /// When `ve_state` last became ONLINE; `None` (NEC's -1) at probe and after OFFLINE.
    online_since: Option<u64>,
    /// Raw values as stored (the low 16 bits of what was written).
    sensors: [u16; VE1_SENSORS],
}

impl Default for Ve1Management {
    fn default() -> Self {
        Self::new()
    }
}

impl Ve1Management {
    /// As at probe: UNINITIALIZED, never ONLINE, every sensor 0 (NEC's zeroed allocation).
    pub const fn new() -> Self {
        Self {
            state: VeState::Uninitialized,
            online_since: None,
            sensors: [0; VE1_SENSORS],
        }
    }

    /// The current state.
    pub const fn state(&self) -> VeState {
        self.state
    }

    /// A store of `ve_state` at jiffies `now`: [`Refused`] (`EINVAL`) unless
    /// [`VeState::may_become`]. Becoming ONLINE records `now` for `jiffies` and marks every sensor
    /// unset; becoming OFFLINE forgets the online time; the other states change nothing else.
    pub fn set_state(&mut self, to: VeState, now: u64) -> Result<(), Refused> {
        if !self.state.may_become(to) {
            return Err(Refused);
        }
        match to {
            VeState::Online => {
                self.online_since = Some(now);
                self.sensors = [VE1_UNSET; VE1_SENSORS];
            }
            VeState::Offline => self.online_since = None,
            _ => {}
        }
        self.state = to;
        Ok(())
    }

    /// What `jiffies` shows at jiffies `now`: the jiffies since `ve_state` last became ONLINE
    /// (NEC's `%lld` of the unsigned difference), 0 if it never did or went OFFLINE since.
    pub const fn jiffies(&self, now: u64) -> i64 {
        match self.online_since {
            Some(t) => now.wrapping_sub(t) as i64,
            None => 0,
        }
    }

    /// A store of `input` to sensor `sensor`, in NEC's order: only while ONLINE, then a number
    /// as `kstrtoul(input, 0)` reads it, of which the low 16 bits are kept (so a value whose low
    /// 16 bits are all ones makes the sensor unset again, as with NEC's).
    pub fn store_sensor(&mut self, sensor: usize, input: &str) -> Result<(), SensorError> {
        if self.state != VeState::Online {
            return Err(SensorError::NotOnline);
        }
        let raw = parse_ulong(input).map_err(|_| SensorError::Invalid)?;
        let slot = self.sensors.get_mut(sensor).ok_or(SensorError::Invalid)?;
        *slot = raw as u16;
        Ok(())
    }

    /// What sensor `sensor` shows: only while ONLINE, not while unset; else NEC's decoder of
    /// the sensor ([`sensors::decode_ve1`]).
    pub fn show_sensor(&self, sensor: usize) -> Result<i64, SensorError> {
        if self.state != VeState::Online {
            return Err(SensorError::NotOnline);
        }
        let raw = *self.sensors.get(sensor).ok_or(SensorError::Invalid)?;
        if raw == VE1_UNSET {
            return Err(SensorError::Unset);
        }
        sensors::decode_ve1(sensor, raw).ok_or(SensorError::Invalid)
    }
}

/// A VE3's state as NEC's management agent sets it through `ve_state` (NEC's VE3
/// `enum ve_state`: 0 and 2 are not states).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Ve3State {
    /// In service (VE1's ONLINE): the state after probe's checks.
    Available = ve3::VE_ST_AVAILABLE,
    /// In maintenance.
    Maintenance = ve3::VE_ST_MAINTENANCE,
    /// Failed.
    Unavailable = ve3::VE_ST_UNAVAILABLE,
}

impl Ve3State {
    /// The state numbered `v`, if any.
    pub const fn from_u64(v: u64) -> Option<Self> {
        const AVAILABLE: u64 = ve3::VE_ST_AVAILABLE as u64;
        const MAINTENANCE: u64 = ve3::VE_ST_MAINTENANCE as u64;
        const UNAVAILABLE: u64 = ve3::VE_ST_UNAVAILABLE as u64;
        match v {
            AVAILABLE => Some(Self::Available),
            MAINTENANCE => Some(Self::Maintenance),
            UNAVAILABLE => Some(Self::Unavailable),
            _ => None,
        }
    }

    /// Whether `ve_state` may move from `self` to `to`, as NEC's VE3 store allows it
    /// (`sysfs_ve3.c`, `ve_state_store`): AVAILABLE from anything (itself included);
    /// MAINTENANCE only from AVAILABLE; UNAVAILABLE from anything but itself.
    pub const fn may_become(self, to: Self) -> bool {
        match to {
            Self::Available => true,
            Self::Maintenance => matches!(self, Self::Available),
            Self::Unavailable => !matches!(self, Self::Unavailable),
        }
    }
}

/// A VE3's management state, NEC's `ve_node` fields behind VE3's `ve_state`, `jiffies` and
/// `sensor_1` .. `sensor_42`. Unlike VE1's, the sensors take and show values in any state, keep
/// 32 bits, and show them raw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ve3Management {
    state: Ve3State,
    /// When `ve_state` last became AVAILABLE by a store; `None` before.
    online_since: Option<u64>,
    /// Raw values as stored, by sensor number (index 0 unused: NEC's VE3 has no `sensor_0`).
    sensors: [u32; VE3_SENSORS + 1],
}

impl Default for Ve3Management {
    fn default() -> Self {
        Self::new()
    }
}

impl Ve3Management {
    /// As at probe: AVAILABLE (NEC's probe sets it after its configuration check, which this
    /// driver does not run), never stored, every sensor unset (NEC's VE3 probe marks them so).
    pub const fn new() -> Self {
        Self {
            state: Ve3State::Available,
            online_since: None,
            sensors: [VE3_UNSET; VE3_SENSORS + 1],
        }
    }

    /// The current state.
    pub const fn state(&self) -> Ve3State {
        self.state
    }

    /// A store of `ve_state` at jiffies `now`: [`Refused`] (`EINVAL`) unless
    /// [`Ve3State::may_become`]. Becoming AVAILABLE records `now` for `jiffies`, and from
    /// UNAVAILABLE marks every sensor unset.
    pub fn set_state(&mut self, to: Ve3State, now: u64) -> Result<(), Refused> {
        if !self.state.may_become(to) {
            return Err(Refused);
        }
        if to == Ve3State::Available {
            self.online_since = Some(now);
            if self.state == Ve3State::Unavailable {
                self.sensors = [VE3_UNSET; VE3_SENSORS + 1];
            }
        }
        self.state = to;
        Ok(())
    }

    /// What `jiffies` shows at jiffies `now`: the jiffies since `ve_state` last became AVAILABLE
    /// by a store, 0 before.
    pub const fn jiffies(&self, now: u64) -> i64 {
        match self.online_since {
            Some(t) => now.wrapping_sub(t) as i64,
            None => 0,
        }
    }

    /// A store of `input` to sensor `sensor` (1..=42), in any state: a number as
    /// `kstrtoul(input, 0)` reads it, of which the low 32 bits are kept.
    pub fn store_sensor(&mut self, sensor: usize, input: &str) -> Result<(), SensorError> {
        let raw = parse_ulong(input).map_err(|_| SensorError::Invalid)?;
        let slot = self.sensor_mut(sensor).ok_or(SensorError::Invalid)?;
        *slot = raw as u32;
        Ok(())
    }

    /// What sensor `sensor` shows: not while unset; else the raw value (NEC's VE3 decoder).
    pub fn show_sensor(&self, sensor: usize) -> Result<i64, SensorError> {
        if !(1..=VE3_SENSORS).contains(&sensor) {
            return Err(SensorError::Invalid);
        }
        match self.sensors[sensor] {
            VE3_UNSET => Err(SensorError::Unset),
            raw => Ok(raw.into()),
        }
    }

    fn sensor_mut(&mut self, sensor: usize) -> Option<&mut u32> {
        if (1..=VE3_SENSORS).contains(&sensor) {
            self.sensors.get_mut(sensor)
        } else {
            None
        }
    }
}

/// Writes `pids` as NEC's pid lists read: each pid in decimal followed by one space, then one
/// newline; an empty list is a single space and newline. Stops before a pid that would not fit in
/// `room` bytes (with the newline), as NEC stops before a page would overflow.
pub fn write_pid_list(
    out: &mut impl fmt::Write,
    pids: impl IntoIterator<Item = i32>,
    mut room: usize,
) -> fmt::Result {
    let mut any = false;
    // The final newline.
    room = room.saturating_sub(1);
    for pid in pids {
        let len = decimal_len(pid) + 1;
        if len > room {
            break;
        }
        room -= len;
        write!(out, "{pid} ")?;
        any = true;
    }
    if !any {
        out.write_char(' ')?;
    }
    out.write_char('\n')
}

fn decimal_len(v: i32) -> usize {
    let mut n = if v < 0 { 2 } else { 1 };
    let mut v = v.unsigned_abs();
    while v >= 10 {
        v /= 10;
        n += 1;
    }
    n
}
