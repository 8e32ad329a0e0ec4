//! Arbitrary sequences of operations on two endpoints joined by a lossy, reordering link:
//! nothing may panic, and whatever is delivered is exactly what was sent, in order.
#![no_main]
use arbitrary::Arbitrary;
use kcp_core::Kcp;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Op {
    Send {
        side: bool,
        len: u16,
    },
    Advance {
        ms: u8,
    },
    Deliver {
        side: bool,
        index: u8,
        duplicate: bool,
    },
    Drop {
        side: bool,
        index: u8,
    },
    Recv {
        side: bool,
        cap: u16,
    },
    Flush {
        side: bool,
    },
    Mtu {
        side: bool,
        mtu: u16,
    },
    Window {
        side: bool,
        snd: u16,
        rcv: u16,
    },
    NoDelay {
        side: bool,
        nodelay: u8,
        interval: u16,
        resend: u8,
        nc: bool,
    },
}

#[derive(Arbitrary, Debug)]
struct Script {
    stream: bool,
    start: u32,
    sn: u32,
    ops: Vec<Op>,
}

struct End {
    kcp: Kcp,
    wire: Vec<Vec<u8>>,
    sent: Vec<u8>,
    got: Vec<u8>,
    counter: u8,
}

fuzz_target!(|script: Script| {
    let mut ends = [0, 1].map(|_| {
        let mut kcp = Kcp::new(7);
        kcp.set_stream(script.stream);
        End {
            kcp,
            wire: Vec::new(),
            sent: Vec::new(),
            got: Vec::new(),
            counter: 0,
        }
    });
    let _ = ends[0]
        .kcp
        .set_initial_sequence(script.sn, script.sn.wrapping_add(1));
    let _ = ends[1]
        .kcp
        .set_initial_sequence(script.sn.wrapping_add(1), script.sn);
    let mut now = script.start;
    let mut buf = vec![0u8; 256 * 1024];
    for op in script.ops.iter().take(512) {
        match *op {
            Op::Send { side, len } => {
                let e = &mut ends[usize::from(side)];
                let len = usize::from(len) % 200_000;
                let msg: Vec<u8> = (0..len).map(|i| e.counter.wrapping_add(i as u8)).collect();
                if let Ok(n) = e.kcp.send(&msg) {
                    e.sent.extend_from_slice(&msg[..n]);
                    e.counter = e.counter.wrapping_add(n as u8);
                }
            }
            Op::Advance { ms } => {
                now = now.wrapping_add(u32::from(ms));
                for e in &mut ends {
                    let wire = &mut e.wire;
                    e.kcp.update(now, |d: &mut [u8]| wire.push(d.to_vec()));
                }
            }
            Op::Deliver {
                side,
                index,
                duplicate,
            } => {
                let (from, to) = if side { (1, 0) } else { (0, 1) };
                if !ends[from].wire.is_empty() {
                    let i = usize::from(index) % ends[from].wire.len();
                    let d = if duplicate {
                        ends[from].wire[i].clone()
                    } else {
                        ends[from].wire.remove(i)
                    };
                    let _ = ends[to].kcp.input(&d);
                }
            }
            Op::Drop { side, index } => {
                let w = &mut ends[usize::from(side)].wire;
                if !w.is_empty() {
                    let i = usize::from(index) % w.len();
                    w.remove(i);
                }
            }
            Op::Recv { side, cap } => {
                let e = &mut ends[usize::from(side)];
                let cap = (usize::from(cap).max(1) * 4).min(buf.len());
                if let Ok(n) = e.kcp.recv(&mut buf[..cap]) {
                    e.got.extend_from_slice(&buf[..n]);
                }
            }
            Op::Flush { side } => {
                let e = &mut ends[usize::from(side)];
                let wire = &mut e.wire;
                e.kcp.flush(|d: &mut [u8]| wire.push(d.to_vec()));
            }
            Op::Mtu { side, mtu } => {
                let _ = ends[usize::from(side)].kcp.set_mtu(usize::from(mtu));
            }
            Op::Window { side, snd, rcv } => {
                let _ = ends[usize::from(side)]
                    .kcp
                    .set_window_size(u32::from(snd), u32::from(rcv));
            }
            Op::NoDelay {
                side,
                nodelay,
                interval,
                resend,
                nc,
            } => {
                ends[usize::from(side)].kcp.set_nodelay(
                    u32::from(nodelay % 3),
                    u32::from(interval),
                    u32::from(resend % 4),
                    nc,
                );
            }
        }
        for e in &mut ends {
            let _ = e.kcp.check(now);
            if e.wire.len() > 4096 {
                e.wire.drain(..2048);
            }
        }
    }
    // Whatever arrived is a prefix of what the other side sent.
    for (to, from) in [(0, 1), (1, 0)] {
        let got = &ends[to].got;
        let sent = &ends[from].sent;
        assert!(got.len() <= sent.len() && got[..] == sent[..got.len()]);
    }
});
