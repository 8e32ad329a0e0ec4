// Known-answer vectors of xtaci/qpp v1.1.25, the version kcptun's last release pins: a
// module of its own, so that its golang.org/x/crypto does not change the kcp-go 5.6.1 peers.
module github.com/kcp-rs/kcp-rs/peers/qpp

go 1.22.3

require github.com/xtaci/qpp v1.1.25

require golang.org/x/crypto v0.26.0 // indirect
