//! One connection type for every socket a node speaks on: client
//! connections, the sync sessions it serves, and the slave's link to its
//! master. A [`Connection`] is a TCP stream with its read buffer and its
//! output buffer; it frames what it reads with any [`Decoder`] (client
//! requests, replies, sync events) and writes what was put in its output.
//! The stream is plain TCP or TLS over TCP (rustls), alike above this
//! module.
//! It splits into its two parts, a [`FrameReader`] and a [`FrameWriter`],
//! for a task that reads and writes at once (a sync session: a sender and
//! an ack reader under one `select!`).
//!
//! Limits: the read buffer grows with what arrives and stops reading past
//! a bound the caller gives ([`FrameReader::fill_below`]); decoders bound
//! frames; writes can be bounded in time ([`FrameWriter::flush_within`]),
//! so a peer that never reads cannot hold a task forever.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::BytesMut;
use rocksync_protocol::Reply;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf, ReadHalf, WriteHalf};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio_rustls::TlsStream;
use tokio_util::codec::Decoder;

/// A stream's reading side: TCP or TLS.
#[derive(Debug)]
enum ReadSide {
    Tcp(OwnedReadHalf),
    Tls(ReadHalf<TlsStream<TcpStream>>),
}

/// A stream's writing side.
#[derive(Debug)]
enum WriteSide {
    Tcp(OwnedWriteHalf),
    Tls(WriteHalf<TlsStream<TcpStream>>),
}

impl AsyncRead for ReadSide {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ReadSide::Tcp(r) => Pin::new(r).poll_read(cx, buf),
            ReadSide::Tls(r) => Pin::new(r).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for WriteSide {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            WriteSide::Tcp(w) => Pin::new(w).poll_write(cx, buf),
            WriteSide::Tls(w) => Pin::new(w).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WriteSide::Tcp(w) => Pin::new(w).poll_flush(cx),
            WriteSide::Tls(w) => Pin::new(w).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WriteSide::Tcp(w) => Pin::new(w).poll_shutdown(cx),
            WriteSide::Tls(w) => Pin::new(w).poll_shutdown(cx),
        }
    }
}

/// How long a connection's last reply may take to go out.
pub const LAST_WORDS: Duration = Duration::from_secs(5);

/// A read buffer's initial capacity.
const READ_CAPACITY: usize = 16 * 1024;

/// What a read of a frame ended with, other than a frame.
#[derive(Debug, thiserror::Error)]
pub enum ReadError<E> {
    /// The peer closed the connection.
    #[error("connection closed")]
    Closed,
    /// The socket failed.
    #[error("read failed: {0}")]
    Io(io::Error),
    /// The bytes are not a frame (the connection must be closed: the
    /// buffer's position is then unspecified).
    #[error("{0}")]
    Decode(E),
}

/// The reading half: the socket and the bytes read but not yet framed.
#[derive(Debug)]
pub struct FrameReader {
    io: ReadSide,
    buf: BytesMut,
}

impl FrameReader {
    /// The next whole frame among the bytes already read, if any.
    ///
    /// # Errors
    /// The decoder's, for bytes that are not a frame.
    pub fn frame<D: Decoder>(&mut self, d: &mut D) -> Result<Option<D::Item>, D::Error> {
        d.decode(&mut self.buf)
    }

    /// Read what the socket has (waiting for something); false once the
    /// peer closed. Cancel-safe: nothing read is lost if the future is
    /// dropped.
    ///
    /// # Errors
    /// The socket's.
    pub async fn fill(&mut self) -> io::Result<bool> {
        Ok(self.io.read_buf(&mut self.buf).await? > 0)
    }

    /// As [`FrameReader::fill`] while fewer than `bound` bytes wait to be
    /// framed; past it, never ready (the peer's next bytes stay in the
    /// socket: a client that sends while it is blocked cannot grow the
    /// buffer without bound).
    ///
    /// # Errors
    /// The socket's.
    pub async fn fill_below(&mut self, bound: usize) -> io::Result<bool> {
        if self.buf.len() >= bound {
            std::future::pending::<()>().await;
        }
        self.fill().await
    }

    /// Read what the socket has now without waiting: `Some(false)` once
    /// the peer closed, `None` when a read would wait.
    ///
    /// # Errors
    /// The socket's.
    pub fn try_fill(&mut self, reserve: usize) -> io::Result<Option<bool>> {
        self.buf.reserve(reserve);
        let tls = match &mut self.io {
            ReadSide::Tcp(r) => {
                return match r.try_read_buf(&mut self.buf) {
                    Ok(n) => Ok(Some(n > 0)),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
                    Err(e) => Err(e),
                }
            }
            ReadSide::Tls(r) => r,
        };
        // TLS: one poll, without waiting (what is decrypted and ready).
        let mut cx = Context::from_waker(std::task::Waker::noop());
        match tokio_util::io::poll_read_buf(Pin::new(tls), &mut cx, &mut self.buf) {
            Poll::Ready(Ok(n)) => Ok(Some(n > 0)),
            Poll::Ready(Err(e)) => Err(e),
            Poll::Pending => Ok(None),
        }
    }

    /// The next frame, reading until one is whole.
    ///
    /// # Errors
    /// [`ReadError::Closed`] at the end of the stream (a frame cut short
    /// included), [`ReadError::Io`], [`ReadError::Decode`].
    pub async fn next<D: Decoder>(&mut self, d: &mut D) -> Result<D::Item, ReadError<D::Error>> {
        loop {
            if let Some(item) = self.frame(d).map_err(ReadError::Decode)? {
                return Ok(item);
            }
            if !self.fill().await.map_err(ReadError::Io)? {
                return Err(ReadError::Closed);
            }
        }
    }

    /// True when bytes wait to be framed.
    pub fn has_buffered(&self) -> bool {
        !self.buf.is_empty()
    }

    /// How many bytes wait to be framed (what a decoder took of them is
    /// what a stream's offset counts).
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }
}

/// The writing half: the socket and the bytes to send.
#[derive(Debug)]
pub struct FrameWriter {
    io: WriteSide,
    out: BytesMut,
}

impl FrameWriter {
    /// The output: what is put here goes out at the next flush.
    pub fn out(&mut self) -> &mut BytesMut {
        &mut self.out
    }

    /// Send the output, then empty it. Dropped before it ends, some of it
    /// may have gone out: the connection is then to be closed.
    ///
    /// # Errors
    /// The socket's.
    pub async fn flush(&mut self) -> io::Result<()> {
        if !self.out.is_empty() {
            self.io.write_all(&self.out).await?;
            self.out.clear();
        }
        Ok(())
    }

    /// [`FrameWriter::flush`], telling `left` how many bytes are still to
    /// go after each write the socket takes (what the client holds back).
    ///
    /// # Errors
    /// The socket's.
    pub async fn flush_reporting(&mut self, left: impl Fn(usize)) -> io::Result<()> {
        let mut done = 0;
        while done < self.out.len() {
            let n = self.io.write(&self.out[done..]).await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            done += n;
            left(self.out.len() - done);
        }
        self.io.flush().await?;
        self.out.clear();
        Ok(())
    }

    /// Bytes in the output, not sent yet.
    pub fn pending(&self) -> usize {
        self.out.len()
    }

    /// [`FrameWriter::flush`] within `timeout`.
    ///
    /// # Errors
    /// The socket's, and [`io::ErrorKind::TimedOut`] when the peer does
    /// not take it in time (it is not reading).
    pub async fn flush_within(&mut self, timeout: Duration) -> io::Result<()> {
        match tokio::time::timeout(timeout, self.flush()).await {
            Ok(r) => r,
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("not taken within {} s", timeout.as_secs()),
            )),
        }
    }

    /// Send `bytes` (past the output, which must be empty: a chunk made
    /// elsewhere) within `timeout`.
    ///
    /// # Errors
    /// As [`FrameWriter::flush_within`].
    pub async fn send_within(&mut self, bytes: &[u8], timeout: Duration) -> io::Result<()> {
        debug_assert!(self.out.is_empty(), "output left behind a chunk");
        match tokio::time::timeout(timeout, self.io.write_all(bytes)).await {
            Ok(r) => r,
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("not taken within {} s", timeout.as_secs()),
            )),
        }
    }
}

/// A TCP (or TLS) stream with its buffers: see the module's
/// documentation.
#[derive(Debug)]
pub struct Connection {
    /// Its reading half.
    pub reader: FrameReader,
    /// Its writing half.
    pub writer: FrameWriter,
}

impl Connection {
    /// A connection on `stream`, with nothing read yet.
    pub fn new(stream: TcpStream) -> Self {
        Self::with_read(stream, BytesMut::with_capacity(READ_CAPACITY))
    }

    /// A connection on `stream` whose first bytes were read already
    /// (`read`: a connection handed over, with what it had not framed).
    pub fn with_read(stream: TcpStream, read: BytesMut) -> Self {
        let (rd, wr) = stream.into_split();
        Self::of(ReadSide::Tcp(rd), WriteSide::Tcp(wr), read)
    }

    /// A connection on a TLS stream (its handshake done).
    pub fn tls(stream: TlsStream<TcpStream>) -> Self {
        let (rd, wr) = tokio::io::split(stream);
        Self::of(
            ReadSide::Tls(rd),
            WriteSide::Tls(wr),
            BytesMut::with_capacity(READ_CAPACITY),
        )
    }

    fn of(rd: ReadSide, wr: WriteSide, read: BytesMut) -> Self {
        Self {
            reader: FrameReader { io: rd, buf: read },
            writer: FrameWriter {
                io: wr,
                out: BytesMut::with_capacity(READ_CAPACITY),
            },
        }
    }

    /// Its two parts, for a task that reads and writes at once.
    pub fn split(self) -> (FrameReader, FrameWriter) {
        (self.reader, self.writer)
    }

    /// The next frame (see [`FrameReader::next`]).
    ///
    /// # Errors
    /// As [`FrameReader::next`].
    pub async fn next<D: Decoder>(&mut self, d: &mut D) -> Result<D::Item, ReadError<D::Error>> {
        self.reader.next(d).await
    }

    /// The output (see [`FrameWriter::out`]).
    pub fn out(&mut self) -> &mut BytesMut {
        self.writer.out()
    }

    /// Send the output (see [`FrameWriter::flush`]).
    ///
    /// # Errors
    /// The socket's.
    pub async fn flush(&mut self) -> io::Result<()> {
        self.writer.flush().await
    }

    /// Send `reply` as the connection's last words (a refusal, a protocol
    /// error), within [`LAST_WORDS`]: a peer that does not read is not
    /// waited on, and a failure is moot, since the connection closes next.
    pub async fn last_words(&mut self, reply: &Reply) {
        reply.encode(self.out());
        let _ = self.writer.flush_within(LAST_WORDS).await;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use rocksync_protocol::{RequestDecoder, RespLimits};
    use tokio::io::AsyncWriteExt;
    use tokio::net::{TcpListener, TcpStream};

    use super::{Connection, ReadError};

    /// A connection accepted on loopback, and its peer's stream.
    async fn pair() -> (Connection, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (peer, accepted) = tokio::join!(TcpStream::connect(addr), listener.accept());
        let (stream, _) = accepted.expect("accept");
        (Connection::new(stream), peer.expect("connect"))
    }

    #[tokio::test]
    async fn frames_arrive_whole_across_reads_and_a_cut_one_is_a_close() {
        let (mut conn, mut peer) = pair().await;
        let mut d = RequestDecoder::new(RespLimits::default());
        peer.write_all(b"*2\r\n$3\r\nGET\r\n$1")
            .await
            .expect("send");
        let reading = tokio::spawn(async move {
            let first = conn.next(&mut d).await.map_err(|e| e.to_string());
            let second = conn.next(&mut d).await;
            (first, matches!(second, Err(ReadError::Closed)))
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        peer.write_all(b"\r\nk\r\n*1\r\n$4\r\nPI")
            .await
            .expect("send");
        drop(peer);
        let (first, closed) = tokio::time::timeout(Duration::from_secs(5), reading)
            .await
            .expect("ends")
            .expect("task");
        assert_eq!(first.expect("a frame"), ["GET", "k"]);
        assert!(closed, "a frame cut by the close is no frame");
    }

    #[tokio::test]
    async fn past_its_bound_a_reader_leaves_the_peers_bytes_in_the_socket() {
        let (mut conn, mut peer) = pair().await;
        peer.write_all(&[b'x'; 4096]).await.expect("send");
        assert!(conn.reader.fill_below(1024).await.expect("read"));
        assert!(conn.reader.has_buffered());
        peer.write_all(&[b'y'; 4096]).await.expect("send");
        // Past the bound: no read, however much waits.
        let bounded =
            tokio::time::timeout(Duration::from_millis(200), conn.reader.fill_below(1024)).await;
        assert!(bounded.is_err(), "read past its bound");
        // The harness is real: an unbounded read takes the waiting bytes.
        let free = tokio::time::timeout(Duration::from_secs(5), conn.reader.fill()).await;
        assert!(free.expect("bytes were waiting").expect("read"));
    }

    #[tokio::test]
    async fn a_peer_that_never_reads_fails_a_bounded_flush() {
        let (mut conn, _peer) = pair().await;
        conn.out().extend_from_slice(&vec![b'z'; 64 << 20]);
        // Unbounded, the write waits on the peer (kept short here).
        let unbounded = tokio::time::timeout(Duration::from_millis(300), conn.flush()).await;
        assert!(unbounded.is_err(), "64 MiB fit in the socket buffers");
        let (_, mut wr) = conn.split();
        wr.out().extend_from_slice(&vec![b'z'; 64 << 20]);
        let err = wr
            .flush_within(Duration::from_millis(300))
            .await
            .expect_err("the peer reads nothing");
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    }
}
