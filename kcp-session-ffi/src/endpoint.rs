//! `kcps_endpoint`: the sessions of one UDP socket, driven by the caller (datagrams in
//! and out, timers, events), and the session handles C sees.

use core::cell::UnsafeCell;
use core::ffi::{c_char, c_int};
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use kcp_session::{DatagramEvent, Endpoint, Event, Handle};

use crate::addr::KcpsAddr;
use crate::config::KcpsConfig;
use crate::error::{
    KCPS_E_ADDRESS_IN_USE, KCPS_E_BUSY, KCPS_E_INVALID, KCPS_E_NULL, KCPS_E_RANDOM, KCPS_OK,
    write_message,
};

/// `kcps_handle`: the datagram was dropped.
pub const KCPS_DATAGRAM_DROPPED: c_int = 0;
/// `kcps_handle`: the datagram opened a session waiting for `kcps_accept`.
pub const KCPS_DATAGRAM_INCOMING: c_int = 1;
/// `kcps_handle`: the datagram went to an existing session.
pub const KCPS_DATAGRAM_SESSION: c_int = 2;
/// `kcps_event.kind`: a peer opened a session.
pub const KCPS_EVENT_INCOMING: c_int = 1;
/// `kcps_event.kind`: a session made progress.
pub const KCPS_EVENT_PROGRESS: c_int = 2;
/// `kcps_event.kind`: a session ended.
pub const KCPS_EVENT_ENDED: c_int = 3;

/// An event as C gets it (`kcps_event`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KcpsEvent {
    /// `KCPS_EVENT_*`.
    pub kind: c_int,
    /// The session it concerns.
    pub session: u64,
}

/// A run of datagrams to one destination as C gets it (`kcps_transmit`); `data` points
/// into the endpoint until the next call on it.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct KcpsTransmit {
    /// Where to send.
    pub destination: KcpsAddr,
    /// The datagrams, back to back.
    pub data: *const u8,
    /// Their total length.
    pub len: usize,
    /// Each datagram's length but the last's (`len` for one datagram).
    pub segment_size: usize,
}

/// What a `kcps_endpoint *` points to: a flag that admits one call at a time, and the
/// state the admitted call gets.
#[derive(Debug)]
pub struct KcpsEndpoint {
    /// A call is running on the endpoint. A call from a second thread at the same time
    /// (which the header forbids) sees it and returns `KCPS_E_BUSY` instead of touching
    /// the state: one uncontended compare-and-swap per call.
    busy: AtomicBool,
    state: UnsafeCell<Inner>,
}

// SAFETY: `state` is only reached through `enter`, which admits one thread at a time.
unsafe impl Sync for KcpsEndpoint {}

/// The state of an endpoint: the [`Endpoint`] and the table that turns its [`Handle`]s
/// into the 64-bit handles C holds.
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) endpoint: Endpoint,
    /// Per endpoint slot (`Handle::index`): the handle living there, its generation as C
    /// sees it, and what a receive into too small a buffer kept.
    ids: Vec<Slot>,
    /// Where this endpoint's generations start: different for every endpoint of the
    /// process, so a handle of another (or a freed) endpoint names nothing here until
    /// some slot has been reused about 2^32 / (endpoints made) times.
    first_generation: u32,
}

/// One slot of [`Inner::ids`].
#[derive(Debug, Clone, Default)]
pub(crate) struct Slot {
    handle: Option<Handle>,
    /// The handle's generation as C sees it, bumped whenever another handle takes the slot.
    generation: u32,
    /// Taken from the session, kept for the next call with a buffer large enough: a
    /// datagram (`kcps_recv_datagram`) and a whole message (`kcps_recv_message`) that
    /// did not fit. At most one of each per slot; dropped when another session takes
    /// the slot, or with the endpoint.
    pub(crate) kept_datagram: Option<Vec<u8>>,
    pub(crate) kept_message: Option<Vec<u8>>,
}

/// Endpoints made so far in this process, for [`Inner::first_generation`].
static ENDPOINTS: AtomicU32 = AtomicU32::new(0);

/// The first generation of the next endpoint: the count of endpoints made, times the
/// golden ratio of 2^32, spreads the starts of any two endpoints far apart.
fn next_first_generation() -> u32 {
    ENDPOINTS
        .fetch_add(1, Ordering::Relaxed)
        .wrapping_mul(0x9E37_79B9)
}

/// The state of an endpoint while a call runs on it; leaving the call (dropping this)
/// admits the next one.
///
/// It holds the state as a pointer, not as `&mut Inner`: a reference passed by value (an
/// `Entered` moved into a closure, say) is asserted unique until that function returns,
/// which is after `drop` has admitted the next call, whose thread may then create its own
/// reference (undefined behaviour, which Miri's threads test caught). References made by
/// `deref` and `deref_mut` borrow the `Entered`, so they end before it drops.
pub(crate) struct Entered<'a> {
    busy: &'a AtomicBool,
    inner: NonNull<Inner>,
    _state: PhantomData<&'a mut Inner>,
}

impl Deref for Entered<'_> {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        // SAFETY: the flag admits this call alone until `self` drops, which the borrow
        // of `self` outlives.
        unsafe { self.inner.as_ref() }
    }
}

impl DerefMut for Entered<'_> {
    fn deref_mut(&mut self) -> &mut Inner {
        // SAFETY: as `deref`.
        unsafe { self.inner.as_mut() }
    }
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        self.busy.store(false, Ordering::Release);
    }
}

/// Enters a call on `endpoint`: its state, or `KCPS_E_NULL` for NULL, or `KCPS_E_BUSY`
/// while a call runs on it on another thread.
///
/// # Safety
/// `endpoint` is NULL or live (from [`kcps_endpoint_new`], not freed) for `'a`.
pub(crate) unsafe fn enter<'a>(endpoint: *const KcpsEndpoint) -> Result<Entered<'a>, c_int> {
    // SAFETY: live (the contract); only the flag and the cell are shared.
    let ep = unsafe { endpoint.as_ref() }.ok_or(KCPS_E_NULL)?;
    ep.busy
        .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
        .map_err(|_| KCPS_E_BUSY)?;
    Ok(Entered {
        busy: &ep.busy,
        // The flag admitted this call alone; references to the state are made from this
        // pointer only while `Entered` lives (see its `deref_mut`).
        inner: NonNull::new(ep.state.get()).ok_or(KCPS_E_NULL)?,
        _state: PhantomData,
    })
}

impl Inner {
    /// The C handle of `h`: slot + 1 in the low half (never 0), generation in the high.
    pub(crate) fn id(&mut self, h: Handle) -> u64 {
        let slot = h.index();
        if self.ids.len() <= slot {
            let empty = Slot {
                generation: self.first_generation,
                ..Slot::default()
            };
            self.ids.resize(slot + 1, empty);
        }
        let entry = &mut self.ids[slot];
        if entry.handle != Some(h) {
            *entry = Slot {
                handle: Some(h),
                generation: entry.generation.wrapping_add(1),
                ..Slot::default()
            };
        }
        (u64::from(entry.generation) << 32) | (slot as u64 + 1)
    }

    /// The slot of `h`, whose handle C was given (every [`Handle`] C can name went
    /// through [`id`](Inner::id)).
    pub(crate) fn slot(&mut self, h: Handle) -> Option<&mut Slot> {
        self.ids.get_mut(h.index()).filter(|s| s.handle == Some(h))
    }

    /// The [`Handle`] behind a C handle; `None` for 0, garbage, handles whose slot
    /// another session took and sessions the endpoint has freed (released and ended).
    pub(crate) fn handle(&self, id: u64) -> Option<Handle> {
        let slot = usize::try_from((id & u64::from(u32::MAX)).checked_sub(1)?).ok()?;
        match self.ids.get(slot)? {
            Slot {
                handle: Some(h),
                generation,
                ..
            } if u64::from(*generation) == id >> 32 => self.endpoint.session(*h).map(|_| *h),
            _ => None,
        }
    }
}

/// Makes an endpoint from a config (`kcps_endpoint_new`); on `KCPS_E_INVALID` writes why
/// into `msg`; `KCPS_E_RANDOM` when the OS random source fails. Free it with [`kcps_endpoint_free`].
///
/// # Safety
/// `config` is NULL or a live config; `out` is NULL or writable; `msg` is NULL or valid
/// for `msg_len` bytes of writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kcps_endpoint_new(
    config: *const KcpsConfig,
    out: *mut *mut KcpsEndpoint,
    msg: *mut c_char,
    msg_len: usize,
) -> c_int {
    if config.is_null() || out.is_null() {
        return KCPS_E_NULL;
    }
    // SAFETY: a live config (the contract).
    let built = unsafe { (*config).config.build() };
    match built {
        Ok(settings) => {
            // The endpoint's secret (address proofs, replay cache) from the OS.
            let mut seed = [0u8; 32];
            if getrandom::fill(&mut seed).is_err() {
                return KCPS_E_RANDOM;
            }
            let endpoint = Box::new(KcpsEndpoint {
                busy: AtomicBool::new(false),
                state: UnsafeCell::new(Inner {
                    endpoint: Endpoint::new(&settings, seed),
                    ids: Vec::new(),
                    first_generation: next_first_generation(),
                }),
            });
            // SAFETY: `out` is writable (the contract).
            unsafe { out.write(Box::into_raw(endpoint)) };
            KCPS_OK
        }
        Err(e) => {
            // SAFETY: forwarded contract.
            unsafe { write_message(msg, msg_len, &e.to_string()) };
            KCPS_E_INVALID
        }
    }
}

/// Frees an endpoint and its sessions (`kcps_endpoint_free`); NULL is ignored.
///
/// # Safety
/// `endpoint` is NULL or from [`kcps_endpoint_new`], not freed before, used by no other
/// thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kcps_endpoint_free(endpoint: *mut KcpsEndpoint) {
    // A free racing with a call on another thread is refused: the endpoint stays.
    // SAFETY: forwarded contract.
    if let Ok(entered) = unsafe { enter(endpoint) } {
        drop(entered);
        // SAFETY: from `Box::into_raw`, freed once (the contract).
        drop(unsafe { Box::from_raw(endpoint) });
    }
}

/// Whether `len` bytes could be a C object: at most `PTRDIFF_MAX` (Rust's slices have the
/// same limit). A longer length is a lie the library refuses before touching the buffer.
pub(crate) fn plausible_len(len: usize) -> bool {
    isize::try_from(len).is_ok()
}

/// Turns a `Result<c_int, c_int>` into the C return value.
pub(crate) fn code(r: Result<c_int, c_int>) -> c_int {
    r.unwrap_or_else(|e| e)
}

/// Accepts sessions opened by peers, or not (`kcps_listen`).
///
/// # Safety
/// `endpoint` is NULL or live thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kcps_listen(endpoint: *mut KcpsEndpoint, on: c_int) -> c_int {
    // SAFETY: forwarded contract.
    code(unsafe { enter(endpoint) }.map(|mut ep| {
        ep.endpoint.listen(on != 0);
        KCPS_OK
    }))
}

/// Opens a session to `remote` with a random conversation id (`kcps_connect`).
///
/// # Safety
/// `endpoint` is NULL or live thread; `remote` is NULL or readable;
/// `session` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kcps_connect(
    endpoint: *mut KcpsEndpoint,
    now: u32,
    remote: *const KcpsAddr,
    session: *mut u64,
) -> c_int {
    // SAFETY: forwarded contract.
    // SAFETY: NULL or readable (the contract).
    let Some(remote) = (unsafe { remote.as_ref() }) else {
        return KCPS_E_NULL;
    };
    if session.is_null() {
        return KCPS_E_NULL;
    }
    // SAFETY: forwarded contract.
    let mut ep = match unsafe { enter(endpoint) } {
        Ok(ep) => ep,
        Err(e) => return e,
    };
    let Some(remote) = remote.to_socket_addr() else {
        return KCPS_E_INVALID;
    };
    let mut conv = [0u8; 4];
    if getrandom::fill(&mut conv).is_err() {
        return KCPS_E_RANDOM;
    }
    match ep
        .endpoint
        .connect_with_conv(now, remote, u32::from_le_bytes(conv))
    {
        Ok(h) => {
            let id = ep.id(h);
            // SAFETY: writable (the contract).
            unsafe { session.write(id) };
            KCPS_OK
        }
        Err(_) => KCPS_E_ADDRESS_IN_USE,
    }
}

/// Takes one received datagram, decrypting it in place (`kcps_handle`); returns
/// `KCPS_DATAGRAM_*`.
///
/// # Safety
/// `endpoint` is NULL or live thread; `from` is NULL or readable;
/// `datagram` is NULL or valid for `len` bytes of reads and writes; `session` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kcps_handle(
    endpoint: *mut KcpsEndpoint,
    now: u32,
    from: *const KcpsAddr,
    datagram: *mut u8,
    len: usize,
    session: *mut u64,
) -> c_int {
    // SAFETY: forwarded contract.
    // SAFETY: NULL or readable (the contract).
    let Some(from) = (unsafe { from.as_ref() }) else {
        return KCPS_E_NULL;
    };
    if datagram.is_null() && len != 0 {
        return KCPS_E_NULL;
    }
    if !plausible_len(len) {
        return KCPS_E_INVALID;
    }
    // SAFETY: forwarded contract.
    let mut ep = match unsafe { enter(endpoint) } {
        Ok(ep) => ep,
        Err(e) => return e,
    };
    let Some(from) = from.to_socket_addr() else {
        return KCPS_E_INVALID;
    };
    let datagram: &mut [u8] = if len == 0 {
        &mut []
    } else {
        // SAFETY: `len` bytes, readable and writable, not aliased during the call.
        unsafe { core::slice::from_raw_parts_mut(datagram, len) }
    };
    let (result, h) = match ep.endpoint.handle(now, from, datagram) {
        DatagramEvent::Incoming(h) => (KCPS_DATAGRAM_INCOMING, h),
        DatagramEvent::Session(h) => (KCPS_DATAGRAM_SESSION, h),
        _ => return KCPS_DATAGRAM_DROPPED,
    };
    let id = ep.id(h);
    if !session.is_null() {
        // SAFETY: writable (the contract).
        unsafe { session.write(id) };
    }
    result
}

/// The next run of datagrams to send (`kcps_poll_transmit`): 1 and `*out` filled, or 0.
///
/// # Safety
/// `endpoint` is NULL or live thread; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kcps_poll_transmit(
    endpoint: *mut KcpsEndpoint,
    now: u32,
    out: *mut KcpsTransmit,
) -> c_int {
    // SAFETY: forwarded contract.
    let mut ep = match unsafe { enter(endpoint) } {
        Ok(ep) if !out.is_null() => ep,
        Ok(_) => return KCPS_E_NULL,
        Err(e) => return e,
    };
    let Some(t) = ep.endpoint.poll_transmit(now) else {
        return 0;
    };
    let transmit = KcpsTransmit {
        destination: KcpsAddr::from_socket_addr(t.destination),
        data: t.contents.as_ptr(),
        len: t.contents.len(),
        segment_size: t.segment_size.unwrap_or(t.contents.len()),
    };
    // SAFETY: writable (the contract). The bytes stay in the endpoint's queue, untouched
    // until the next call on the endpoint.
    unsafe { out.write(transmit) };
    1
}

/// When `kcps_handle_timeout` should run next (`kcps_poll_timeout`): 1 and `*at`, or 0.
///
/// # Safety
/// `endpoint` is NULL or live; `at` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kcps_poll_timeout(endpoint: *const KcpsEndpoint, at: *mut u32) -> c_int {
    // SAFETY: forwarded contract.
    let ep = match unsafe { enter(endpoint) } {
        Ok(ep) => ep,
        Err(e) => return e,
    };
    if at.is_null() {
        return KCPS_E_NULL;
    }
    match ep.endpoint.poll_timeout() {
        Some(t) => {
            // SAFETY: writable (the contract).
            unsafe { at.write(t) };
            1
        }
        None => 0,
    }
}

/// Runs the timers due at `now` (`kcps_handle_timeout`).
///
/// # Safety
/// `endpoint` is NULL or live thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kcps_handle_timeout(endpoint: *mut KcpsEndpoint, now: u32) -> c_int {
    // SAFETY: forwarded contract.
    code(unsafe { enter(endpoint) }.map(|mut ep| {
        ep.endpoint.handle_timeout(now);
        KCPS_OK
    }))
}

/// Takes the next session a peer opened (`kcps_accept`): 1 and `*session`, or 0.
///
/// # Safety
/// `endpoint` is NULL or live thread; `session` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kcps_accept(endpoint: *mut KcpsEndpoint, session: *mut u64) -> c_int {
    // SAFETY: forwarded contract.
    let mut ep = match unsafe { enter(endpoint) } {
        Ok(ep) if !session.is_null() => ep,
        Ok(_) => return KCPS_E_NULL,
        Err(e) => return e,
    };
    let Some(h) = ep.endpoint.accept() else {
        return 0;
    };
    let id = ep.id(h);
    // SAFETY: writable (the contract).
    unsafe { session.write(id) };
    1
}

/// The next event (`kcps_poll_event`): 1 and `*event`, or 0.
///
/// # Safety
/// `endpoint` is NULL or live thread; `event` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kcps_poll_event(
    endpoint: *mut KcpsEndpoint,
    event: *mut KcpsEvent,
) -> c_int {
    // SAFETY: forwarded contract.
    let mut ep = match unsafe { enter(endpoint) } {
        Ok(ep) if !event.is_null() => ep,
        Ok(_) => return KCPS_E_NULL,
        Err(e) => return e,
    };
    let (kind, h) = match ep.endpoint.poll_event() {
        None => return 0,
        Some(Event::Incoming(h)) => (KCPS_EVENT_INCOMING, h),
        Some(Event::Progress(h)) => (KCPS_EVENT_PROGRESS, h),
        Some(Event::Ended(h)) => (KCPS_EVENT_ENDED, h),
    };
    let session = ep.id(h);
    // SAFETY: writable (the contract).
    unsafe { event.write(KcpsEvent { kind, session }) };
    1
}
