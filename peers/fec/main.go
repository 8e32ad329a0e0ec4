// Command fec drives real kcp-go 5.6.1 UDPSessions with FEC over an in-memory
// net.PacketConn, so kcp-rs can cross-check its FEC encoder and decoder against kcp-go's
// own, through kcp-go's exported API only.
//
//	fec send -ds 10 -ps 3 -crypt null -msgs 120 -seed 1 -conv 7 > datagrams
//	    A kcp-go session writes -msgs messages, then keeps retransmitting them (nothing
//	    acknowledges) until kcp-go counts -retrans retransmitted segments; every datagram
//	    it sent is written to stdout as a little-endian u32 length followed by the bytes,
//	    in send order.
//	fec recv -ds 10 -ps 3 -crypt null -msgs 300 -conv 7 < datagrams
//	    Datagrams read from stdin (same framing) are fed, in order, to a kcp-go session as
//	    if received from its peer. Prints one line "msg <hex>" per message the session
//	    delivers, then, once kcp-go has processed every datagram, a line "snmp" with its
//	    FEC counters.
//
// -crypt null passes a nil BlockCrypt (no crypto header); -crypt none uses kcp-go's
// NoneBlockCrypt (16-byte nonce + CRC32 header, no encryption).
//
// Nothing here waits by sleeping. kcp-go's read loop takes one datagram per ReadFrom and
// processes it before the next call, so the count of ReadFrom calls says which datagrams
// are fully processed; UDPSession.Close flushes and writes synchronously, so the record
// is complete when it returns. -timeout only bounds a run that would otherwise hang.
package main

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	kcp "github.com/xtaci/kcp-go/v5"
)

// memAddr is the fixed address of the in-memory peer.
type memAddr struct{}

func (memAddr) Network() string { return "mem" }
func (memAddr) String() string  { return "peer:1" }

// memConn is a net.PacketConn that records what kcp-go sends, hands it datagrams from
// a channel, and counts the calls of its read loop.
type memConn struct {
	mu     sync.Mutex
	read   *sync.Cond // signalled on every ReadFrom call
	reads  int
	sent   [][]byte
	in     chan []byte
	closed chan struct{}
	once   sync.Once
}

func newMemConn() *memConn {
	c := &memConn{in: make(chan []byte, 4096), closed: make(chan struct{})}
	c.read = sync.NewCond(&c.mu)
	return c
}

func (c *memConn) ReadFrom(p []byte) (int, net.Addr, error) {
	c.mu.Lock()
	c.reads++
	c.read.Broadcast()
	c.mu.Unlock()
	select {
	case d := <-c.in:
		return copy(p, d), memAddr{}, nil
	case <-c.closed:
		return 0, nil, errors.New("closed")
	}
}

func (c *memConn) WriteTo(p []byte, _ net.Addr) (int, error) {
	c.mu.Lock()
	c.sent = append(c.sent, append([]byte(nil), p...))
	c.mu.Unlock()
	return len(p), nil
}

// processed blocks until kcp-go has processed the first n datagrams handed to it: its
// read loop has come back for datagram n+1.
func (c *memConn) processed(n int) {
	c.mu.Lock()
	for c.reads < n+1 {
		c.read.Wait()
	}
	c.mu.Unlock()
}

func (c *memConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

func (c *memConn) LocalAddr() net.Addr              { return memAddr{} }
func (c *memConn) SetDeadline(time.Time) error      { return nil }
func (c *memConn) SetReadDeadline(time.Time) error  { return nil }
func (c *memConn) SetWriteDeadline(time.Time) error { return nil }

func block(name string) kcp.BlockCrypt {
	switch name {
	case "null":
		return nil
	case "none":
		b, err := kcp.NewNoneBlockCrypt(nil)
		if err != nil {
			fail(err)
		}
		return b
	}
	fail(fmt.Errorf("unknown -crypt %q (null or none)", name))
	return nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "fec:", err)
	os.Exit(1)
}

// deadline fails the program if it is still running after d: a bound, not a wait.
func deadline(d time.Duration, what string) *time.Timer {
	return time.AfterFunc(d, func() { fail(fmt.Errorf("timed out after %v %s", d, what)) })
}

func main() {
	if len(os.Args) < 2 {
		fail(errors.New("usage: fec send|recv [flags]"))
	}
	mode := os.Args[1]
	fs := flag.NewFlagSet(mode, flag.ExitOnError)
	ds := fs.Int("ds", 10, "data shards")
	ps := fs.Int("ps", 3, "parity shards")
	crypt := fs.String("crypt", "null", "null or none")
	msgs := fs.Int("msgs", 120, "messages to send, or to wait for")
	seed := fs.Int64("seed", 1, "seed for message sizes (send)")
	conv := fs.Uint("conv", 7, "KCP conversation id")
	retrans := fs.Uint64("retrans", 240, "retransmitted segments to wait for before closing (send)")
	timeout := fs.Duration("timeout", 20*time.Second, "upper bound of a run")
	if err := fs.Parse(os.Args[2:]); err != nil {
		fail(err)
	}
	conn := newMemConn()
	sess, err := kcp.NewConn3(uint32(*conv), memAddr{}, block(*crypt), *ds, *ps, conn)
	if err != nil {
		fail(err)
	}
	sess.SetNoDelay(1, 10, 2, 1)
	sess.SetWindowSize(1024, 1024)

	defer deadline(*timeout, mode).Stop()
	switch mode {
	case "send":
		send(sess, conn, *msgs, *seed, *retrans, uint32(*conv), *crypt != "null")
	case "recv":
		recv(sess, conn, *msgs, *timeout)
	default:
		fail(fmt.Errorf("unknown mode %q", mode))
	}
}

// send writes messages of varied sizes, one segment each, so that every Write flushes
// one datagram; unacknowledged segments are retransmitted (packed together) until kcp-go
// has counted `retrans` retransmissions, which varies the datagram sizes further.
func send(sess *kcp.UDPSession, conn *memConn, msgs int, seed int64, retrans uint64, conv uint32, crypted bool) {
	// The peer never acknowledges, so first announce a receive window of 1024 with a bare
	// KCP window-size segment (cmd 84), or kcp-go would stop after 32 segments in flight.
	wins := make([]byte, 24)
	binary.LittleEndian.PutUint32(wins, conv)
	wins[4] = 84
	binary.LittleEndian.PutUint16(wins[6:], 1024)
	if crypted {
		// NoneBlockCrypt framing: nonce (any bytes), CRC32-IEEE of the rest, no encryption.
		framed := make([]byte, 20+len(wins))
		copy(framed[20:], wins)
		binary.LittleEndian.PutUint32(framed[16:], crc32.ChecksumIEEE(wins))
		wins = framed
	}
	conn.in <- wins
	conn.processed(1)

	rng := rand.New(rand.NewSource(seed))
	for i := 0; i < msgs; i++ {
		msg := make([]byte, 1+rng.Intn(1200))
		binary.LittleEndian.PutUint32(msg, uint32(i))
		for j := 4; j < len(msg); j++ {
			msg[j] = byte(rng.Intn(256))
		}
		sess.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := sess.Write(msg); err != nil {
			fail(err)
		}
	}
	// Retransmissions come from kcp-go's own timer; poll its counter until enough went out.
	tick := time.NewTicker(time.Millisecond)
	for atomic.LoadUint64(&kcp.DefaultSnmp.RetransSegs) < retrans {
		<-tick.C
	}
	tick.Stop()
	// Close flushes and writes under the session lock and releases the send buffer, so
	// nothing is written after it returns.
	sess.Close()
	conn.Close()

	conn.mu.Lock()
	defer conn.mu.Unlock()
	out := bufio.NewWriter(os.Stdout)
	var n [4]byte
	for _, d := range conn.sent {
		binary.LittleEndian.PutUint32(n[:], uint32(len(d)))
		out.Write(n[:])
		out.Write(d)
	}
	if err := out.Flush(); err != nil {
		fail(err)
	}
}

// recv feeds the datagrams from stdin to the session and prints what it delivers.
func recv(sess *kcp.UDPSession, conn *memConn, msgs int, timeout time.Duration) {
	in := bufio.NewReader(os.Stdin)
	fed := make(chan int, 1)
	go func() {
		var n [4]byte
		count := 0
		for {
			if _, err := io.ReadFull(in, n[:]); err != nil {
				fed <- count // EOF: nothing more to deliver; ReadFrom keeps blocking.
				return
			}
			d := make([]byte, binary.LittleEndian.Uint32(n[:]))
			if _, err := io.ReadFull(in, d); err != nil {
				fail(err)
			}
			conn.in <- d
			count++
		}
	}()

	out := bufio.NewWriter(os.Stdout)
	// Half the run's bound, so a stall is reported with the messages that did arrive.
	sess.SetReadDeadline(time.Now().Add(timeout / 2))
	buf := make([]byte, 65536)
	got := 0
	for got < msgs {
		n, err := sess.Read(buf)
		if err != nil {
			fmt.Fprintln(os.Stderr, "fec: read:", err)
			break
		}
		fmt.Fprintf(out, "msg %s\n", hex.EncodeToString(buf[:n]))
		got++
	}
	// Datagrams after the last message (parity, duplicates) still count: wait until kcp-go
	// has processed every one.
	conn.processed(<-fed)
	s := kcp.DefaultSnmp.Copy()
	fmt.Fprintf(out, "snmp FECRecovered=%d FECErrs=%d FECParityShards=%d FECShortShards=%d KCPInErrors=%d InErrs=%d InCsumErrors=%d\n",
		s.FECRecovered, s.FECErrs, s.FECParityShards, s.FECShortShards, s.KCPInErrors, s.InErrs, s.InCsumErrors)
	if err := out.Flush(); err != nil {
		fail(err)
	}
	sess.Close()
	conn.Close()
}
