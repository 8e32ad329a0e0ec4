// Command oob runs real kcp-go UDPSessions (5.6.60, the first release with out-of-band
// datagrams) to test kcp-rs's unreliable datagrams against kcp-go's SendOOB and
// SetOOBHandler over UDP on loopback. It is its own module (peers/oob/go.mod), since the
// other peers pin kcp-go 5.6.1, which has no OOB.
//
//	oob server -listen ADDR [flags]
//	oob client -remote ADDR -count N [flags]
//
// Datagram payloads follow one pattern, so each side checks what it received without
// being told: byte i of a datagram of n bytes is byte(i*7 + n).
//
// server prints "listening <addr>" first, then one line per event:
//
//	accepted <remote> conv=<conv>
//	oob n=<n> ok=<true|false>          a datagram arrived (checked against the pattern)
//	closed <remote> conv=<conv> err=<e>
//
// It echoes each datagram back with SendOOB and echoes the stream, except that a line
// "max\n" on the stream makes it send one datagram of GetOOBMaxSize() bytes instead.
//
// client writes "hello" on the stream and waits for its echo (which proves its address
// to a kcp-rs listener), then sends -count datagrams of sizes 0, 1, 2, ... up to -max-size
// (cycling), one at a time, each waiting for its echo, and checks every echo. On success
// it prints "oob-summary sent=<n> echoed=<n>" and exits 0.
package main

import (
	"bytes"
	"crypto/sha1"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/xtaci/kcp-go/v5"
	"golang.org/x/crypto/pbkdf2"
)

const salt = "kcp-go"

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + n)
	}
	return b
}

func fatalf(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "error: "+format+"\n", args...)
	os.Exit(1)
}

func block(crypt, key string) kcp.BlockCrypt {
	pass := pbkdf2.Key([]byte(key), []byte(salt), 4096, 32, sha1.New)
	var b kcp.BlockCrypt
	var err error
	switch crypt {
	case "null":
		return nil
	case "none":
		b, err = kcp.NewNoneBlockCrypt(pass)
	case "salsa20":
		b, err = kcp.NewSalsa20BlockCrypt(pass)
	case "aes":
		b, err = kcp.NewAESBlockCrypt(pass)
	default:
		fatalf("unknown -crypt %q (aes, salsa20, none, null)", crypt)
	}
	if err != nil {
		fatalf("crypt %s: %v", crypt, err)
	}
	return b
}

func setup(s *kcp.UDPSession, mtu int) {
	s.SetStreamMode(true)
	s.SetWriteDelay(false)
	s.SetNoDelay(0, 30, 2, 1) // kcptun's "fast"
	s.SetWindowSize(1024, 1024)
	s.SetMtu(mtu)
}

func main() {
	if len(os.Args) < 2 {
		fatalf("usage: oob server|client [flags]")
	}
	sub := os.Args[1]
	fs := flag.NewFlagSet(sub, flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:0", "server: UDP address")
	remote := fs.String("remote", "", "client: server UDP address")
	crypt := fs.String("crypt", "aes", "aes, salsa20, none, null")
	key := fs.String("key", "it's a secrect", "pre-shared secret")
	data := fs.Int("datashard", 10, "FEC data shards (OOB needs FEC on)")
	parity := fs.Int("parityshard", 3, "FEC parity shards")
	mtu := fs.Int("mtu", 1350, "MTU")
	count := fs.Int("count", 100, "client: datagrams to send")
	maxSize := fs.Int("max-size", 1300, "client: largest datagram")
	timeout := fs.Int("timeout", 30, "client: limit for the whole run (seconds)")
	fs.Parse(os.Args[2:])
	b := block(*crypt, *key)
	switch sub {
	case "server":
		server(*listen, b, *data, *parity, *mtu)
	case "client":
		if *remote == "" {
			fatalf("-remote is required")
		}
		time.AfterFunc(time.Duration(*timeout)*time.Second, func() { fatalf("timed out") })
		client(*remote, b, *data, *parity, *mtu, *count, *maxSize)
	default:
		fatalf("unknown mode %q", sub)
	}
}

func server(addr string, b kcp.BlockCrypt, data, parity, mtu int) {
	l, err := kcp.ListenWithOptions(addr, b, data, parity)
	if err != nil {
		fatalf("listen %s: %v", addr, err)
	}
	fmt.Printf("listening %s\n", l.Addr())
	for {
		s, err := l.AcceptKCP()
		if err != nil {
			fatalf("accept: %v", err)
		}
		setup(s, mtu)
		tag := fmt.Sprintf("%s conv=%d", s.RemoteAddr(), s.GetConv())
		fmt.Printf("accepted %s\n", tag)
		err = s.SetOOBHandler(func(p []byte) {
			fmt.Printf("oob n=%d ok=%v\n", len(p), bytes.Equal(p, pattern(len(p))))
			if err := s.SendOOB(p); err != nil {
				fmt.Printf("sendoob n=%d err=%v\n", len(p), err)
			}
		})
		if err != nil {
			fatalf("SetOOBHandler: %v", err)
		}
		go func() {
			buf := make([]byte, 65536)
			var err error
			for {
				var n int
				n, err = s.Read(buf)
				if err != nil {
					break
				}
				if string(buf[:n]) == "max\n" {
					err = s.SendOOB(pattern(s.GetOOBMaxSize()))
					fmt.Printf("sent max n=%d err=%v\n", s.GetOOBMaxSize(), err)
					continue
				}
				if _, err = s.Write(buf[:n]); err != nil {
					break
				}
			}
			s.Close()
			fmt.Printf("closed %s err=%v\n", tag, err)
		}()
	}
}

func client(remote string, b kcp.BlockCrypt, data, parity, mtu, count, maxSize int) {
	s, err := kcp.DialWithOptions(remote, b, data, parity)
	if err != nil {
		fatalf("dial %s: %v", remote, err)
	}
	setup(s, mtu)
	echoes := make(chan []byte, 16)
	if err := s.SetOOBHandler(func(p []byte) {
		echoes <- append([]byte(nil), p...)
	}); err != nil {
		fatalf("SetOOBHandler: %v", err)
	}
	if _, err := s.Write([]byte("hello")); err != nil {
		fatalf("write: %v", err)
	}
	hello := make([]byte, 5)
	if _, err := io.ReadFull(s, hello); err != nil || string(hello) != "hello" {
		fatalf("stream echo: %q %v", hello, err)
	}
	echoed := 0
	for i := 0; i < count; i++ {
		n := i % (maxSize + 1)
		if err := s.SendOOB(pattern(n)); err != nil {
			fatalf("SendOOB %d bytes: %v", n, err)
		}
		select {
		case p := <-echoes:
			if !bytes.Equal(p, pattern(n)) {
				fatalf("datagram %d (%d bytes): echo of %d bytes differs", i, n, len(p))
			}
			echoed++
		case <-time.After(5 * time.Second):
			fatalf("datagram %d (%d bytes): no echo", i, n)
		}
	}
	fmt.Printf("oob-summary sent=%d echoed=%d\n", count, echoed)
	s.Close()
}
