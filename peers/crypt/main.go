// Command crypt is the kcp-go side of kcp-crypt's interoperability test.
//
// It frames datagrams exactly as kcp-go 5.6.1's UDPSession does (sess.go: output() and
// packetInput()): a 16-byte random nonce, the little-endian CRC32-IEEE of bytes 20.. at
// 16..20, then BlockCrypt.Encrypt over the whole datagram; and the reverse on receipt.
// Cipher names map to kcp-go constructors and key slices as kcptun 20210922 maps its
// --crypt flag, including its fallback to "aes" for names it does not know (so
// "aes-128-gcm" here is AES-256-CFB, as a kcptun of that era would run it). "null" is
// kcp-go without a BlockCrypt.
//
// Protocol: one request per line on stdin, one reply per line on stdout, in order.
//
//	seal NAME HEX      -> ok HEX        the sealed datagram of payload HEX
//	open NAME HEX      -> ok HEX        the payload of datagram HEX
//	                   -> err short     kcp-go would drop it: shorter than the header
//	                   -> err checksum  kcp-go would count InCsumErrors and drop it
//	encrypt NAME HEX   -> ok HEX        BlockCrypt.Encrypt of HEX alone (no framing)
//
// "-" stands for an empty HEX. The key is PBKDF2-HMAC-SHA1(-key, "kcp-go", 4096, 32), as
// kcptun derives it.
package main

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"log"
	"os"
	"strings"

	kcp "github.com/xtaci/kcp-go/v5"
	"golang.org/x/crypto/pbkdf2"
)

const (
	nonceSize       = 16
	crcSize         = 4
	cryptHeaderSize = nonceSize + crcSize
)

// newBlock builds the BlockCrypt kcptun 20210922 builds for a --crypt name (nil for null).
func newBlock(name string, pass []byte) (kcp.BlockCrypt, error) {
	switch name {
	case "null":
		return nil, nil
	case "sm4":
		return kcp.NewSM4BlockCrypt(pass[:16])
	case "tea":
		return kcp.NewTEABlockCrypt(pass[:16])
	case "xor":
		return kcp.NewSimpleXORBlockCrypt(pass)
	case "none":
		return kcp.NewNoneBlockCrypt(pass)
	case "aes-128":
		return kcp.NewAESBlockCrypt(pass[:16])
	case "aes-192":
		return kcp.NewAESBlockCrypt(pass[:24])
	case "blowfish":
		return kcp.NewBlowfishBlockCrypt(pass)
	case "twofish":
		return kcp.NewTwofishBlockCrypt(pass)
	case "cast5":
		return kcp.NewCast5BlockCrypt(pass[:16])
	case "3des":
		return kcp.NewTripleDESBlockCrypt(pass[:24])
	case "xtea":
		return kcp.NewXTEABlockCrypt(pass[:16])
	case "salsa20":
		return kcp.NewSalsa20BlockCrypt(pass)
	default:
		return kcp.NewAESBlockCrypt(pass)
	}
}

// seal frames payload as UDPSession.output does.
func seal(block kcp.BlockCrypt, payload []byte) []byte {
	if block == nil {
		return append([]byte(nil), payload...)
	}
	buf := make([]byte, cryptHeaderSize+len(payload))
	copy(buf[cryptHeaderSize:], payload)
	if _, err := io.ReadFull(rand.Reader, buf[:nonceSize]); err != nil {
		log.Fatal(err)
	}
	checksum := crc32.ChecksumIEEE(buf[cryptHeaderSize:])
	binary.LittleEndian.PutUint32(buf[nonceSize:], checksum)
	block.Encrypt(buf, buf)
	return buf
}

// open unframes data as UDPSession.packetInput does.
func open(block kcp.BlockCrypt, data []byte) ([]byte, string) {
	if block == nil {
		return data, ""
	}
	if len(data) < cryptHeaderSize {
		return nil, "short"
	}
	block.Decrypt(data, data)
	data = data[nonceSize:]
	checksum := crc32.ChecksumIEEE(data[crcSize:])
	if checksum != binary.LittleEndian.Uint32(data) {
		return nil, "checksum"
	}
	return data[crcSize:], ""
}

func decodeHex(s string) []byte {
	if s == "-" {
		return []byte{}
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		log.Fatalf("bad hex: %v", err)
	}
	return b
}

func encodeHex(b []byte) string {
	if len(b) == 0 {
		return "-"
	}
	return hex.EncodeToString(b)
}

func main() {
	key := flag.String("key", "it's a secrect", "kcptun --key passphrase")
	flag.Parse()
	pass := pbkdf2.Key([]byte(*key), []byte("kcp-go"), 4096, 32, sha1.New)

	blocks := map[string]kcp.BlockCrypt{}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()

	for in.Scan() {
		fields := strings.Fields(in.Text())
		if len(fields) != 3 {
			log.Fatalf("bad request %q", in.Text())
		}
		cmd, name, data := fields[0], fields[1], decodeHex(fields[2])
		block, ok := blocks[name]
		if !ok {
			var err error
			if block, err = newBlock(name, pass); err != nil {
				log.Fatalf("%s: %v", name, err)
			}
			blocks[name] = block
		}
		switch cmd {
		case "seal":
			fmt.Fprintf(out, "ok %s\n", encodeHex(seal(block, data)))
		case "open":
			if payload, fail := open(block, data); fail != "" {
				fmt.Fprintf(out, "err %s\n", fail)
			} else {
				fmt.Fprintf(out, "ok %s\n", encodeHex(payload))
			}
		case "encrypt":
			if block != nil {
				block.Encrypt(data, data)
			}
			fmt.Fprintf(out, "ok %s\n", encodeHex(data))
		default:
			log.Fatalf("unknown command %q", cmd)
		}
	}
	if err := in.Err(); err != nil {
		log.Fatal(err)
	}
}
