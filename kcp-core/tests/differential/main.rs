//! Differential test: `kcp_core::Kcp` against the real C ikcp 1.7.1.
//!
//! Every scenario builds two conversations that are configured identically, one pair of
//! C control blocks and one pair of `Kcp`s, and drives both with the same seeded call
//! script: sends of 0 bytes to past the fragment limit, clock steps (including jumps,
//! resyncs and wrap past `u32::MAX`), updates, flushes, receives and peeks with assorted
//! buffer sizes, MTU, window and no-delay changes midway, and the delivery of each side's
//! datagrams to the other after loss, duplication and reordering. The C datagrams are the
//! ones carried, so both worlds see the same datagram boundaries; occasionally a datagram
//! is truncated, mutated, reflected, or replaced by crafted or random bytes.
//!
//! After every call the test asserts identical output datagrams (byte for byte, in
//! order, the Rust headroom and tailroom stripped), identical return codes and received
//! bytes, and identical read-outs: windows, RTT estimator, sequence numbers, queue
//! lengths, pending ACKs, retransmission count, `check` and `wait_snd`.
//!
//! Environment:
//! - `KCP_DIFF_SCENARIOS=<n>`: how many scenarios to run (default 5000);
//! - `KCP_DIFF_BASE=<n>`: the seed of the first scenario (default fixed, so CI is
//!   reproducible; scenario `i` uses seed `base + i`);
//! - `KCP_DIFF_SEED=<n>`: replay exactly one scenario, printing every step.
//!
//! C corners with undefined behaviour are kept out of the scripts: an ACK echoing a `ts`
//! far from the receiver's clock (signed overflow in the RTT estimator), and shrinking the
//! MTU below what a queued segment needs (scratch buffer overflow).

mod report;
mod scenario;

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use kcp_testkit::sim::Rng;

use scenario::Scenario;

const DEFAULT_SCENARIOS: u64 = 5000;
const DEFAULT_BASE: u64 = 0x6B63_7000;

/// What the scenarios exercised, summed over a run, to show the scripts reach the
/// interesting paths.
#[derive(Default, Debug, Clone, Copy)]
pub(crate) struct Coverage {
    pub(crate) steps: u64,
    pub(crate) datagrams: u64,
    /// Segments on the wire by command: PUSH, ACK, WASK, WINS.
    pub(crate) segments: [u64; 4],
    pub(crate) bytes_delivered: u64,
    pub(crate) send_too_large: u64,
    pub(crate) recv_ok: u64,
    pub(crate) recv_errors: u64,
    pub(crate) input_errors: u64,
    pub(crate) rto_retransmits: u64,
    pub(crate) fast_retransmits: u64,
    pub(crate) oversize_datagrams: u64,
    /// Scenarios (in a total; flags in one scenario) that reached each state.
    pub(crate) dead_link: u64,
    pub(crate) zero_window: u64,
    pub(crate) sn_wrapped: u64,
    pub(crate) clock_wrapped: u64,
}

impl Coverage {
    fn add(&mut self, c: &Coverage) {
        self.steps += c.steps;
        self.datagrams += c.datagrams;
        for (t, s) in self.segments.iter_mut().zip(c.segments) {
            *t += s;
        }
        self.bytes_delivered += c.bytes_delivered;
        self.send_too_large += c.send_too_large;
        self.recv_ok += c.recv_ok;
        self.recv_errors += c.recv_errors;
        self.input_errors += c.input_errors;
        self.rto_retransmits += c.rto_retransmits;
        self.fast_retransmits += c.fast_retransmits;
        self.oversize_datagrams += c.oversize_datagrams;
        self.dead_link += c.dead_link.min(1);
        self.zero_window += c.zero_window.min(1);
        self.sn_wrapped += c.sn_wrapped.min(1);
        self.clock_wrapped += c.clock_wrapped.min(1);
    }
}

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    let parsed = if let Some(hex) = v.strip_prefix("0x") {
        u64::from_str_radix(hex, 16)
    } else {
        v.parse()
    };
    Some(parsed.unwrap_or_else(|_| panic!("{name}={v} is not a number")))
}

/// Runs scenario `seed`; on any panic (a divergence or a crash inside either side)
/// re-panics with the seed and the recent steps.
fn run_one(seed: u64, verbose: bool) -> Coverage {
    let mut steps_rng = Rng::new(seed ^ 0x5EED);
    // Mostly short scripts; a few long ones reach deep states (a large congestion window,
    // window probes backed off to their limit).
    let steps = if steps_rng.chance(0.03) {
        steps_rng.range_usize(1_000, 4_000)
    } else {
        steps_rng.range_usize(40, 400)
    };
    let mut sc = None;
    let result = catch_unwind(AssertUnwindSafe(|| {
        let s = sc.insert(Scenario::new(seed, verbose));
        s.run(steps);
    }));
    match result {
        Ok(()) => sc.map(|s| s.stats).unwrap_or_default(),
        Err(payload) => {
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_string()))
                .unwrap_or_default();
            if msg.starts_with("C and Rust diverge") {
                // Already reported in full.
                resume_unwind(payload);
            }
            let (step, hist) = sc
                .as_ref()
                .map(|s| (s.step, s.history.join("\n  ")))
                .unwrap_or_default();
            panic!(
                "scenario panicked: seed {seed} step {step}: {msg}\n\
                 replay: KCP_DIFF_SEED={seed} cargo test --release -p kcp-core --test differential\n\
                 recent steps:\n  {hist}"
            );
        }
    }
}

#[test]
fn c_and_rust_agree_on_random_scenarios() {
    if let Some(seed) = env_u64("KCP_DIFF_SEED") {
        let cov = run_one(seed, true);
        println!("seed {seed} passed: {cov:?}");
        return;
    }
    let count = env_u64("KCP_DIFF_SCENARIOS").unwrap_or(DEFAULT_SCENARIOS);
    let base = env_u64("KCP_DIFF_BASE").unwrap_or(DEFAULT_BASE);
    assert!(count > 0, "KCP_DIFF_SCENARIOS must be positive");
    let mut total = Coverage::default();
    for seed in base..base + count {
        total.add(&run_one(seed, false));
    }
    println!("{count} scenarios from seed {base} agree: {total:?}");
    if count < 200 {
        return;
    }
    // The scripts must actually reach the paths they are meant to cover.
    let c = &total;
    assert!(c.datagrams > count * 10, "too little traffic: {c:?}");
    assert!(c.recv_ok > count, "too few messages received: {c:?}");
    assert!(
        c.segments.iter().all(|&n| n > 0),
        "a command never sent: {c:?}"
    );
    assert!(c.input_errors > 0 && c.send_too_large > 0, "{c:?}");
    assert!(c.rto_retransmits > 0 && c.fast_retransmits > 0, "{c:?}");
    assert!(c.oversize_datagrams > 0, "{c:?}");
    let reached = [c.dead_link, c.zero_window, c.sn_wrapped, c.clock_wrapped];
    assert!(
        reached.iter().all(|&n| n > 0),
        "a state never reached: {c:?}"
    );
}
