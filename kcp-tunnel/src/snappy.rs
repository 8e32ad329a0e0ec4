//! kcptun's compression layer: the snappy framing format (golang/snappy's `Writer` and
//! `Reader`), between smux and KCP unless `--nocomp`.
//!
//! The stream starts with the identifier chunk `FF 06 00 00 73 4E 61 50 70 59`; then each
//! chunk is `type u8 | length u24 LE | masked CRC-32C u32 LE | data`, type 0x00 for
//! compressed and 0x01 for stored data, at most 65,536 bytes before compression. The
//! `snap` crate's frame encoder and decoder write and read exactly this; here they are
//! driven from async code: [`Compressor`] turns a batch of smux frames into chunks, and
//! [`SnappyReader`] decodes chunks as they arrive.

use std::io::{self, Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, ReadBuf};

/// The largest chunk body the decoder accepts: a compressed 64 KiB block plus its
/// checksum (snappy's `MaxEncodedLen(65536) + 4`). Larger length fields are refused before
/// anything is buffered.
const MAX_CHUNK: usize = 32 + 65_536 + 65_536 / 6 + 4;

/// Compresses what smux writes into snappy frames; kcptun flushes after every write, so
/// each batch becomes complete chunks at once.
pub struct Compressor {
    encoder: snap::write::FrameEncoder<Vec<u8>>,
}

impl Default for Compressor {
    fn default() -> Self {
        Compressor::new()
    }
}

impl Compressor {
    /// A compressor whose first output starts with the stream identifier chunk.
    pub fn new() -> Compressor {
        Compressor {
            encoder: snap::write::FrameEncoder::new(Vec::with_capacity(80 << 10)),
        }
    }

    /// The chunks for `data` (the stream identifier first, on the first call). The slice
    /// is valid until the next call.
    pub fn compress(&mut self, data: &[u8]) -> io::Result<&[u8]> {
        self.encoder.get_mut().clear();
        self.encoder.write_all(data)?;
        self.encoder.flush()?;
        Ok(self.encoder.get_ref())
    }
}

/// Bytes read from the transport. The decoder reads only `start..end`, the whole chunks;
/// reading past them reports a clean end, so the decoder stops between chunks and
/// resumes when more arrive. `end..len` is the start of a chunk still arriving.
struct Feed {
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    len: usize,
}

impl Read for Feed {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = out.len().min(self.end - self.start);
        out[..n].copy_from_slice(&self.buf[self.start..self.start + n]);
        self.start += n;
        Ok(n)
    }
}

impl Feed {
    /// Extends `end` over the whole chunks received; false if there is none to add.
    fn whole_chunks(&mut self) -> io::Result<bool> {
        let before = self.end;
        while self.len - self.end >= 4 {
            let h = &self.buf[self.end..self.end + 4];
            let len = usize::from(h[1]) | usize::from(h[2]) << 8 | usize::from(h[3]) << 16;
            if len > MAX_CHUNK {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("snappy chunk of {len} bytes"),
                ));
            }
            if self.len - self.end - 4 < len {
                break;
            }
            self.end += 4 + len;
        }
        Ok(self.end > before)
    }

    /// Room to read into, after moving the unread bytes to the front if needed.
    fn space(&mut self) -> &mut [u8] {
        if self.start > 0 && self.buf.len() - self.len < MAX_CHUNK {
            self.buf.copy_within(self.start..self.len, 0);
            self.end -= self.start;
            self.len -= self.start;
            self.start = 0;
        }
        &mut self.buf[self.len..]
    }
}

/// Decodes a snappy framing stream read from `R`: an [`AsyncRead`] of the original bytes.
/// A corrupt stream (bad identifier, checksum, length or chunk type) reads as an
/// [`io::ErrorKind::InvalidData`] error; a stream that ends inside a chunk as
/// [`io::ErrorKind::UnexpectedEof`]. Memory: one buffer of two maximal chunks.
pub struct SnappyReader<R> {
    inner: R,
    decoder: snap::read::FrameDecoder<Feed>,
    eof: bool,
}

impl<R: AsyncRead + Unpin> SnappyReader<R> {
    /// Decodes what `inner` yields.
    pub fn new(inner: R) -> SnappyReader<R> {
        let feed = Feed {
            buf: vec![0; 2 * (MAX_CHUNK + 4)].into_boxed_slice(),
            start: 0,
            end: 0,
            len: 0,
        };
        SnappyReader {
            inner,
            decoder: snap::read::FrameDecoder::new(feed),
            eof: false,
        }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for SnappyReader<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        loop {
            let n = this
                .decoder
                .read(buf.initialize_unfilled())
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            if n > 0 {
                buf.advance(n);
                return Poll::Ready(Ok(()));
            }
            let feed = this.decoder.get_mut();
            if feed.whole_chunks()? {
                continue;
            }
            if this.eof {
                return Poll::Ready(if feed.len == feed.end {
                    Ok(())
                } else {
                    Err(io::ErrorKind::UnexpectedEof.into())
                });
            }
            let mut rb = ReadBuf::new(feed.space());
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut rb))?;
            let got = rb.filled().len();
            feed.len += got;
            if got == 0 {
                this.eof = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    /// Writes `data` through a compressor in `batches` and reads it back through a
    /// reader that receives the bytes in `piece`-sized reads.
    async fn round_trip(data: &[u8], batch: usize, piece: usize) -> Vec<u8> {
        let mut c = Compressor::new();
        let mut wire = Vec::new();
        for b in data.chunks(batch) {
            wire.extend_from_slice(c.compress(b).unwrap());
        }
        assert_eq!(&wire[..10], b"\xff\x06\x00\x00sNaPpY");
        let (mut tx, rx) = tokio::io::duplex(piece);
        let writer = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            for p in wire.chunks(piece) {
                tx.write_all(p).await.unwrap();
            }
        });
        let mut out = Vec::new();
        SnappyReader::new(rx).read_to_end(&mut out).await.unwrap();
        writer.await.unwrap();
        out
    }

    #[tokio::test]
    async fn chunks_survive_any_split() {
        let mut data = vec![0u8; 300_000];
        let mut x = 1u32;
        for (i, b) in data.iter_mut().enumerate() {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            // Half compressible, half random.
            *b = if (i / 50_000) % 2 == 0 {
                (i % 7) as u8
            } else {
                (x >> 24) as u8
            };
        }
        for (batch, piece) in [(100_000, 7), (8, 4096), (70_000, 65_536)] {
            assert_eq!(round_trip(&data, batch, piece).await, data);
        }
    }

    #[tokio::test]
    async fn corrupt_streams_are_errors() {
        let mut c = Compressor::new();
        let good = c.compress(b"hello hello hello hello").unwrap().to_vec();
        let read = |bytes: Vec<u8>| async move {
            let mut out = Vec::new();
            SnappyReader::new(&bytes[..])
                .read_to_end(&mut out)
                .await
                .map(|_| out)
        };
        assert_eq!(
            read(good.clone()).await.unwrap(),
            b"hello hello hello hello"
        );
        // No stream identifier.
        let e = read(good[10..].to_vec()).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        // A flipped data byte fails the checksum.
        let mut bad = good.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert_eq!(
            read(bad).await.unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
        // Cut inside a chunk.
        let e = read(good[..good.len() - 2].to_vec()).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        // A 16 MiB length field is refused without waiting for the bytes.
        let mut huge = good[..10].to_vec();
        huge.extend_from_slice(&[0x01, 0xff, 0xff, 0xff]);
        assert_eq!(
            read(huge).await.unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
        // Reserved unskippable chunk type.
        let mut reserved = good[..10].to_vec();
        reserved.extend_from_slice(&[0x02, 0, 0, 0]);
        assert_eq!(
            read(reserved).await.unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
    }
}
