//! kcp-tunnel's QPP against known-answer vectors from the Go package kcptun's last release
//! uses (github.com/xtaci/qpp v1.1.25, printed by `peers/qpp`: `cd peers/qpp && go run .`):
//! for short, empty and long keys and 1, 3 and 61 pads, a message encrypted in writes of
//! varying sizes, as one direction of a kcptun stream.

use kcp_tunnel::qpp::{PadRng, Pads};
use serde_json::Value;

fn vectors() -> Vec<Value> {
    let text = include_str!("data/qpp-vectors.json");
    let v: Value = serde_json::from_str(text).expect("the vectors parse");
    v.as_array().expect("an array").clone()
}

fn plain(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + 3) as u8).collect()
}

#[test]
fn encryption_matches_the_go_package_write_by_write() {
    let vectors = vectors();
    assert_eq!(vectors.len(), 9);
    for v in vectors {
        let key = v["key"].as_str().unwrap().as_bytes();
        let count = v["pads"].as_u64().unwrap() as u16;
        let writes: Vec<usize> = v["writes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_u64().unwrap() as usize)
            .collect();
        let want = hex::decode(v["cipher"].as_str().unwrap()).unwrap();
        let pads = Pads::new(key, count);
        let mut rng = PadRng::new(key);
        let mut data = plain(want.len());
        let mut at = 0;
        for w in &writes {
            pads.encrypt(&mut data[at..at + w], &mut rng);
            at += w;
        }
        assert_eq!(at, want.len());
        assert!(
            data == want,
            "key {key:?}, {count} pads: first difference at byte {:?}",
            data.iter().zip(&want).position(|(a, b)| a != b)
        );
        // And the reading side, in other sizes, gets the plaintext back.
        let mut rng = PadRng::new(key);
        for chunk in data.chunks_mut(100) {
            pads.decrypt(chunk, &mut rng);
        }
        assert_eq!(data, plain(want.len()));
    }
}
