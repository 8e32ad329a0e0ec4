//! The payload the example programs and tests send: a splitmix64 stream, each output word
//! written little-endian (the same bytes as the kcp-go peer programs'), so a receiver can
//! check every byte without storing what was sent, and snappy cannot compress it. The words
//! come from the testkit's generator, which is splitmix64.

use crate::sim::Rng;

/// The splitmix64 byte stream of one connection or session.
pub struct SplitMix {
    words: Rng,
    word: [u8; 8],
    used: usize,
}

impl SplitMix {
    /// The stream seeded with `seed`.
    pub fn new(seed: u64) -> SplitMix {
        SplitMix {
            words: Rng::new(seed),
            word: [0; 8],
            used: 8,
        }
    }

    fn next_word(&mut self) -> u64 {
        self.words.next_u64()
    }

    /// Writes the next `p.len()` bytes of the stream into `p`.
    pub fn fill(&mut self, mut p: &mut [u8]) {
        while !p.is_empty() && self.used < 8 {
            p[0] = self.word[self.used];
            p = &mut p[1..];
            self.used += 1;
        }
        let mut words = p.chunks_exact_mut(8);
        for w in &mut words {
            w.copy_from_slice(&self.next_word().to_le_bytes());
        }
        let rest = words.into_remainder();
        if !rest.is_empty() {
            self.word = self.next_word().to_le_bytes();
            rest.copy_from_slice(&self.word[..rest.len()]);
            self.used = rest.len();
        }
    }
}
