// Command qpp prints known-answer vectors of github.com/xtaci/qpp, the Quantum Permutation
// Pads of kcptun's last release (--QPP, --QPPCount), as JSON on stdout: for each key and pad
// count, the pads, and a message encrypted as kcptun's QPPPort does (a PRNG created from
// the key per stream and direction) in writes of varying sizes.
package main

import (
	"encoding/hex"
	"encoding/json"
	"os"

	"github.com/xtaci/qpp"
)

type vector struct {
	Key    string `json:"key"`
	Pads   uint16 `json:"pads"`
	Writes []int  `json:"writes"`
	// The plaintext is byte i = 7i + 3 (mod 256).
	Cipher string `json:"cipher"`
}

func main() {
	keys := []string{"it's a secrect", "", "a key longer than thirty-two bytes, as kcptun suggests for QPP"}
	writes := []int{1, 7, 8, 3, 16, 5, 64, 1, 2, 1350, 9}
	total := 0
	for _, w := range writes {
		total += w
	}
	plain := make([]byte, total)
	for i := range plain {
		plain[i] = byte(i*7 + 3)
	}
	var out []vector
	for _, key := range keys {
		for _, pads := range []uint16{1, 3, 61} {
			pad := qpp.NewQPP([]byte(key), pads)
			rng := qpp.CreatePRNG([]byte(key))
			msg := append([]byte(nil), plain...)
			off := 0
			for _, w := range writes {
				pad.EncryptWithPRNG(msg[off:off+w], rng)
				off += w
			}
			out = append(out, vector{
				Key:    key,
				Pads:   pads,
				Writes: writes,
				Cipher: hex.EncodeToString(msg),
			})
		}
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		panic(err)
	}
}
