//! One KCP client session in firmware: a Cortex-M4F (thumbv7em-none-eabihf) with a fixed
//! heap, a millisecond tick counter for a clock, a seed for a random source, and a
//! loopback "radio" to an echo server session in the same program. The client sends a
//! message of several segments with kcptun's framing (FEC 10/3, AES), reads the echo and
//! checks it, and prints the result and the heap it took through semihosting.
//!
//! Build: `cargo build --release` in this folder. Run on QEMU's MPS2 AN386 board:
//! `cargo run --release` (needs `qemu-system-arm`); QEMU exits with the program's status.
//! On a real board, replace the three things marked BOARD below: the seed, the clock's
//! tick source and the radio.

#![no_std]
#![no_main]

extern crate alloc;

use core::alloc::{GlobalAlloc, Layout};
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering::Relaxed};

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::{entry, exception};
use cortex_m_semihosting::{debug, hprintln};
use embedded_alloc::LlffHeap;
use kcp_crypt::CipherKind;
use kcp_session::{Config, Session, Settings};

/// The heap: two sessions (the client and the echo server) of MTU 512, send window 8,
/// FEC 10/3 and AES. kcp-session's memory table gives 26 KiB each at the peak on a 64-bit
/// host; here FEC runs its portable kernel, whose encoder keeps precomputed tables, and
/// each takes about 34 KiB (this program prints the figure). The rest is margin for the
/// settings and the allocator's own overhead.
const HEAP_BYTES: usize = 96 * 1024;
/// The radio's frame size: the sessions' MTU.
const MTU: usize = 512;
/// The message sent and echoed: several segments, more than one send window.
const MESSAGE_BYTES: usize = 6000;
/// How long the exchange may take before the program reports a failure.
const DEADLINE_MS: u32 = 10_000;

#[global_allocator]
static HEAP: PeakHeap = PeakHeap {
    heap: LlffHeap::empty(),
    used: AtomicUsize::new(0),
    peak: AtomicUsize::new(0),
};

/// The fixed heap, counting the bytes in use and the most ever in use.
struct PeakHeap {
    heap: LlffHeap,
    used: AtomicUsize,
    peak: AtomicUsize,
}

// SAFETY: forwards every call unchanged to the embedded-alloc heap, which upholds the
// GlobalAlloc contract; the counters are plain atomics.
unsafe impl GlobalAlloc for PeakHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { self.heap.alloc(layout) };
        if !p.is_null() {
            let used = self.used.fetch_add(layout.size(), Relaxed) + layout.size();
            self.peak.fetch_max(used, Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.used.fetch_sub(layout.size(), Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { self.heap.dealloc(ptr, layout) }
    }
}

/// The clock: milliseconds since boot, counted by the SysTick interrupt.
static TICKS: AtomicU32 = AtomicU32::new(0);

#[exception]
fn SysTick() {
    TICKS.fetch_add(1, Relaxed);
}

fn now() -> u32 {
    TICKS.load(Relaxed)
}

/// BOARD: 32 bytes from the hardware random number generator. The session's nonces and
/// a dialer's conversation id derive from them, so on a real device they must be
/// unpredictable. QEMU's MPS2 board has no generator: this mixes a constant with the
/// SysTick counter, which is NOT random and only fit for this loopback demonstration.
fn random_seed(salt: u8) -> [u8; 32] {
    let mut seed = [0u8; 32];
    let mut x = 0x9E37_79B9_u32 ^ cortex_m::peripheral::SYST::get_current() ^ u32::from(salt);
    for b in &mut seed {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
    seed
}

/// BOARD: the radio. Here one direction of an in-memory loopback: a ring of frames of at
/// most `MTU` bytes, which drops a frame when full, as a radio's queue would, and loses
/// one frame in `LOSE_EVERY` on the air, so that FEC and retransmission have work.
struct Radio {
    frames: [[u8; MTU]; 16],
    lens: [usize; 16],
    head: usize,
    len: usize,
    sent: u32,
    dropped: u32,
}

/// One frame in this many is lost on the air.
const LOSE_EVERY: u32 = 7;

impl Radio {
    const fn new() -> Radio {
        Radio {
            frames: [[0; MTU]; 16],
            lens: [0; 16],
            head: 0,
            len: 0,
            sent: 0,
            dropped: 0,
        }
    }

    fn transmit(&mut self, frame: &[u8]) {
        self.sent += 1;
        if self.len == self.frames.len()
            || frame.len() > MTU
            || self.sent.is_multiple_of(LOSE_EVERY)
        {
            self.dropped += 1;
            return;
        }
        let i = (self.head + self.len) % self.frames.len();
        self.frames[i][..frame.len()].copy_from_slice(frame);
        self.lens[i] = frame.len();
        self.len += 1;
    }

    /// Hands the oldest frame to `f`; false when there is none.
    fn receive(&mut self, f: impl FnOnce(&mut [u8])) -> bool {
        if self.len == 0 {
            return false;
        }
        let i = self.head;
        f(&mut self.frames[i][..self.lens[i]]);
        self.head = (i + 1) % self.frames.len();
        self.len -= 1;
        true
    }
}

/// kcptun's server defaults (FEC 10/3, AES) with a small MTU and send window.
fn settings() -> Settings {
    let mut c = Config::kcptun();
    c.crypt = CipherKind::Aes256;
    c.mtu = MTU;
    c.snd_wnd = 8;
    c.rcv_wnd = 128;
    c.build().expect("a valid configuration")
}

#[entry]
fn main() -> ! {
    static mut HEAP_MEM: [MaybeUninit<u8>; HEAP_BYTES] = [MaybeUninit::uninit(); HEAP_BYTES];
    // SAFETY: called once, before any allocation, with memory used for nothing else
    // (cortex-m-rt hands `entry` a `&'static mut` to its own `static mut`).
    unsafe { HEAP.heap.init(HEAP_MEM.as_mut_ptr() as usize, HEAP_BYTES) }

    // BOARD: the clock. SysTick at 1 kHz from the 25 MHz core clock of the MPS2 board.
    let mut core = cortex_m::Peripherals::take().expect("taken once");
    core.SYST.set_clock_source(SystClkSource::Core);
    core.SYST.set_reload(25_000 - 1);
    core.SYST.clear_current();
    core.SYST.enable_counter();
    core.SYST.enable_interrupt();

    match echo() {
        Ok(ms) => {
            hprintln!(
                "echo ok: {} bytes in {} ms; heap peak {} of {} bytes, {} in use at the end",
                MESSAGE_BYTES,
                ms,
                HEAP.peak.load(Relaxed),
                HEAP_BYTES,
                HEAP.used.load(Relaxed)
            );
            debug::exit(debug::EXIT_SUCCESS);
        }
        Err(why) => {
            hprintln!("echo FAILED: {}", why);
            debug::exit(debug::EXIT_FAILURE);
        }
    }
    loop {
        cortex_m::asm::wfi();
    }
}

/// Sends the message from a client session through the radio to an echo server session,
/// reads the echo back and compares; the time it took, in milliseconds.
fn echo() -> Result<u32, &'static str> {
    let settings = settings();
    let before = HEAP.used.load(Relaxed);
    let seed = random_seed(1);
    let conv = u32::from_le_bytes([seed[0], seed[1], seed[2], seed[3]]);
    let start = now();
    let mut client = Session::new(conv, &settings, start, seed);
    let created = HEAP.used.load(Relaxed) - before;
    let mut server = Session::new_incoming(conv, &settings, start, random_seed(2));
    let (mut up, mut down) = (Radio::new(), Radio::new());
    hprintln!(
        "a client session takes {} bytes of heap at creation",
        created
    );

    let mut message = [0u8; MESSAGE_BYTES];
    for (i, b) in message.iter_mut().enumerate() {
        *b = (i * 7 + i / 251) as u8;
    }
    let mut echoed = [0u8; MESSAGE_BYTES];
    let (mut sent, mut received) = (0, 0);
    // What the server read and has not yet echoed.
    let mut pending = [0u8; 4096];
    let mut pending_len = 0;

    while received < MESSAGE_BYTES {
        let t = now();
        if t.wrapping_sub(start) > DEADLINE_MS {
            return Err("no echo within the deadline");
        }
        // The client: more of the message, what the radio brought, the echo.
        while sent < MESSAGE_BYTES {
            match client.send(t, &message[sent..]) {
                Ok(n) => sent += n,
                Err(_) => break,
            }
        }
        while down.receive(|d| {
            let _ = client.input(t, d);
        }) {}
        while let Ok(n @ 1..) = client.recv(&mut echoed[received..]) {
            received += n;
        }
        client.poll(t, |d| up.transmit(d));

        // The echo server at the other end of the radio.
        while up.receive(|d| {
            let _ = server.input(t, d);
        }) {}
        while let Ok(n @ 1..) = server.recv(&mut pending[pending_len..]) {
            pending_len += n;
        }
        if let Ok(n) = server.send(t, &pending[..pending_len]) {
            pending.copy_within(n..pending_len, 0);
            pending_len -= n;
        }
        server.poll(t, |d| down.transmit(d));

        // Sleep until a session's timer is due or a tick passes, unless frames wait.
        if up.len == 0 && down.len == 0 {
            let due = [client.next_timeout(t), server.next_timeout(t)]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(t + 10);
            let until = due.min(t + 10);
            while (now().wrapping_sub(until) as i32) < 0 {
                cortex_m::asm::wfi();
            }
        }
    }
    if echoed != message {
        return Err("the echo differs from the message");
    }
    hprintln!(
        "the radio carried {} frames and lost or dropped {}",
        up.sent + down.sent,
        up.dropped + down.dropped
    );
    Ok(now().wrapping_sub(start))
}

/// A panic (or a heap too small: allocation failure panics) prints its message and ends
/// QEMU with a failure status.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    hprintln!("panic: {}", info);
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}
