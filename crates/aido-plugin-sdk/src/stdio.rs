//! The process's stdin and stdout, taken over for the protocol, and the two
//! tasks that move lines through them.
//!
//! A stray `println!` in a plugin (or in a library it uses, or in a child
//! process it starts) would corrupt the conversation with the host. So, when
//! serving starts, the protocol gets private duplicates of descriptors 0 and
//! 1; descriptor 1 is then pointed at stderr and descriptor 0 at
//! `/dev/null`. Whatever else writes to "stdout" lands in the plugin's log.
//!
//! Why the I/O looks the way it does: a call's cost is almost all thread
//! wake-ups, not work. So the pipes are made non-blocking and driven by the
//! async runtime's own reactor: a line from the host wakes the runtime
//! once, and the answer is written from the runtime too, with no thread in
//! between. The writer is one task that writes every line ready in one
//! `write(2)`, so 64 answers in flight cost a few system calls, not 64.
//! When a stream cannot be polled (stdin redirected from a regular file,
//! say), a plain thread reads it, or writes block briefly, as files do.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::thread;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::sync::oneshot;

/// The longest line read from the host (the manifest's default
/// `max_message_bytes`); a longer one ends the session as a broken peer.
pub(crate) const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// The protocol's two streams, once taken from the process.
pub(crate) struct Streams {
    /// Where the host's lines come from.
    pub input: Stream,
    /// Where the plugin's lines go.
    pub output: Stream,
}

/// One protocol stream: a descriptor of its own on Unix, the standard
/// stream elsewhere.
pub(crate) enum Stream {
    /// A duplicated descriptor, owned.
    #[cfg(unix)]
    Fd(std::os::fd::OwnedFd),
    /// The process's standard input.
    #[cfg(not(unix))]
    Stdin,
    /// The process's standard output.
    #[cfg(not(unix))]
    Stdout,
}

/// Takes descriptors 0 and 1 for the protocol and protects them from the
/// rest of the process (see the module's documentation).
#[cfg(unix)]
pub(crate) fn take_over() -> io::Result<Streams> {
    use std::os::fd::FromRawFd;

    io::stdout().flush()?;
    // SAFETY: plain descriptor calls on descriptors this process owns; each
    // result is checked before use, and each new descriptor is owned by
    // exactly one `OwnedFd`.
    unsafe {
        let read_fd = libc::fcntl(0, libc::F_DUPFD_CLOEXEC, 3);
        if read_fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let input = std::os::fd::OwnedFd::from_raw_fd(read_fd);
        let write_fd = libc::fcntl(1, libc::F_DUPFD_CLOEXEC, 3);
        if write_fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let output = std::os::fd::OwnedFd::from_raw_fd(write_fd);
        let devnull = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
        if devnull >= 0 {
            libc::dup2(devnull, 0);
            libc::close(devnull);
        }
        if libc::dup2(2, 1) < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Streams {
            input: Stream::Fd(input),
            output: Stream::Fd(output),
        })
    }
}

/// Elsewhere the streams are used as they are, unprotected.
#[cfg(not(unix))]
pub(crate) fn take_over() -> io::Result<Streams> {
    Ok(Streams {
        input: Stream::Stdin,
        output: Stream::Stdout,
    })
}

#[cfg(unix)]
mod nonblocking {
    //! A pipe driven by the runtime's reactor.

    use std::io;
    use std::os::fd::{AsRawFd, OwnedFd};

    use tokio::io::unix::AsyncFd;

    /// A non-blocking descriptor registered with the reactor.
    pub struct Pipe(AsyncFd<OwnedFd>);

    impl Pipe {
        /// Registers `fd`, made non-blocking, when it is a pipe or a socket;
        /// gives it back otherwise so the caller can fall back. A terminal
        /// (a plugin started by hand) is left alone: its non-blocking flag
        /// would be shared with the shell that started it.
        pub fn new(fd: OwnedFd) -> Result<Pipe, OwnedFd> {
            if !is_pipe_or_socket(&fd) {
                return Err(fd);
            }
            // SAFETY: fcntl on a descriptor we own; results are checked.
            let flagged = unsafe {
                let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
                flags >= 0
                    && libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) >= 0
            };
            if !flagged {
                return Err(fd);
            }
            // SAFETY: the `OwnedFd` is moved into the `AsyncFd`, so the
            // descriptor stays open and the same until the `AsyncFd` drops.
            match unsafe { AsyncFd::register(fd) } {
                Ok(fd) => Ok(Pipe(fd)),
                Err(err) => Err(unregistered(err.into_parts().0)),
            }
        }

        /// Reads what is there, waiting until something is.
        pub async fn read(&self, buffer: &mut [u8]) -> io::Result<usize> {
            loop {
                let mut ready = self.0.readable().await?;
                // SAFETY: read(2) into a buffer of the given length.
                let result = ready.try_io(|fd| {
                    let n = unsafe {
                        libc::read(fd.as_raw_fd(), buffer.as_mut_ptr().cast(), buffer.len())
                    };
                    usize::try_from(n).map_err(|_| io::Error::last_os_error())
                });
                match result {
                    Ok(Err(err)) if err.kind() == io::ErrorKind::Interrupted => continue,
                    Ok(done) => return done,
                    Err(_would_block) => continue,
                }
            }
        }

        /// Reads what is there now: `None` when nothing is.
        pub fn try_read(&self, buffer: &mut [u8]) -> io::Result<Option<usize>> {
            loop {
                // SAFETY: read(2) into a buffer of the given length.
                let n = unsafe {
                    libc::read(
                        self.0.get_ref().as_raw_fd(),
                        buffer.as_mut_ptr().cast(),
                        buffer.len(),
                    )
                };
                match usize::try_from(n) {
                    Ok(n) => return Ok(Some(n)),
                    Err(_) => {
                        let err = io::Error::last_os_error();
                        match err.kind() {
                            io::ErrorKind::Interrupted => continue,
                            io::ErrorKind::WouldBlock => return Ok(None),
                            _ => return Err(err),
                        }
                    }
                }
            }
        }

        /// Writes all of `bytes`, waiting while the pipe is full.
        pub async fn write_all(&self, mut bytes: &[u8]) -> io::Result<()> {
            while !bytes.is_empty() {
                let mut ready = self.0.writable().await?;
                // SAFETY: write(2) from a buffer of the given length.
                let result = ready.try_io(|fd| {
                    let n =
                        unsafe { libc::write(fd.as_raw_fd(), bytes.as_ptr().cast(), bytes.len()) };
                    usize::try_from(n).map_err(|_| io::Error::last_os_error())
                });
                match result {
                    Ok(Ok(written)) => bytes = &bytes[written..],
                    Ok(Err(err)) if err.kind() == io::ErrorKind::Interrupted => {}
                    Ok(Err(err)) => return Err(err),
                    Err(_would_block) => {}
                }
            }
            Ok(())
        }
    }

    fn is_pipe_or_socket(fd: &OwnedFd) -> bool {
        // SAFETY: fstat writes only into the struct it is given.
        unsafe {
            let mut stat = std::mem::zeroed::<libc::stat>();
            if libc::fstat(fd.as_raw_fd(), &mut stat) != 0 {
                return false;
            }
            let kind = stat.st_mode & libc::S_IFMT;
            kind == libc::S_IFIFO || kind == libc::S_IFSOCK
        }
    }

    /// `fd` back in blocking mode, for the fallback paths.
    fn unregistered(fd: OwnedFd) -> OwnedFd {
        // SAFETY: fcntl on a descriptor we own.
        unsafe {
            let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
            if flags >= 0 {
                libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags & !libc::O_NONBLOCK);
            }
        }
        fd
    }
}

/// Starts reading lines from `input` into `lines` (on the runtime when the
/// stream can be polled, else on a thread); the channel closes at end of
/// file, on a read error and after a line longer than [`MAX_LINE_BYTES`].
pub(crate) fn spawn_reader(input: Stream, lines: UnboundedSender<String>) {
    #[cfg(unix)]
    let input = match input {
        Stream::Fd(fd) => match nonblocking::Pipe::new(fd) {
            Ok(pipe) => {
                tokio::spawn(async move { read_pipe(pipe, &lines).await });
                return;
            }
            Err(fd) => Box::new(std::fs::File::from(fd)) as Box<dyn Read + Send>,
        },
    };
    #[cfg(not(unix))]
    let input: Box<dyn Read + Send> = Box::new(io::stdin());
    let spawned = thread::Builder::new()
        .name("aido-plugin-stdin".to_owned())
        .spawn(move || read_blocking(input, &lines));
    if let Err(err) = spawned {
        eprintln!("aido-plugin-sdk: cannot start the stdin reader: {err}");
    }
}

/// Splits what is read into lines: the state between reads.
struct LineSplitter {
    partial: Vec<u8>,
}

impl LineSplitter {
    fn new() -> Self {
        LineSplitter {
            partial: Vec::new(),
        }
    }

    /// Hands every complete line in `chunk` to `lines`; false when the
    /// channel is closed or a line is too long.
    fn feed(&mut self, mut chunk: &[u8], lines: &UnboundedSender<String>) -> bool {
        while let Some(end) = chunk.iter().position(|b| *b == b'\n') {
            let line = if self.partial.is_empty() {
                to_line(chunk[..end].to_vec())
            } else {
                self.partial.extend_from_slice(&chunk[..end]);
                to_line(std::mem::take(&mut self.partial))
            };
            if lines.send(line).is_err() {
                return false;
            }
            chunk = &chunk[end + 1..];
        }
        self.partial.extend_from_slice(chunk);
        if self.partial.len() > MAX_LINE_BYTES {
            eprintln!(
                "aido-plugin-sdk: a line from the host is longer than {MAX_LINE_BYTES} bytes; stopping"
            );
            return false;
        }
        true
    }

    /// The last line, when the input ended without a newline.
    fn finish(self, lines: &UnboundedSender<String>) {
        if !self.partial.is_empty() {
            let _ = lines.send(to_line(self.partial));
        }
    }
}

/// A line without its `\r`, as text (invalid UTF-8 replaced, so that the
/// session answers a parse error rather than dropping it).
fn to_line(mut bytes: Vec<u8>) -> String {
    if bytes.last() == Some(&b'\r') {
        bytes.pop();
    }
    match String::from_utf8(bytes) {
        Ok(line) => line,
        Err(err) => String::from_utf8_lossy(err.as_bytes()).into_owned(),
    }
}

/// How long the reader keeps looking at stdin after a line arrived before
/// it lets the runtime sleep. A host that calls again soon after an answer
/// (the next step of a workflow, a batch of calls) then finds the plugin
/// awake, instead of paying for its wake-up, which costs tens of
/// microseconds on a virtual machine: about a third of a call. The reader
/// yields to the plugin's other tasks between looks, and an idle plugin
/// still sleeps, so the price is at most this much CPU time per call.
#[cfg(unix)]
const STAY_AWAKE: std::time::Duration = std::time::Duration::from_micros(150);

#[cfg(unix)]
async fn read_pipe(pipe: nonblocking::Pipe, lines: &UnboundedSender<String>) {
    let mut buffer = vec![0u8; 64 * 1024];
    let mut splitter = LineSplitter::new();
    let mut awake_until: Option<std::time::Instant> = None;
    loop {
        let read = match awake_until {
            Some(until) if std::time::Instant::now() < until => match pipe.try_read(&mut buffer) {
                Ok(Some(n)) => Ok(n),
                Ok(None) => {
                    tokio::task::yield_now().await;
                    continue;
                }
                Err(err) => Err(err),
            },
            _ => pipe.read(&mut buffer).await,
        };
        awake_until = Some(std::time::Instant::now() + STAY_AWAKE);
        match read {
            Ok(0) => break,
            Ok(n) => {
                if !splitter.feed(&buffer[..n], lines) {
                    return;
                }
            }
            Err(err) => {
                eprintln!("aido-plugin-sdk: reading stdin failed: {err}");
                return;
            }
        }
    }
    splitter.finish(lines);
}

fn read_blocking(input: Box<dyn Read + Send>, lines: &UnboundedSender<String>) {
    let mut reader = BufReader::with_capacity(64 * 1024, input);
    let mut splitter = LineSplitter::new();
    loop {
        let chunk = match reader.fill_buf() {
            Ok([]) => break,
            Ok(chunk) => chunk,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => {
                eprintln!("aido-plugin-sdk: reading stdin failed: {err}");
                return;
            }
        };
        let length = chunk.len();
        if !splitter.feed(chunk, lines) {
            return;
        }
        reader.consume(length);
    }
    splitter.finish(lines);
}

/// What the writer task is asked to do.
enum WriterCommand {
    /// Write one line (JSON and its newline).
    Line(Vec<u8>),
    /// Say when everything before has been written.
    Flush(oneshot::Sender<()>),
}

/// Where the plugin's messages go: a handle on the writer task. Cheap to
/// clone; sending never blocks.
#[derive(Clone)]
pub(crate) struct Outgoing {
    sender: UnboundedSender<WriterCommand>,
}

impl Outgoing {
    /// Queues one line, which must end with `\n`.
    pub fn send(&self, line: Vec<u8>) {
        // The writer only stops when the session ends, so a failed send
        // means there is nobody left to tell.
        let _ = self.sender.send(WriterCommand::Line(line));
    }

    /// Waits until everything queued so far has been written (before the
    /// process exits).
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.sender.send(WriterCommand::Flush(done)).is_ok() {
            let _ = wait.await;
        }
    }

    /// A handle whose lines are collected in memory, for tests.
    #[cfg(test)]
    pub fn in_memory() -> (Outgoing, std::sync::mpsc::Receiver<Vec<u8>>) {
        let (sender, mut receiver) = unbounded_channel();
        let (lines, collected) = std::sync::mpsc::channel();
        tokio::spawn(async move {
            while let Some(command) = receiver.recv().await {
                match command {
                    WriterCommand::Line(line) => {
                        let _ = lines.send(line);
                    }
                    WriterCommand::Flush(done) => {
                        let _ = done.send(());
                    }
                }
            }
        });
        (Outgoing { sender }, collected)
    }
}

/// Where the writer task writes.
enum Sink {
    #[cfg(unix)]
    Pipe(nonblocking::Pipe),
    /// A stream that cannot be polled: writes block, as files do (briefly).
    Blocking(Box<dyn Write + Send>),
}

impl Sink {
    async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            #[cfg(unix)]
            Sink::Pipe(pipe) => pipe.write_all(bytes).await,
            Sink::Blocking(out) => out.write_all(bytes).and_then(|()| out.flush()),
        }
    }
}

/// Starts the writer task over `output`, on the current runtime.
pub(crate) fn spawn_writer(output: Stream) -> Outgoing {
    let sink = match output {
        #[cfg(unix)]
        Stream::Fd(fd) => match nonblocking::Pipe::new(fd) {
            Ok(pipe) => Sink::Pipe(pipe),
            Err(fd) => Sink::Blocking(Box::new(std::fs::File::from(fd))),
        },
        #[cfg(not(unix))]
        _ => Sink::Blocking(Box::new(io::stdout())),
    };
    let (sender, receiver) = unbounded_channel();
    tokio::spawn(write_lines(sink, receiver));
    Outgoing { sender }
}

async fn write_lines(mut sink: Sink, mut receiver: UnboundedReceiver<WriterCommand>) {
    let mut batch = Vec::with_capacity(64 * 1024);
    let mut broken = false;
    let mut flushed = Vec::new();
    while let Some(first) = receiver.recv().await {
        let mut next = Some(first);
        // Everything ready now goes out in one write.
        while let Some(command) = next {
            match command {
                WriterCommand::Line(line) if !broken => batch.extend_from_slice(&line),
                WriterCommand::Line(_) => {}
                WriterCommand::Flush(done) => flushed.push(done),
            }
            next = receiver.try_recv().ok();
        }
        if !batch.is_empty() {
            if let Err(err) = sink.write_all(&batch).await {
                // The host stopped reading; the end of stdin follows.
                eprintln!("aido-plugin-sdk: the host stopped reading ({err}); dropping output");
                broken = true;
            }
            batch.clear();
            if batch.capacity() > 1024 * 1024 {
                batch = Vec::with_capacity(64 * 1024);
            }
        }
        for done in flushed.drain(..) {
            let _ = done.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(receiver: &mut UnboundedReceiver<String>) -> Vec<String> {
        let mut lines = Vec::new();
        while let Ok(line) = receiver.try_recv() {
            lines.push(line);
        }
        lines
    }

    #[test]
    fn lines_are_split_across_reads_trimmed_and_end_at_eof() {
        let (sender, mut receiver) = unbounded_channel();
        let mut splitter = LineSplitter::new();
        assert!(splitter.feed(b"a\r\n\nb", &sender));
        assert!(splitter.feed(b"c\nla", &sender));
        assert!(splitter.feed(b"st", &sender));
        splitter.finish(&sender);
        assert_eq!(collect(&mut receiver), ["a", "", "bc", "last"]);
    }

    #[test]
    fn the_blocking_reader_reads_every_line() {
        let (sender, mut receiver) = unbounded_channel();
        let input: Box<dyn Read + Send> = Box::new(io::Cursor::new(b"x\ny\n".to_vec()));
        read_blocking(input, &sender);
        assert_eq!(collect(&mut receiver), ["x", "y"]);
    }

    #[tokio::test]
    async fn the_writer_writes_every_line_before_a_flush_returns() {
        #[derive(Clone, Default)]
        struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl Write for Shared {
            fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let shared = Shared::default();
        let (sender, receiver) = unbounded_channel();
        tokio::spawn(write_lines(
            Sink::Blocking(Box::new(shared.clone())),
            receiver,
        ));
        let out = Outgoing { sender };
        for n in 0..100 {
            out.send(format!("{n}\n").into_bytes());
        }
        out.flush().await;
        let text = String::from_utf8(shared.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 100);
        assert!(text.ends_with("99\n"));
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_pipe_carries_lines_both_ways() {
        use std::os::fd::FromRawFd;
        let mut fds = [0; 2];
        // SAFETY: pipe(2) fills the two descriptors, owned just below.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        let (read_end, write_end) = unsafe {
            (
                std::os::fd::OwnedFd::from_raw_fd(fds[0]),
                std::os::fd::OwnedFd::from_raw_fd(fds[1]),
            )
        };
        let out = spawn_writer(Stream::Fd(write_end));
        let (sender, mut receiver) = unbounded_channel();
        spawn_reader(Stream::Fd(read_end), sender);
        let big = "x".repeat(200_000);
        out.send(format!("{big}\nsecond\n").into_bytes());
        out.flush().await;
        assert_eq!(receiver.recv().await.unwrap().len(), 200_000);
        assert_eq!(receiver.recv().await.unwrap(), "second");
    }
}
