// SPDX-License-Identifier: GPL-2.0

//! A device class of the driver's own, a char-device region, and one char device per node,
//! parented on its PCI device: `/sys/class/<class>/<name>N` and `/sys/dev/char/MAJ:MIN` resolve
//! to `<parent>/<class>/<name>N`, whose files are the node's sysfs attributes ([`super::sysfs`]),
//! and devtmpfs creates `/dev/<name>N` with the class's mode. 7.3's kernel crate has neither
//! classes nor char devices; `kernel::miscdevice` puts every node in class `misc`.
//!
//! A node's `struct device`, its `cdev` and the driver data its files reach live in one
//! allocation ([`NodeInner`]) that the device's reference count frees: `cdev_device_add()` makes
//! the `cdev` hold its device, and every open file holds its `cdev`, so the data outlives every
//! file and every sysfs access (the kernel's pattern for `cdev_device_add`).

use core::{
    marker::PhantomData,
    ptr::NonNull, //
};

use kernel::{
    bindings,
    device::Device,
    error::to_result,
    module::this_module,
    prelude::*,
    sync::atomic::{
        Atomic,
        Relaxed, //
    },
    types::Opaque, //
};

use super::{
    node::{
        NodeFile,
        NodeVTable, //
    },
    sysfs::AttributeGroups,
};

/// A device class and the char-device region of its nodes, declared as a `static`:
/// [`CharClass::register`] registers both for the life of the module.
///
/// # Invariants
///
/// `raw` is written only by `new`; `base` is a region of `count` minors allocated by
/// `register` while `registered` is set, cleared before the region is released.
pub(crate) struct CharClass {
    raw: bindings::class,
    region: &'static CStr,
    count: u32,
    base: Atomic<u32>,
    registered: Atomic<bool>,
}

// SAFETY: `raw` is never written after `new` (the kernel takes it by `const` pointer); the rest
// are atomics and static strings.
unsafe impl Sync for CharClass {}
// SAFETY: as for `Sync`; nothing in it is tied to a thread.
unsafe impl Send for CharClass {}

impl CharClass {
    /// Class `name` (`/sys/class/<name>`), whose device nodes devtmpfs creates with mode `MODE`,
    /// with a region of `count` minors named `region` (`/proc/devices`).
    pub(crate) const fn new<const MODE: u16>(
        name: &'static CStr,
        region: &'static CStr,
        count: u32,
    ) -> Self {
        let mut raw: bindings::class = pin_init::zeroed();
        raw.name = kernel::str::as_char_ptr_in_const_context(name);
        raw.devnode = Some(devnode::<MODE>);
        Self {
            raw,
            region,
            count,
            base: Atomic::new(0),
            registered: Atomic::new(false),
        }
    }

    /// Registers the class and allocates the region; both go when the returned guard is dropped.
    /// `EBUSY` if already registered.
    pub(crate) fn register(&'static self) -> Result<ClassRegistration> {
        if self.registered.load(Relaxed) {
            return Err(EBUSY);
        }
        // SAFETY: `raw` is a class definition that lives for `'static` and is never written.
        to_result(unsafe { bindings::class_register(&self.raw) })?;
        let mut base: bindings::dev_t = 0;
        // SAFETY: `base` is valid for writing; the name is a static string.
        let r = to_result(unsafe {
            bindings::alloc_chrdev_region(&mut base, 0, self.count, self.region.as_char_ptr())
        });
        if let Err(e) = r {
            // SAFETY: registered just above, by this call.
            unsafe { bindings::class_unregister(&self.raw) };
            return Err(e);
        }
        self.base.store(base, Relaxed);
        // INVARIANT: the region is allocated; published after `base`.
        self.registered.store(true, kernel::sync::atomic::Release);
        Ok(ClassRegistration { class: self })
    }

    /// The device number of `minor`, while the class is registered.
    fn devt(&self, minor: u32) -> Result<bindings::dev_t> {
        if !self.registered.load(kernel::sync::atomic::Acquire) {
            return Err(ENODEV);
        }
        if minor >= self.count {
            return Err(EINVAL);
        }
        Ok(self.base.load(Relaxed) + minor)
    }
}

/// `devnode` of a [`CharClass`]: the mode devtmpfs gives its nodes.
///
/// # Safety
///
/// `mode` is null or valid for writing (the driver core's contract).
unsafe extern "C" fn devnode<const MODE: u16>(
    _dev: *const bindings::device,
    mode: *mut bindings::umode_t,
) -> *mut c_char {
    if !mode.is_null() {
        // SAFETY: `mode` is valid for writing (caller's guarantee).
        unsafe { *mode = MODE };
    }
    core::ptr::null_mut()
}

/// A registered [`CharClass`]: unregistered when dropped. Drop it only after every
/// [`CharNode`] of the class is gone (the module drops its PCI drivers first).
pub(crate) struct ClassRegistration {
    class: &'static CharClass,
}

impl Drop for ClassRegistration {
    fn drop(&mut self) {
        let c = self.class;
        c.registered.store(false, kernel::sync::atomic::Release);
        // SAFETY: allocated by `register` (type invariant of `CharClass`), released once, here.
        unsafe { bindings::unregister_chrdev_region(c.base.load(Relaxed), c.count) };
        // SAFETY: registered by `register`, unregistered once, here; no device of the class is
        // left (the drop order the guard documents).
        unsafe { bindings::class_unregister(&c.raw) };
    }
}

/// One allocation per node: its device, its `cdev`, and the data its files and attributes reach.
///
/// # Invariants
///
/// Once `CharNode::new` has initialised `dev`, the allocation is owned by the device's
/// reference count and freed only by [`NodeInner::release`]; `data` is never moved or mutated.
#[repr(C)]
pub(super) struct NodeInner<D> {
    dev: Opaque<bindings::device>,
    cdev: Opaque<bindings::cdev>,
    data: D,
}

impl<D> NodeInner<D> {
    /// The data of the node whose `cdev` is `cdev`.
    ///
    /// # Safety
    ///
    /// `cdev` is the `cdev` field of a live `NodeInner<D>`, kept alive for `'a` (an open file or
    /// an open in progress holds it).
    pub(super) unsafe fn data_of_cdev<'a>(cdev: *mut bindings::cdev) -> &'a D {
        let cdev = cdev.cast::<Opaque<bindings::cdev>>();
        // SAFETY: by the caller's guarantee `cdev` is the `cdev` field of a live `NodeInner<D>`.
        let inner = unsafe { kernel::container_of!(cdev, Self, cdev) };
        // SAFETY: as above; `data` is never mutated (type invariant).
        unsafe { &(*inner).data }
    }

    /// The data of the node whose device is `dev`.
    ///
    /// # Safety
    ///
    /// `dev` is the `dev` field of a live `NodeInner<D>`, kept alive for `'a` (a sysfs access in
    /// progress holds it).
    pub(super) unsafe fn data_of_dev<'a>(dev: *mut bindings::device) -> &'a D {
        let dev = dev.cast::<Opaque<bindings::device>>();
        // SAFETY: by the caller's guarantee `dev` is the `dev` field of a live `NodeInner<D>`.
        let inner = unsafe { kernel::container_of!(dev, Self, dev) };
        // SAFETY: as above; `data` is never mutated (type invariant).
        unsafe { &(*inner).data }
    }

    /// `release` of the node's device: the last reference is gone.
    ///
    /// # Safety
    ///
    /// Called by the driver core once, for the device of a `NodeInner<D>` that `CharNode::new`
    /// leaked from a `KBox`.
    unsafe extern "C" fn release(dev: *mut bindings::device) {
        let dev = dev.cast::<Opaque<bindings::device>>();
        // SAFETY: `dev` is the `dev` field of such a `NodeInner<D>`.
        let inner = unsafe { kernel::container_of!(dev, Self, dev) };
        // SAFETY: the allocation came from `KBox::into_raw` and nothing refers to it any more
        // (the device's last reference is gone, and with it the `cdev`'s).
        drop(unsafe { KBox::from_raw(inner) });
    }
}

/// A char device node `/dev/<name><minor>` of a [`CharClass`], parented on `parent`, whose files
/// are `T` and whose sysfs attributes are `groups`.
///
/// # Invariants
///
/// `inner` is a `NodeInner<T::Data>` whose `cdev` and device were added by `new`; this value
/// holds the reference `device_initialize` took, and `drop` removes both and drops it.
pub(crate) struct CharNode<T: NodeFile> {
    inner: NonNull<NodeInner<T::Data>>,
    _files: PhantomData<T>,
}

// SAFETY: `CharNode` only removes its device (any thread may) and reads `data`, which is
// `Send + Sync` (`NodeFile::Data`).
unsafe impl<T: NodeFile> Send for CharNode<T> {}
// SAFETY: as for `Send`.
unsafe impl<T: NodeFile> Sync for CharNode<T> {}

impl<T: NodeFile> CharNode<T> {
    /// Creates `/dev/<name><minor>` in `class`, its device a child of `parent` carrying the
    /// attribute `groups`, whose `open` finds `data`. `ENODEV` unless the class is registered,
    /// `EINVAL` for a minor outside its region.
    pub(crate) fn new(
        class: &'static CharClass,
        parent: &Device,
        name: &'static CStr,
        minor: u32,
        data: T::Data,
        groups: &'static AttributeGroups<T::Data>,
    ) -> Result<Self> {
        let devt = class.devt(minor)?;
        let inner = KBox::new(
            NodeInner {
                dev: Opaque::zeroed(),
                cdev: Opaque::zeroed(),
                data,
            },
            GFP_KERNEL,
        )?;
        let inner = KBox::into_raw(inner);
        // SAFETY: just allocated; `dev` is zeroed memory for a device, as `device_initialize()`
        // wants. From here on the device's reference count owns the allocation.
        let dev = unsafe { (*inner).dev.get() };
        // SAFETY: `dev` is zeroed, not yet initialised or registered.
        unsafe { bindings::device_initialize(dev) };
        // SAFETY: `dev` is initialised and not yet added: nothing else refers to it, so its
        // fields may be set.
        let d = unsafe { &mut *dev };
        // `class` and `groups` are static; the parent is a PCI device that stays bound while
        // this node exists.
        d.class = &class.raw;
        d.parent = super::device_ptr(parent);
        d.devt = devt;
        d.groups = groups.as_raw();
        d.release = Some(NodeInner::<T::Data>::release);
        // SAFETY: `dev` is initialised; the format takes a string and an unsigned int.
        let r = to_result(unsafe {
            bindings::dev_set_name(dev, c"%s%u".as_char_ptr(), name.as_char_ptr(), minor)
        });
        let node = Self {
            // SAFETY: `inner` came from `KBox::into_raw`: not null.
            inner: unsafe { NonNull::new_unchecked(inner) },
            _files: PhantomData,
        };
        if let Err(e) = r {
            node.put();
            return Err(e);
        }
        // SAFETY: `cdev` is zeroed memory for a cdev inside the live allocation.
        let cdev = unsafe { (*inner).cdev.get() };
        // SAFETY: `cdev` is not yet added; the operations are a `'static` table.
        unsafe { bindings::cdev_init(cdev, &NodeVTable::<T>::VTABLE) };
        // SAFETY: as above; an open file takes a reference to the module owning the operations.
        unsafe { (*cdev).owner = this_module::<T::OwnerModule>().as_ptr() };
        // SAFETY: `cdev` and `dev` are initialised and belong together; on success the `cdev`
        // holds a reference to `dev` (its parent kobject).
        if let Err(e) = to_result(unsafe { bindings::cdev_device_add(cdev, dev) }) {
            node.put();
            return Err(e);
        }
        // INVARIANT: both added; `node` holds the initial reference.
        Ok(node)
    }

    fn dev(&self) -> *mut bindings::device {
        // SAFETY: the allocation is alive while this value holds its reference.
        unsafe { self.inner.as_ref().dev.get() }
    }

    /// A handle that notifies pollers of this node's attributes from outside a sysfs store (an
    /// event of the device's own). It holds a reference to the node's device: whoever keeps it
    /// in the node's data must drop it when the node goes, or the two keep each other alive.
    pub(crate) fn notifier(&self) -> super::sysfs::NodeNotifier {
        // SAFETY: `dev()` is the node's live, initialised device; `get_device` takes a reference
        // of its own.
        let dev = unsafe { Device::get_device(self.dev()) };
        super::sysfs::NodeNotifier::new(dev)
    }

    /// Drops this value's reference without removing anything (nothing was added).
    fn put(self) {
        let dev = self.dev();
        core::mem::forget(self);
        // SAFETY: the reference from `device_initialize`, dropped once; `release` frees.
        unsafe { bindings::put_device(dev) };
    }
}

/// `sysfs_notify()` on attribute `attr` of `dev`.
pub(super) fn notify_device(dev: *mut bindings::device, attr: &CStr) {
    // SAFETY: `dev` is a live device (callers hold it); the kobject is its embedded one.
    let kobj = unsafe { &raw mut (*dev).kobj };
    // SAFETY: `kobj` is live; a null directory means the device's own directory.
    unsafe { bindings::sysfs_notify(kobj, core::ptr::null(), attr.as_char_ptr()) };
}

impl<T: NodeFile> Drop for CharNode<T> {
    fn drop(&mut self) {
        let dev = self.dev();
        // SAFETY: the allocation is alive (we hold a reference).
        let cdev = unsafe { self.inner.as_ref().cdev.get() };
        // SAFETY: both were added by `new` (type invariant) and are removed once, here: no new
        // open, no sysfs access after this returns. Open files keep the `cdev`, hence the
        // allocation.
        unsafe { bindings::cdev_device_del(cdev, dev) };
        // SAFETY: the reference from `device_initialize`, dropped once, here.
        unsafe { bindings::put_device(dev) };
    }
}
