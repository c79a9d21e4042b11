// SPDX-License-Identifier: GPL-2.0

//! sysfs attributes of a [`super::chardev::CharNode`]'s device, shown and stored from the node's
//! data: 7.3's kernel crate has no device attributes. Attributes are `static`
//! [`DeviceAttr`]s collected into `static` groups by [`attribute_groups!`](crate::attribute_groups);
//! their `show`/`store` entries are one `unsafe extern "C"` function per data type, which finds
//! the attribute by `container_of!` and calls its safe Rust functions.

use core::{
    fmt,
    marker::PhantomData, //
};

use kernel::{
    bindings,
    device::Device,
    page::PAGE_SIZE,
    prelude::*,
    sync::aref::ARef, //
};

use super::chardev::{
    notify_device,
    NodeInner, //
};

/// Text an attribute shows: at most one page, as sysfs hands it out.
pub(crate) struct SysfsText<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl fmt::Write for SysfsText<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        if end > self.buf.len() {
            return Err(fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

impl SysfsText<'_> {
    /// Appends `args`; `EFBIG` once a page is full.
    pub(crate) fn emit(&mut self, args: fmt::Arguments<'_>) -> Result {
        fmt::Write::write_fmt(self, args).map_err(|_| EFBIG)
    }

    /// Bytes still free in the page.
    pub(crate) fn room(&self) -> usize {
        self.buf.len() - self.len
    }
}

/// What a store may do besides changing the data: wake pollers of an attribute.
pub(crate) struct Notifier {
    dev: *mut bindings::device,
}

impl Notifier {
    /// `sysfs_notify()` on attribute `attr` of this device.
    pub(crate) fn notify(&self, attr: &CStr) {
        notify_device(self.dev, attr);
    }
}

/// Wakes pollers of a node's attributes on an event of the device's own (not a store): holds a
/// reference to the node's device ([`super::chardev::CharNode::notifier`]).
pub(crate) struct NodeNotifier {
    dev: ARef<Device>,
}

impl NodeNotifier {
    pub(super) fn new(dev: ARef<Device>) -> Self {
        Self { dev }
    }

    /// `sysfs_notify()` on attribute `attr` of the node. After the node is removed the attribute
    /// is gone and nobody is woken.
    pub(crate) fn notify(&self, attr: &CStr) {
        notify_device(super::device_ptr(&self.dev), attr);
    }
}

/// Shows an attribute of data `D`.
pub(crate) type ShowFn<D> = fn(&D, &mut SysfsText<'_>) -> Result;
/// Stores an attribute of data `D`: `input` is what was written (UTF-8, else `EINVAL`).
pub(crate) type StoreFn<D> = fn(&D, &str, &Notifier) -> Result;

/// A sysfs attribute of the device of a node whose data is `D`.
///
/// # Invariants
///
/// `raw`'s `show` and `store` are this type's entries for `D` (or none), and `raw` is never
/// written after `new`.
#[repr(C)]
pub(crate) struct DeviceAttr<D: 'static> {
    raw: bindings::device_attribute,
    show: ShowFn<D>,
    store: Option<StoreFn<D>>,
    _data: PhantomData<fn(&D)>,
}

// SAFETY: never written after `new`; the kernel reads `raw`, the entries read the function
// pointers.
unsafe impl<D> Sync for DeviceAttr<D> {}

impl<D: 'static> DeviceAttr<D> {
    /// Attribute `name` with permissions `mode` (0444 read-only, 0644 with a store).
    pub(crate) const fn new(
        name: &'static CStr,
        mode: u16,
        show: ShowFn<D>,
        store: Option<StoreFn<D>>,
    ) -> Self {
        let mut raw: bindings::device_attribute = pin_init::zeroed();
        raw.attr.name = kernel::str::as_char_ptr_in_const_context(name);
        raw.attr.mode = mode;
        raw.__bindgen_anon_1.show = Some(Self::show_entry);
        if store.is_some() {
            raw.__bindgen_anon_2.store = Some(Self::store_entry);
        }
        Self {
            raw,
            show,
            store,
            _data: PhantomData,
        }
    }

    /// The kernel's view of this attribute, for a group's list.
    pub(crate) const fn as_attribute(&'static self) -> *const bindings::attribute {
        &self.raw.attr
    }

    /// The attribute whose `device_attribute` is `attr`.
    ///
    /// # Safety
    ///
    /// `attr` is the `raw` field of a `DeviceAttr<D>` (a `'static`).
    unsafe fn of(attr: *mut bindings::device_attribute) -> &'static Self {
        // SAFETY: by the caller's guarantee.
        unsafe { &*kernel::container_of!(attr, Self, raw) }
    }

    /// `show`.
    ///
    /// # Safety
    ///
    /// Called by sysfs for an attribute of this type on the device of a live
    /// `NodeInner<D>`, with `buf` a page.
    unsafe extern "C" fn show_entry(
        dev: *mut bindings::device,
        attr: *mut bindings::device_attribute,
        buf: *mut c_char,
    ) -> isize {
        // SAFETY: `attr` is one of ours (only our groups carry this entry).
        let this = unsafe { Self::of(attr) };
        // SAFETY: the device is a node's, alive while sysfs calls into it.
        let data = unsafe { NodeInner::<D>::data_of_dev(dev) };
        // SAFETY: sysfs passes a zeroed page, ours for the call.
        let page = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), PAGE_SIZE) };
        let mut text = SysfsText { buf: page, len: 0 };
        match (this.show)(data, &mut text) {
            Ok(()) => text.len as isize,
            Err(e) => e.to_errno() as isize,
        }
    }

    /// `store`.
    ///
    /// # Safety
    ///
    /// As for `show_entry`, with `buf` holding `count` bytes written by user space.
    unsafe extern "C" fn store_entry(
        dev: *mut bindings::device,
        attr: *mut bindings::device_attribute,
        buf: *const c_char,
        count: usize,
    ) -> isize {
        // SAFETY: as for `show_entry`.
        let this = unsafe { Self::of(attr) };
        let Some(store) = this.store else {
            return EIO.to_errno() as isize;
        };
        // SAFETY: as for `show_entry`.
        let data = unsafe { NodeInner::<D>::data_of_dev(dev) };
        // SAFETY: sysfs passes `count` readable bytes, ours for the call.
        let input = unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), count) };
        let Ok(input) = core::str::from_utf8(input) else {
            return EINVAL.to_errno() as isize;
        };
        match store(data, input, &Notifier { dev }) {
            Ok(()) => count as isize,
            Err(e) => e.to_errno() as isize,
        }
    }
}

/// A null-terminated list of attributes of data `D`, for a group.
#[repr(transparent)]
pub(crate) struct AttributeList<D: 'static, const N: usize>(
    [*const bindings::attribute; N],
    PhantomData<fn(&D)>,
);

// SAFETY: pointers to `'static` attributes, never written.
unsafe impl<D, const N: usize> Sync for AttributeList<D, N> {}

impl<D: 'static, const N: usize> AttributeList<D, N> {
    /// `attrs`, the last of which must be null.
    pub(crate) const fn new(attrs: [*const bindings::attribute; N]) -> Self {
        assert!(N > 0 && attrs[N - 1].is_null());
        Self(attrs, PhantomData)
    }
}

/// An unnamed attribute group (its files in the device's own directory).
#[repr(transparent)]
pub(crate) struct AttributeGroup<D: 'static>(bindings::attribute_group, PhantomData<fn(&D)>);

// SAFETY: never written after `new`; points to `'static` data.
unsafe impl<D> Sync for AttributeGroup<D> {}

impl<D: 'static> AttributeGroup<D> {
    /// The group of the attributes in `list`.
    pub(crate) const fn new<const N: usize>(list: &'static AttributeList<D, N>) -> Self {
        let mut raw: bindings::attribute_group = pin_init::zeroed();
        raw.__bindgen_anon_2.attrs_const = list.0.as_ptr();
        Self(raw, PhantomData)
    }

    /// The kernel's view of this group.
    pub(crate) const fn as_raw(&'static self) -> *const bindings::attribute_group {
        &self.0
    }
}

/// A null-terminated list of groups of data `D`, for a device.
#[repr(transparent)]
pub(crate) struct AttributeGroups<D: 'static>(
    &'static [*const bindings::attribute_group],
    PhantomData<fn(&D)>,
);

// SAFETY: pointers to `'static` groups, never written.
unsafe impl<D> Sync for AttributeGroups<D> {}

impl<D: 'static> AttributeGroups<D> {
    /// `groups`, the last of which must be null.
    pub(crate) const fn new(groups: &'static [*const bindings::attribute_group]) -> Self {
        assert!(!groups.is_empty() && groups[groups.len() - 1].is_null());
        Self(groups, PhantomData)
    }

    /// The kernel's view (`struct device::groups`; the driver core never writes through it).
    pub(super) fn as_raw(&'static self) -> *mut *const bindings::attribute_group {
        self.0.as_ptr().cast_mut()
    }
}

/// Declares a `static` [`AttributeGroups`] of data `$data`, each group a list of `static`
/// [`DeviceAttr`]s:
///
/// ```ignore
/// attribute_groups!(static GROUPS: Card = [[ABI_VERSION, OS_STATE], [BAR0_SIZE]]);
/// ```
#[macro_export]
macro_rules! attribute_groups {
    ($(#[$meta:meta])* $vis:vis static $name:ident: $data:ty = [$([$($attr:path),* $(,)?]),+ $(,)?];) => {
        $(#[$meta])*
        $vis static $name: $crate::sys::sysfs::AttributeGroups<$data> =
            $crate::sys::sysfs::AttributeGroups::new(&[
                $({
                    static LIST: $crate::sys::sysfs::AttributeList<
                        $data,
                        { [$(stringify!($attr)),*].len() + 1 },
                    > = $crate::sys::sysfs::AttributeList::new([
                        $($attr.as_attribute(),)*
                        core::ptr::null(),
                    ]);
                    static GROUP: $crate::sys::sysfs::AttributeGroup<$data> =
                        $crate::sys::sysfs::AttributeGroup::new(&LIST);
                    GROUP.as_raw()
                },)+
                core::ptr::null(),
            ]);
    };
}
