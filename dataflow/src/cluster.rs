//! Cluster set-up: how the timely workers are laid out ([`ClusterConfig`], timely's `-w`, `-n`,
//! `-p` and a hostfile) and this process's allocators, with the cluster's sockets connected by
//! the engine itself.

use crate::error::EngineError;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

type Result<T> = std::result::Result<T, EngineError>;

/// How the timely workers are laid out.
#[derive(Debug, Clone, Default)]
pub struct ClusterConfig {
    /// Worker threads per process.
    pub workers: usize,
    /// Processes in the cluster (1: no networking).
    pub processes: usize,
    /// This process's index.
    pub process: usize,
    /// `host:port` per process (from `-H hostfile`); default `localhost:2101+i`.
    pub addresses: Vec<String>,
}

impl ClusterConfig {
    /// The timely configuration.
    pub(crate) fn timely(&self) -> timely::Config {
        let w = self.workers.max(1);
        let communication = if self.processes > 1 {
            let addresses = if self.addresses.is_empty() {
                (0..self.processes)
                    .map(|i| format!("localhost:{}", 2101 + i))
                    .collect()
            } else {
                self.addresses.clone()
            };
            timely::CommunicationConfig::Cluster {
                threads: w,
                process: self.process,
                addresses,
                report: false,
                zerocopy: false,
            }
        } else if w > 1 {
            timely::CommunicationConfig::Process(w)
        } else {
            timely::CommunicationConfig::Thread
        };
        timely::Config {
            communication,
            worker: timely::WorkerConfig::default(),
        }
    }
}

/// This process's timely allocators. A cluster connects its sockets itself
/// ([`cluster_sockets`]): timely's own setup sleeps a whole second whenever a peer is not
/// listening or has not connected yet, which cost almost every cluster run a second at start,
/// and cannot be interrupted; this wait ends when `stop` is set (SIGINT/SIGTERM).
pub(crate) fn allocators(
    cluster: &ClusterConfig,
    stop: &AtomicBool,
) -> Result<(
    Vec<timely::communication::AllocatorBuilder>,
    Box<dyn std::any::Any + Send>,
)> {
    use timely::communication::allocator::ProcessBuilder;
    use timely::communication::allocator::zero_copy::initialize::initialize_networking_from_sockets;
    use timely::communication::{AllocatorBuilder, Hooks};
    let (threads, process, addresses) = match cluster.timely().communication {
        timely::CommunicationConfig::Cluster {
            threads,
            process,
            addresses,
            ..
        } => (threads, process, addresses),
        local => {
            return local
                .try_build()
                .map_err(|e| EngineError::Timely(format!("starting timely: {e}")));
        }
    };
    let sockets = cluster_sockets(&addresses, process, stop)?;
    let hooks = Hooks::default();
    let procs =
        ProcessBuilder::new_typed_vector(threads, hooks.refill.clone(), hooks.spill.clone());
    let (builders, guard) =
        initialize_networking_from_sockets(procs, sockets, process, threads, hooks).map_err(
            EngineError::network("starting the cluster's network threads"),
        )?;
    Ok((
        builders.into_iter().map(AllocatorBuilder::Tcp).collect(),
        Box::new(guard),
    ))
}

/// How often a process waiting for its peers retries a connection and checks the stop flag.
const PAUSE: Duration = Duration::from_millis(10);
/// Longest a single connection attempt may block (an unreachable host).
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// Longest an accepted peer may take to send its index.
const GREETING_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a waiting process says what it waits for.
const SAY_EVERY: Duration = Duration::from_secs(5);

/// Connects process `me` to every other process of `addresses` (one `host:port` each): listens
/// on its own address, connects to every lower index (retrying every [`PAUSE`] while that
/// process is not up yet) and accepts every higher one; each connection starts with the
/// connecting process's index. Returns one socket per process (`None` for itself), as timely
/// expects. Waiting never blocks for longer than [`PAUSE`] (or one [`CONNECT_TIMEOUT`]) without
/// checking `stop`: a SIGINT/SIGTERM while a peer is not up ends the wait with
/// [`EngineError::StoppedConnecting`] (issue 16; timely's own set-up could not be interrupted).
fn cluster_sockets(
    addresses: &[String],
    me: usize,
    stop: &AtomicBool,
) -> Result<Vec<Option<TcpStream>>> {
    let listener = TcpListener::bind(addresses[me].trim()).map_err(EngineError::network(
        format!("process {me}: listening on {}", addresses[me]),
    ))?;
    let mut sockets: Vec<Option<TcpStream>> = (0..addresses.len()).map(|_| None).collect();
    for (j, addr) in addresses.iter().enumerate().take(me) {
        let mut s = connect_to(me, j, addr, stop)?;
        s.set_nodelay(true)
            .and_then(|()| s.write_all(&(me as u64).to_le_bytes()))
            .map_err(EngineError::network(format!(
                "process {me}: greeting process {j}"
            )))?;
        sockets[j] = Some(s);
    }
    accept_peers(&listener, addresses, me, stop, &mut sockets)?;
    Ok(sockets)
}

/// Connects to process `j` at `addr`, retrying while it is not up, until `stop`.
fn connect_to(me: usize, j: usize, addr: &str, stop: &AtomicBool) -> Result<TcpStream> {
    let mut said = Instant::now();
    loop {
        let e = match connect_once(addr.trim()) {
            Ok(s) => return Ok(s),
            Err(e) => e,
        };
        if stop.load(Ordering::Relaxed) {
            return Err(EngineError::StoppedConnecting {
                me,
                waiting: format!("process {j} at {}", addr.trim()),
            });
        }
        if said.elapsed() >= SAY_EVERY {
            tracing::info!("process {me}: waiting for process {j} at {addr}: {e}");
            said = Instant::now();
        }
        std::thread::sleep(PAUSE);
    }
}

/// One attempt at every address `addr` resolves to, in turn (as `TcpStream::connect` does), each
/// bounded by [`CONNECT_TIMEOUT`].
fn connect_once(addr: &str) -> std::io::Result<TcpStream> {
    let mut last = std::io::Error::from(ErrorKind::NotFound);
    for a in addr.to_socket_addrs()? {
        match TcpStream::connect_timeout(&a, CONNECT_TIMEOUT) {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Accepts every process after `me` (each sends its index first), polling the listener so that
/// `stop` is seen while a peer is not up.
fn accept_peers(
    listener: &TcpListener,
    addresses: &[String],
    me: usize,
    stop: &AtomicBool,
    sockets: &mut [Option<TcpStream>],
) -> Result<()> {
    listener
        .set_nonblocking(true)
        .map_err(EngineError::network(format!(
            "process {me}: polling the listener"
        )))?;
    let mut said = Instant::now();
    while sockets[me + 1..].iter().any(Option::is_none) {
        match listener.accept() {
            Ok((mut s, _)) => {
                let j = greeting(&mut s, me, stop)?;
                if j <= me || j >= addresses.len() || sockets[j].is_some() {
                    return Err(EngineError::Peer { me, claimed: j });
                }
                sockets[j] = Some(s);
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                if stop.load(Ordering::Relaxed) {
                    return Err(EngineError::StoppedConnecting {
                        me,
                        waiting: missing(addresses, me, sockets),
                    });
                }
                if said.elapsed() >= SAY_EVERY {
                    let waiting = missing(addresses, me, sockets);
                    tracing::info!("process {me}: waiting for {waiting}");
                    said = Instant::now();
                }
                std::thread::sleep(PAUSE);
            }
            Err(e) => {
                return Err(EngineError::network(format!(
                    "process {me}: accepting a peer"
                ))(e));
            }
        }
    }
    Ok(())
}

/// Reads the index an accepted peer sends first, within [`GREETING_TIMEOUT`] and checking `stop`
/// every [`PAUSE`] (a stray connection that sends nothing must not hold up a stop); leaves the
/// socket blocking, without timeout.
fn greeting(s: &mut TcpStream, me: usize, stop: &AtomicBool) -> Result<usize> {
    let fail = |source| EngineError::Network {
        what: format!("process {me}: reading a peer's index"),
        source,
    };
    let mut idx = [0u8; 8];
    let mut got = 0;
    let t0 = Instant::now();
    let setup = s
        .set_nonblocking(false)
        .and_then(|()| s.set_nodelay(true))
        .and_then(|()| s.set_read_timeout(Some(PAUSE)));
    if let Err(e) = setup {
        return Err(fail(e));
    }
    while got < idx.len() {
        match s.read(&mut idx[got..]) {
            Ok(0) => return Err(fail(std::io::ErrorKind::UnexpectedEof.into())),
            Ok(n) => got += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if stop.load(Ordering::Relaxed) || t0.elapsed() >= GREETING_TIMEOUT {
                    return Err(fail(e));
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(fail(e)),
        }
    }
    s.set_read_timeout(None).map_err(fail)?;
    Ok(u64::from_le_bytes(idx) as usize)
}

/// The processes after `me` not connected yet, with their addresses.
fn missing(addresses: &[String], me: usize, sockets: &[Option<TcpStream>]) -> String {
    let list: Vec<String> = (me + 1..addresses.len())
        .filter(|&j| sockets[j].is_none())
        .map(|j| format!("process {j} at {}", addresses[j].trim()))
        .collect();
    list.join(", ")
}
