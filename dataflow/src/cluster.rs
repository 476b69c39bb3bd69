//! Cluster set-up: how the timely workers are laid out ([`ClusterConfig`], timely's `-w`, `-n`,
//! `-p` and a hostfile) and this process's allocators, with the cluster's sockets connected by
//! the engine itself.

use crate::error::EngineError;

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
/// listening or has not connected yet, which cost almost every cluster run a second at start.
pub(crate) fn allocators(
    cluster: &ClusterConfig,
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
    let sockets = cluster_sockets(&addresses, process)?;
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

/// Connects process `me` to every other process of `addresses` (one `host:port` each): listens
/// on its own address, connects to every lower index (retrying every 10 ms while that process
/// is not up yet) and accepts every higher one; each connection starts with the connecting
/// process's index. Returns one socket per process (`None` for itself), as timely expects.
fn cluster_sockets(addresses: &[String], me: usize) -> Result<Vec<Option<std::net::TcpStream>>> {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    let pause = std::time::Duration::from_millis(10);
    let listener = TcpListener::bind(addresses[me].trim()).map_err(EngineError::network(
        format!("process {me}: listening on {}", addresses[me]),
    ))?;
    let mut sockets: Vec<Option<TcpStream>> = (0..addresses.len()).map(|_| None).collect();
    for (j, addr) in addresses.iter().enumerate().take(me) {
        let mut waited = std::time::Instant::now();
        let mut s = loop {
            match TcpStream::connect(addr.trim()) {
                Ok(s) => break s,
                Err(e) => {
                    if waited.elapsed() >= std::time::Duration::from_secs(5) {
                        tracing::info!("process {me}: waiting for process {j} at {addr}: {e}");
                        waited = std::time::Instant::now();
                    }
                    std::thread::sleep(pause);
                }
            }
        };
        s.set_nodelay(true)
            .and_then(|()| s.write_all(&(me as u64).to_le_bytes()))
            .map_err(EngineError::network(format!(
                "process {me}: greeting process {j}"
            )))?;
        sockets[j] = Some(s);
    }
    let mut missing = addresses.len() - me - 1;
    while missing > 0 {
        let (mut s, _) = listener.accept().map_err(EngineError::network(format!(
            "process {me}: accepting a peer"
        )))?;
        let mut idx = [0u8; 8];
        s.set_nodelay(true)
            .and_then(|()| s.read_exact(&mut idx))
            .map_err(EngineError::network(format!(
                "process {me}: reading a peer's index"
            )))?;
        let j = u64::from_le_bytes(idx) as usize;
        if j <= me || j >= addresses.len() || sockets[j].is_some() {
            return Err(EngineError::Peer { me, claimed: j });
        }
        sockets[j] = Some(s);
        missing -= 1;
    }
    Ok(sockets)
}
