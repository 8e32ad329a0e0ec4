// The workloads of the latency study (the study example of kcp-examples), so that kcp-go
// 5.6.1 runs exactly what kcp-rs and TCP run there, over the same emulated link:
//
//	session game-server -listen ADDR [-hz 50] [flags]
//	session game-client -remote ADDR [-seconds S] [-hz 50] [flags]
//	session reply-server -listen ADDR [flags]
//	session request-client -remote ADDR [-requests N] [-size L] [flags]
//	session bulk-client -remote ADDR -bytes N [-block B] [flags]   (against sink-server)
//
// Game: both ends send a 32-byte frame at -hz, PING (kind 1) with a sequence number and
// the sender's clock in microseconds; the other end answers each with a PONG (kind 2)
// carrying the same fields, and the sender records the round trip. After -seconds the
// client sends STOP (kind 3); the server stops pinging, waits for its last PONGs, and
// sends its own round trips back in REPORT frames (kind 4: a count n <= 6 at bytes 4..8,
// then n big-endian u32 microsecond values) followed by END (kind 5: the total at bytes
// 4..8). Frame layout: kind (1 byte), 3 zero bytes, u32 sequence or count, u64 stamp or
// samples, zero padding to 32 bytes; integers big-endian.
//
// Request/response: the client sends an 8-byte big-endian length L and reads L bytes
// (request i of a session answers with splitmix64 stream i), one request at a time,
// timing each from the write of its request to the last byte of its response.
//
// Bulk: sink-server's protocol, pipelined: the client writes -bytes in requests of
// -block bytes without waiting and reads the 8-byte replies as they come; delivered
// bytes are those the server has confirmed.
//
// Clients print their measurements on stdout, then "ok" or "incomplete <why>":
//
//	rtt client <us> <us> ...     game: the client's round trips, in microseconds
//	rtt server <us> ...          game: the server's, from its REPORT frames
//	times <us> ...               request/response completion times
//	pending <us> ...             requests or pings still unanswered at the time limit
//	                             (how long they had waited)
//	bulk bytes=<n> secs=<s>      bytes confirmed, seconds to the last confirmation
//
// On a time limit (-timeout) they print what they have and exit with status 1.

package main

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	kcp "github.com/xtaci/kcp-go/v5"
)

const (
	frameLen      = 32
	kindPing      = 1
	kindPong      = 2
	kindStop      = 3
	kindReport    = 4
	kindEnd       = 5
	reportSamples = 6
)

// gameSide is one end of the game workload: it pings, answers pings, and keeps the round
// trips of its own pings.
type gameSide struct {
	w     io.Writer
	wmu   sync.Mutex
	start time.Time

	mu      sync.Mutex
	seq     uint32
	pending map[uint32]uint64 // seq -> stamp of unanswered pings
	rtts    []uint32
}

func newGameSide(w io.Writer) *gameSide {
	return &gameSide{w: w, start: time.Now(), pending: make(map[uint32]uint64)}
}

func (g *gameSide) micros() uint64 { return uint64(time.Since(g.start).Microseconds()) }

func (g *gameSide) write(kind byte, n uint32, stamp uint64) error {
	var f [frameLen]byte
	f[0] = kind
	binary.BigEndian.PutUint32(f[4:], n)
	binary.BigEndian.PutUint64(f[8:], stamp)
	g.wmu.Lock()
	defer g.wmu.Unlock()
	_, err := g.w.Write(f[:])
	return err
}

func (g *gameSide) ping() error {
	g.mu.Lock()
	seq, stamp := g.seq, g.micros()
	g.seq++
	g.pending[seq] = stamp
	g.mu.Unlock()
	return g.write(kindPing, seq, stamp)
}

// handle answers a PING or records a PONG; it returns the frame's kind.
func (g *gameSide) handle(f []byte) (byte, error) {
	seq := binary.BigEndian.Uint32(f[4:])
	stamp := binary.BigEndian.Uint64(f[8:])
	switch f[0] {
	case kindPing:
		return kindPing, g.write(kindPong, seq, stamp)
	case kindPong:
		now := g.micros()
		g.mu.Lock()
		defer g.mu.Unlock()
		if _, ok := g.pending[seq]; !ok {
			return 0, fmt.Errorf("pong for unknown ping %d", seq)
		}
		delete(g.pending, seq)
		g.rtts = append(g.rtts, uint32(now-stamp))
		return kindPong, nil
	}
	return f[0], nil
}

func (g *gameSide) outstanding() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.pending)
}

// waits returns how long each unanswered ping has waited, in microseconds.
func (g *gameSide) waits() []uint32 {
	now := g.micros()
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []uint32
	for _, stamp := range g.pending {
		out = append(out, uint32(now-stamp))
	}
	return out
}

func (g *gameSide) samples() []uint32 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]uint32(nil), g.rtts...)
}

func period(hz int) time.Duration {
	if hz < 1 {
		hz = 1
	}
	return time.Second / time.Duration(hz)
}

func handleGame(hz int) func(*counted, string) error {
	return func(c *counted, _ string) error {
		g := newGameSide(c)
		stop := make(chan struct{})
		errs := make(chan error, 1)
		go func() {
			f := make([]byte, frameLen)
			for {
				if _, err := io.ReadFull(c, f); err != nil {
					errs <- err
					return
				}
				kind, err := g.handle(f)
				if err != nil {
					errs <- err
					return
				}
				if kind == kindStop {
					close(stop)
				}
			}
		}()
		tick := time.NewTicker(period(hz))
		defer tick.Stop()
	pinging:
		for {
			select {
			case <-tick.C:
				if err := g.ping(); err != nil {
					return err
				}
			case <-stop:
				break pinging
			case err := <-errs:
				return err
			}
		}
		for g.outstanding() > 0 {
			select {
			case err := <-errs:
				return err
			case <-time.After(2 * time.Millisecond):
			}
		}
		rtts := g.samples()
		for i := 0; i < len(rtts); i += reportSamples {
			var f [frameLen]byte
			chunk := rtts[i:]
			if len(chunk) > reportSamples {
				chunk = chunk[:reportSamples]
			}
			f[0] = kindReport
			binary.BigEndian.PutUint32(f[4:], uint32(len(chunk)))
			for j, v := range chunk {
				binary.BigEndian.PutUint32(f[8+4*j:], v)
			}
			g.wmu.Lock()
			_, err := c.Write(f[:])
			g.wmu.Unlock()
			if err != nil {
				return err
			}
		}
		if err := g.write(kindEnd, uint32(len(rtts)), 0); err != nil {
			return err
		}
		return <-errs
	}
}

func printSamples(label string, v []uint32) {
	var b strings.Builder
	b.WriteString(label)
	for _, x := range v {
		fmt.Fprintf(&b, " %d", x)
	}
	fmt.Println(b.String())
}

// limit ends the process with status 1 after -timeout seconds, printing what report()
// returns first.
func limit(cfg *config, report func()) {
	if cfg.timeout <= 0 {
		return
	}
	time.AfterFunc(cfg.idle(), func() {
		report()
		fmt.Printf("incomplete timeout after %ds\n", cfg.timeout)
		os.Exit(1)
	})
}

func dial(cfg *config, remote string) *kcp.UDPSession {
	s, err := kcp.DialWithOptions(remote, cfg.block, cfg.dataShard, cfg.parityShard)
	if err != nil {
		fatalf("dial %s: %v", remote, err)
	}
	cfg.setup(s)
	if err := s.SetReadBuffer(cfg.sockbuf); err != nil {
		fmt.Fprintln(os.Stderr, "SetReadBuffer:", err)
	}
	if err := s.SetWriteBuffer(cfg.sockbuf); err != nil {
		fmt.Fprintln(os.Stderr, "SetWriteBuffer:", err)
	}
	return s
}

func gameClient(cfg *config, remote string, seconds float64, hz int) {
	s := dial(cfg, remote)
	g := newGameSide(s)
	var mu sync.Mutex
	var server []uint32
	limit(cfg, func() {
		mu.Lock()
		defer mu.Unlock()
		printSamples("rtt client", g.samples())
		printSamples("rtt server", server)
		printSamples("pending", g.waits())
	})
	end := make(chan uint32, 1)
	errs := make(chan error, 1)
	go func() {
		f := make([]byte, frameLen)
		for {
			if _, err := io.ReadFull(s, f); err != nil {
				errs <- err
				return
			}
			kind, err := g.handle(f)
			if err != nil {
				errs <- err
				return
			}
			switch kind {
			case kindReport:
				n := int(binary.BigEndian.Uint32(f[4:]))
				if n > reportSamples {
					errs <- fmt.Errorf("report of %d samples", n)
					return
				}
				mu.Lock()
				for j := 0; j < n; j++ {
					server = append(server, binary.BigEndian.Uint32(f[8+4*j:]))
				}
				mu.Unlock()
			case kindEnd:
				end <- binary.BigEndian.Uint32(f[4:])
				return
			}
		}
	}()
	tick := time.NewTicker(period(hz))
	deadline := time.Now().Add(time.Duration(seconds * float64(time.Second)))
	for time.Now().Before(deadline) {
		select {
		case <-tick.C:
			if err := g.ping(); err != nil {
				fatalf("ping: %v", err)
			}
		case err := <-errs:
			fatalf("read: %v", err)
		}
	}
	tick.Stop()
	if err := g.write(kindStop, 0, 0); err != nil {
		fatalf("stop: %v", err)
	}
	select {
	case total := <-end:
		mu.Lock()
		defer mu.Unlock()
		if int(total) != len(server) {
			fatalf("server reported %d of %d round trips", len(server), total)
		}
		if n := g.outstanding(); n != 0 {
			fatalf("%d pings unanswered at the end", n)
		}
		printSamples("rtt client", g.samples())
		printSamples("rtt server", server)
		fmt.Println("ok")
		os.Exit(0)
	case err := <-errs:
		fatalf("read: %v", err)
	}
}

func handleReply(c *counted, _ string) error {
	var hdr [8]byte
	for i := uint64(0); ; i++ {
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			return err
		}
		n := binary.BigEndian.Uint64(hdr[:])
		if n > 1<<30 {
			return fmt.Errorf("request for %d bytes", n)
		}
		if err := writeStream(c.s, newStream(i), int64(n), 65536); err != nil {
			return err
		}
		c.out += int64(n)
	}
}

func requestClient(cfg *config, remote string, requests int, size int64) {
	s := dial(cfg, remote)
	var mu sync.Mutex
	var times []uint32
	var started time.Time
	limit(cfg, func() {
		mu.Lock()
		defer mu.Unlock()
		printSamples("times", times)
		printSamples("pending", []uint32{uint32(time.Since(started).Microseconds())})
	})
	buf := make([]byte, size)
	exp := make([]byte, size)
	var hdr [8]byte
	binary.BigEndian.PutUint64(hdr[:], uint64(size))
	for i := 0; i < requests; i++ {
		mu.Lock()
		started = time.Now()
		mu.Unlock()
		if _, err := s.Write(hdr[:]); err != nil {
			fatalf("request %d: %v", i, err)
		}
		if _, err := io.ReadFull(s, buf); err != nil {
			fatalf("response %d: %v", i, err)
		}
		took := time.Since(started)
		newStream(uint64(i)).fill(exp)
		if string(buf) != string(exp) {
			fatalf("response %d differs from what was expected", i)
		}
		mu.Lock()
		times = append(times, uint32(took.Microseconds()))
		mu.Unlock()
	}
	mu.Lock()
	printSamples("times", times)
	fmt.Println("ok")
	os.Exit(0)
}

func bulkClient(cfg *config, remote string, total, block int64) {
	if block < 1 {
		block = 65536
	}
	s := dial(cfg, remote)
	start := time.Now()
	var mu sync.Mutex
	var confirmed int64
	var last time.Duration
	report := func() {
		fmt.Printf("bulk bytes=%d secs=%.3f\n", confirmed, last.Seconds())
	}
	limit(cfg, func() {
		mu.Lock()
		defer mu.Unlock()
		report()
	})
	go func() {
		g := newStream(1)
		var hdr [8]byte
		for left := total; left > 0; {
			n := block
			if left < n {
				n = left
			}
			binary.BigEndian.PutUint64(hdr[:], uint64(n))
			if _, err := s.Write(hdr[:]); err != nil {
				fatalf("write: %v", err)
			}
			if err := writeStream(s, g, n, int(n)); err != nil {
				fatalf("%v", err)
			}
			left -= n
		}
	}()
	var hdr [8]byte
	for {
		mu.Lock()
		done := confirmed >= total
		mu.Unlock()
		if done {
			break
		}
		if _, err := io.ReadFull(s, hdr[:]); err != nil {
			fatalf("read reply: %v", err)
		}
		mu.Lock()
		confirmed += int64(binary.BigEndian.Uint64(hdr[:]))
		last = time.Since(start)
		mu.Unlock()
	}
	mu.Lock()
	report()
	fmt.Println("ok")
	os.Exit(0)
}
