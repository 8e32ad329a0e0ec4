// Command session runs real kcp-go 5.6.1 UDPSessions over UDP, set up the way kcptun
// 20210922 sets up its sessions, so kcp-rs can be tested and benchmarked against the real
// peer on loopback (or any address).
//
//	session echo-server -listen ADDR [flags]
//	session sink-server -listen ADDR [flags]
//	session echo-client -remote ADDR -bytes N [-conns K] [flags]
//	session sink-client -remote ADDR -bytes N [-conns K] [flags]
//
// and the latency study's workloads (game, request/response, pipelined bulk), described
// in study.go.
//
// Servers print exactly one line "listening <addr>" first (ADDR may use port 0; the bound
// address is printed), then one line per event, each on stdout:
//
//	accepted <remote> conv=<conv>                      a new session (conv in decimal)
//	sunk <remote> conv=<conv> bytes=<L>                 sink-server: one request served
//	closed <remote> conv=<conv> in=<n> out=<n> err=<e>  a session ended (read/write error,
//	                                                    or idle for -timeout seconds)
//
// echo-server copies everything it reads back to the sender. sink-server reads an 8-byte
// big-endian length L, reads and discards exactly L bytes, replies with the 8-byte
// big-endian count it read, and waits for the next request.
//
// Clients open -conns sessions at once. echo-client writes -bytes bytes on each session
// while another goroutine reads the echo back and checks every byte; sink-client sends the
// 8-byte big-endian header, then -bytes bytes, then checks the 8-byte reply. The payload of
// session i is a splitmix64 stream seeded with -seed + i (each output word written
// little-endian). On success a client prints one line
//
//	ok conns=<K> bytes=<K*N> secs=<s> mibps=<MiB/s> retrans=<n> fecrecovered=<n>
//
// where bytes is the total per direction, secs runs from the first dial to the last
// session's completion, and retrans / fecrecovered are kcp.DefaultSnmp's RetransSegs and
// FECRecovered of the client process. On a mismatch, an error, or when -timeout seconds
// pass first, it prints "error: ..." on stderr and exits with status 1.
//
// Flags common to all subcommands are named and defaulted as kcptun 20210922's server:
// -key -crypt -mode -mtu -sndwnd -rcvwnd -datashard -parityshard -dscp -sockbuf
// -acknodelay, and -nodelay -interval -resend -nc, which take effect only when -mode is
// none of normal/fast/fast2/fast3 (by convention -mode manual), with kcptun's defaults
// 0/50/0/0. The key is PBKDF2-HMAC-SHA1(-key, "kcp-go", 4096, 32) and -crypt maps to
// kcp-go's constructors as kcptun's does (unknown names fall back to aes). Two additions:
// -crypt null means no crypto layer at all (a nil BlockCrypt: raw KCP datagrams when FEC is
// off), while -crypt none is kcp-go's NoneBlockCrypt (nonce and CRC kept, no cipher); and
// -datashard 0 -parityshard 0 turn FEC off.
package main

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	kcp "github.com/xtaci/kcp-go/v5"
	"golang.org/x/crypto/pbkdf2"
)

// salt is kcptun's SALT for the PBKDF2 key expansion.
const salt = "kcp-go"

const usage = `usage:
  session echo-server -listen ADDR [flags]
  session sink-server -listen ADDR [flags]
  session echo-client -remote ADDR -bytes N [-conns K] [flags]
  session sink-client -remote ADDR -bytes N [-conns K] [flags]
  session game-server -listen ADDR [-hz 50] [flags]
  session reply-server -listen ADDR [flags]
  session game-client -remote ADDR [-seconds S] [-hz 50] [flags]
  session request-client -remote ADDR [-requests N] [-size L] [flags]
  session bulk-client -remote ADDR -bytes N [-block B] [flags]
run "session SUBCOMMAND -h" for the flags`

// config holds the flags shared by every subcommand.
type config struct {
	key                               string
	crypt                             string
	mode                              string
	mtu, sndwnd, rcvwnd               int
	dataShard, parityShard            int
	dscp, sockbuf                     int
	noDelay, interval, resend, noCong int
	ackNoDelay, stream                bool
	timeout                           int
	block                             kcp.BlockCrypt
}

func (c *config) register(fs *flag.FlagSet) {
	fs.StringVar(&c.key, "key", "it's a secrect", "pre-shared secret between client and server")
	fs.StringVar(&c.crypt, "crypt", "aes", "aes, aes-128, aes-192, salsa20, blowfish, twofish, cast5, 3des, tea, xtea, xor, sm4, none, null")
	fs.StringVar(&c.mode, "mode", "fast", "profiles: fast3, fast2, fast, normal, manual")
	fs.IntVar(&c.mtu, "mtu", 1350, "maximum transmission unit for UDP packets")
	fs.IntVar(&c.sndwnd, "sndwnd", 1024, "send window size (num of packets)")
	fs.IntVar(&c.rcvwnd, "rcvwnd", 1024, "receive window size (num of packets)")
	fs.IntVar(&c.dataShard, "datashard", 10, "reed-solomon erasure coding - datashard (0 with -parityshard 0: no FEC)")
	fs.IntVar(&c.parityShard, "parityshard", 3, "reed-solomon erasure coding - parityshard")
	fs.IntVar(&c.dscp, "dscp", 0, "DSCP (6bit)")
	fs.IntVar(&c.sockbuf, "sockbuf", 4194304, "per-socket buffer in bytes")
	fs.BoolVar(&c.ackNoDelay, "acknodelay", false, "flush ack immediately when a packet is received")
	fs.BoolVar(&c.stream, "stream", true, "stream mode, as kcptun; -stream=false sends each Write's mss-sized pieces as messages")
	fs.IntVar(&c.noDelay, "nodelay", 0, "-mode manual only")
	fs.IntVar(&c.interval, "interval", 50, "-mode manual only")
	fs.IntVar(&c.resend, "resend", 0, "-mode manual only")
	fs.IntVar(&c.noCong, "nc", 0, "-mode manual only")
	fs.IntVar(&c.timeout, "timeout", 60, "clients: limit for the whole run; servers: a session idle this long is closed (seconds, 0 = none)")
}

// finish applies the mode profile and builds the BlockCrypt, as kcptun's main does.
func (c *config) finish() error {
	switch c.mode {
	case "normal":
		c.noDelay, c.interval, c.resend, c.noCong = 0, 40, 2, 1
	case "fast":
		c.noDelay, c.interval, c.resend, c.noCong = 0, 30, 2, 1
	case "fast2":
		c.noDelay, c.interval, c.resend, c.noCong = 1, 20, 2, 1
	case "fast3":
		c.noDelay, c.interval, c.resend, c.noCong = 1, 10, 2, 1
	}
	pass := pbkdf2.Key([]byte(c.key), []byte(salt), 4096, 32, sha1.New)
	var err error
	switch c.crypt {
	case "null":
		c.block = nil
	case "sm4":
		c.block, err = kcp.NewSM4BlockCrypt(pass[:16])
	case "tea":
		c.block, err = kcp.NewTEABlockCrypt(pass[:16])
	case "xor":
		c.block, err = kcp.NewSimpleXORBlockCrypt(pass)
	case "none":
		c.block, err = kcp.NewNoneBlockCrypt(pass)
	case "aes-128":
		c.block, err = kcp.NewAESBlockCrypt(pass[:16])
	case "aes-192":
		c.block, err = kcp.NewAESBlockCrypt(pass[:24])
	case "blowfish":
		c.block, err = kcp.NewBlowfishBlockCrypt(pass)
	case "twofish":
		c.block, err = kcp.NewTwofishBlockCrypt(pass)
	case "cast5":
		c.block, err = kcp.NewCast5BlockCrypt(pass[:16])
	case "3des":
		c.block, err = kcp.NewTripleDESBlockCrypt(pass[:24])
	case "xtea":
		c.block, err = kcp.NewXTEABlockCrypt(pass[:16])
	case "salsa20":
		c.block, err = kcp.NewSalsa20BlockCrypt(pass)
	default:
		c.crypt = "aes"
		c.block, err = kcp.NewAESBlockCrypt(pass)
	}
	return err
}

// setup applies kcptun's per-session settings.
func (c *config) setup(s *kcp.UDPSession) {
	s.SetStreamMode(c.stream)
	s.SetWriteDelay(false)
	s.SetNoDelay(c.noDelay, c.interval, c.resend, c.noCong)
	s.SetWindowSize(c.sndwnd, c.rcvwnd)
	s.SetMtu(c.mtu)
	s.SetACKNoDelay(c.ackNoDelay)
}

func (c *config) idle() time.Duration { return time.Duration(c.timeout) * time.Second }

func fatalf(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "error: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	sub := os.Args[1]
	fs := flag.NewFlagSet(sub, flag.ExitOnError)
	var cfg config
	cfg.register(fs)
	var listen, remote string
	var nbytes int64
	var conns int
	var seed uint64
	var chunk int
	var hz, requests int
	var seconds, lifetime float64
	var size, block int64
	switch sub {
	case "echo-server", "sink-server", "game-server", "reply-server":
		fs.StringVar(&listen, "listen", "127.0.0.1:0", "UDP address to listen on (port 0 picks one)")
		fs.Float64Var(&lifetime, "lifetime", 0, "exit after this many seconds (0 = never)")
		fs.IntVar(&hz, "hz", 50, "game-server: pings per second")
	case "game-client", "request-client", "bulk-client":
		fs.StringVar(&remote, "remote", "", "server UDP address")
		fs.Float64Var(&seconds, "seconds", 10, "game-client: how long to ping")
		fs.IntVar(&hz, "hz", 50, "game-client: pings per second")
		fs.IntVar(&requests, "requests", 20, "request-client: requests, one at a time")
		fs.Int64Var(&size, "size", 65536, "request-client: bytes per response")
		fs.Int64Var(&nbytes, "bytes", 1<<20, "bulk-client: bytes to deliver")
		fs.Int64Var(&block, "block", 65536, "bulk-client: bytes per sink request")
	case "echo-client", "sink-client":
		fs.StringVar(&remote, "remote", "", "server UDP address")
		fs.Int64Var(&nbytes, "bytes", 1<<20, "bytes to send on each session")
		fs.IntVar(&conns, "conns", 1, "concurrent sessions")
		fs.Uint64Var(&seed, "seed", 1, "payload seed of session 0 (session i uses seed+i)")
		fs.IntVar(&chunk, "chunk", 32768, "bytes per Write call")
	default:
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	fs.Parse(os.Args[2:])
	if fs.NArg() != 0 {
		fatalf("unexpected arguments %q", fs.Args())
	}
	if err := cfg.finish(); err != nil {
		fatalf("crypt %s: %v", cfg.crypt, err)
	}
	if lifetime > 0 {
		time.AfterFunc(time.Duration(lifetime*float64(time.Second)), func() { os.Exit(0) })
	}
	if remote == "" && (sub == "game-client" || sub == "request-client" || sub == "bulk-client") {
		fatalf("-remote is required")
	}
	switch sub {
	case "game-server":
		serve(&cfg, listen, handleGame(hz))
	case "reply-server":
		serve(&cfg, listen, handleReply)
	case "game-client":
		gameClient(&cfg, remote, seconds, hz)
	case "request-client":
		if requests < 1 || size < 1 || size > 1<<30 {
			fatalf("need -requests >= 1 and 1 <= -size <= 2^30")
		}
		requestClient(&cfg, remote, requests, size)
	case "bulk-client":
		if nbytes < 1 {
			fatalf("need -bytes >= 1")
		}
		bulkClient(&cfg, remote, nbytes, block)
	case "echo-server":
		serve(&cfg, listen, handleEcho)
	case "sink-server":
		serve(&cfg, listen, handleSink)
	case "echo-client", "sink-client":
		if remote == "" {
			fatalf("-remote is required")
		}
		if nbytes < 0 || conns < 1 || chunk < 1 {
			fatalf("need -bytes >= 0, -conns >= 1, -chunk >= 1")
		}
		run := echoSession
		if sub == "sink-client" {
			run = sinkSession
		}
		client(&cfg, remote, conns, nbytes, seed, chunk, run)
	}
}

// ---------------------------------------------------------------------------- servers

// counted wraps a server session, counts its traffic and keeps pushing its deadline out
// while it is active, so a session whose peer went away ends after -timeout seconds.
type counted struct {
	s       *kcp.UDPSession
	idle    time.Duration
	in, out int64
}

func (c *counted) Read(p []byte) (int, error) {
	if c.idle > 0 {
		c.s.SetDeadline(time.Now().Add(c.idle))
	}
	n, err := c.s.Read(p)
	c.in += int64(n)
	return n, err
}

func (c *counted) Write(p []byte) (int, error) {
	n, err := c.s.Write(p)
	c.out += int64(n)
	return n, err
}

func serve(cfg *config, addr string, handle func(*counted, string) error) {
	l, err := kcp.ListenWithOptions(addr, cfg.block, cfg.dataShard, cfg.parityShard)
	if err != nil {
		fatalf("listen %s: %v", addr, err)
	}
	if err := l.SetDSCP(cfg.dscp); err != nil {
		fmt.Fprintln(os.Stderr, "SetDSCP:", err)
	}
	if err := l.SetReadBuffer(cfg.sockbuf); err != nil {
		fmt.Fprintln(os.Stderr, "SetReadBuffer:", err)
	}
	if err := l.SetWriteBuffer(cfg.sockbuf); err != nil {
		fmt.Fprintln(os.Stderr, "SetWriteBuffer:", err)
	}
	// os.Stdout is unbuffered: every line below is one write, so it is visible at once.
	fmt.Printf("listening %s\n", l.Addr())
	for {
		s, err := l.AcceptKCP()
		if err != nil {
			fatalf("accept: %v", err)
		}
		cfg.setup(s)
		tag := fmt.Sprintf("%s conv=%d", s.RemoteAddr(), s.GetConv())
		fmt.Printf("accepted %s\n", tag)
		go func() {
			c := &counted{s: s, idle: cfg.idle()}
			err := handle(c, tag)
			s.Close()
			fmt.Printf("closed %s in=%d out=%d err=%v\n", tag, c.in, c.out, err)
		}()
	}
}

func handleEcho(c *counted, _ string) error {
	buf := make([]byte, 65536)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return err
		}
		if _, err := c.Write(buf[:n]); err != nil {
			return err
		}
	}
}

func handleSink(c *counted, tag string) error {
	buf := make([]byte, 65536)
	var hdr [8]byte
	for {
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			return err
		}
		want := binary.BigEndian.Uint64(hdr[:])
		var got uint64
		for got < want {
			n := uint64(len(buf))
			if want-got < n {
				n = want - got
			}
			m, err := c.Read(buf[:n])
			got += uint64(m)
			if err != nil {
				return err
			}
		}
		binary.BigEndian.PutUint64(hdr[:], got)
		if _, err := c.Write(hdr[:]); err != nil {
			return err
		}
		fmt.Printf("sunk %s bytes=%d\n", tag, got)
	}
}

// ---------------------------------------------------------------------------- clients

// stream is the splitmix64 generator that produces a session's payload.
type stream struct {
	state uint64
	word  [8]byte
	used  int
}

func newStream(seed uint64) *stream { return &stream{state: seed, used: 8} }

func (g *stream) next() uint64 {
	g.state += 0x9e3779b97f4a7c15
	z := g.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// fill writes the next len(p) bytes of the stream into p.
func (g *stream) fill(p []byte) {
	for len(p) > 0 && g.used < 8 {
		p[0] = g.word[g.used]
		p = p[1:]
		g.used++
	}
	for len(p) >= 8 {
		binary.LittleEndian.PutUint64(p, g.next())
		p = p[8:]
	}
	if len(p) > 0 {
		binary.LittleEndian.PutUint64(g.word[:], g.next())
		g.used = copy(p, g.word[:])
	}
}

// writeStream writes n bytes of g to s in chunks of at most chunk bytes.
func writeStream(s *kcp.UDPSession, g *stream, n int64, chunk int) error {
	if int64(chunk) > n {
		chunk = int(n)
	}
	buf := make([]byte, chunk)
	for n > 0 {
		m := int64(len(buf))
		if n < m {
			m = n
		}
		g.fill(buf[:m])
		if _, err := s.Write(buf[:m]); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		n -= m
	}
	return nil
}

func echoSession(s *kcp.UDPSession, n int64, seed uint64, chunk int) error {
	werr := make(chan error, 1)
	go func() { werr <- writeStream(s, newStream(seed), n, chunk) }()

	want := newStream(seed)
	buf := make([]byte, 65536)
	exp := make([]byte, 65536)
	var got int64
	for got < n {
		m, err := s.Read(buf)
		if m > 0 {
			if int64(m) > n-got {
				return fmt.Errorf("echo longer than sent: %d bytes", got+int64(m))
			}
			want.fill(exp[:m])
			if !bytes.Equal(buf[:m], exp[:m]) {
				i := 0
				for buf[i] == exp[i] {
					i++
				}
				return fmt.Errorf("echo differs at offset %d: got %#02x, want %#02x", got+int64(i), buf[i], exp[i])
			}
			got += int64(m)
		}
		if err != nil && got < n {
			return fmt.Errorf("read after %d of %d bytes: %w", got, n, err)
		}
	}
	return <-werr
}

func sinkSession(s *kcp.UDPSession, n int64, seed uint64, chunk int) error {
	var hdr [8]byte
	binary.BigEndian.PutUint64(hdr[:], uint64(n))
	if _, err := s.Write(hdr[:]); err != nil {
		return fmt.Errorf("write header: %w", err)
	}
	if err := writeStream(s, newStream(seed), n, chunk); err != nil {
		return err
	}
	if _, err := io.ReadFull(s, hdr[:]); err != nil {
		return fmt.Errorf("read reply: %w", err)
	}
	if got := binary.BigEndian.Uint64(hdr[:]); got != uint64(n) {
		return fmt.Errorf("server counted %d bytes, sent %d", got, n)
	}
	return nil
}

func client(cfg *config, remote string, conns int, n int64, seed uint64, chunk int,
	run func(*kcp.UDPSession, int64, uint64, int) error) {
	var mu sync.Mutex
	done := 0
	if cfg.timeout > 0 {
		time.AfterFunc(cfg.idle(), func() {
			mu.Lock()
			fatalf("timeout after %ds: %d of %d sessions done", cfg.timeout, done, conns)
		})
	}
	start := time.Now()
	errs := make(chan error, conns)
	for i := 0; i < conns; i++ {
		go func(i int) {
			s, err := kcp.DialWithOptions(remote, cfg.block, cfg.dataShard, cfg.parityShard)
			if err != nil {
				errs <- fmt.Errorf("dial %s: %w", remote, err)
				return
			}
			cfg.setup(s)
			if err := s.SetReadBuffer(cfg.sockbuf); err != nil {
				fmt.Fprintln(os.Stderr, "SetReadBuffer:", err)
			}
			if err := s.SetWriteBuffer(cfg.sockbuf); err != nil {
				fmt.Fprintln(os.Stderr, "SetWriteBuffer:", err)
			}
			if err := s.SetDSCP(cfg.dscp); err != nil {
				fmt.Fprintln(os.Stderr, "SetDSCP:", err)
			}
			err = run(s, n, seed+uint64(i), chunk)
			if err != nil {
				err = fmt.Errorf("session %d (conv=%d): %w", i, s.GetConv(), err)
			}
			s.Close()
			mu.Lock()
			done++
			mu.Unlock()
			errs <- err
		}(i)
	}
	var first error
	for i := 0; i < conns; i++ {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	secs := time.Since(start).Seconds()
	if first != nil {
		mu.Lock()
		fatalf("%v", first)
	}
	total := int64(conns) * n
	snmp := kcp.DefaultSnmp.Copy()
	mu.Lock()
	fmt.Printf("ok conns=%d bytes=%d secs=%.3f mibps=%.2f retrans=%d fecrecovered=%d\n",
		conns, total, secs, float64(total)/secs/(1<<20), snmp.RetransSegs, snmp.FECRecovered)
	os.Exit(0)
}
